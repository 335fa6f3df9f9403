// The example SPA: signs in to latchkey from another origin with the hybrid
// endpoints (/v1/cookie/*) and calls an API with the anti-forgery header.
//
// - latchkey's base URL comes from `?api=`, default http://localhost:8080.
// - Every call sends `credentials: 'include'`: the browser attaches the
//   HttpOnly cookies (__Host-lk_at, __Secure-lk_rt) that this script can
//   never read.
// - The CSRF token from the login response is kept in this module's memory
//   only (not localStorage, not a cookie) and sent as X-CSRF-Token on every
//   unsafe request.

const params = new URLSearchParams(location.search);
const api = (params.get('api') || 'http://localhost:8080').replace(/\/+$/, '');

/** The login's anti-forgery token: in memory only. */
let csrfToken = null;

const $ = (id) => document.getElementById(id);

/** One call to latchkey, logged with its status. */
async function call(name, method, path, { body, csrf = false } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (csrf && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res;
  try {
    res = await fetch(api + path, {
      method,
      credentials: 'include',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    log(name, method, path, 'network', `refused by the browser (CORS?): ${e.message}`);
    return { status: 0, json: null };
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  const detail = res.ok ? '' : (json && (json.code || json.title)) || res.statusText;
  log(name, method, path, String(res.status), detail);
  return { status: res.status, json };
}

function log(name, method, path, status, detail) {
  const li = document.createElement('li');
  li.dataset.testid = 'log-entry';
  li.dataset.call = name;
  li.dataset.status = status;
  const ok = /^2/.test(status);
  li.className = ok ? 'ok' : 'bad';
  const code = document.createElement('code');
  code.textContent = `${method} ${path}`;
  const st = document.createElement('strong');
  st.textContent = status;
  li.append(code, ' → ', st);
  if (detail) li.append(` ${detail}`);
  $('log').prepend(li);
}

function showSignedIn(me) {
  $('login-card').hidden = true;
  $('app-card').hidden = false;
  $('user').textContent = me.user.username;
  $('auth').textContent = me.auth;
  $('avatar').textContent = me.user.username.slice(0, 1).toUpperCase();
}

function showSignedOut(message) {
  csrfToken = null;
  $('app-card').hidden = true;
  $('login-card').hidden = false;
  $('resume').hidden = !message;
  $('resume').textContent = message || '';
  $('user').textContent = '';
  $('auth').textContent = '';
}

async function whoAmI() {
  const { status, json } = await call('me', 'GET', '/v1/me');
  if (status === 200) showSignedIn(json);
  else showSignedOut();
  return status;
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const username = $('username').value;
  const password = $('password').value;
  const { status, json } = await call('login', 'POST', '/v1/cookie/login', {
    body: { username, password },
  });
  if (status !== 200) return;
  csrfToken = json.csrf_token;
  $('password').value = '';
  await whoAmI();
});

$('me').addEventListener('click', whoAmI);

$('refresh').addEventListener('click', async () => {
  const { status, json } = await call('refresh', 'POST', '/v1/cookie/refresh', { csrf: true });
  if (status === 200) csrfToken = json.csrf_token;
  else if (status === 401) showSignedOut();
});

$('logout').addEventListener('click', async () => {
  const { status } = await call('logout', 'POST', '/v1/cookie/logout', { csrf: true });
  if (status === 204 || status === 401) showSignedOut();
});

$('api').textContent = api;

// Already signed in from an earlier page load? The cookies survive a reload,
// the in-memory CSRF token does not: Refresh and Log out need a new login.
const { status, json } = await call('me', 'GET', '/v1/me');
if (status === 200) {
  showSignedOut(
    `Signed in as ${json.user.username} from an earlier visit. ` +
      'Sign in again to get a CSRF token for Refresh and Log out.',
  );
}
document.body.dataset.ready = 'true';
