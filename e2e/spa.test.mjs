// The hybrid (JWT in HttpOnly cookies + X-CSRF-Token) driven by the example
// SPA in examples/spa, served from another origin than latchkey, with
// credentialed CORS for that origin only.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  cookie,
  freePort,
  launchBrowser,
  newDevice,
  rawRequest,
  startLatchkey,
  startSpa,
} from './harness.mjs';

const PASSWORD = 'correct horse battery';
const AT = '__Host-lk_at';
const RT = '__Secure-lk_rt';

let lk;
/** The SPA on the CORS list. */
let spa;
/** The same SPA on an origin latchkey does not list. */
let stranger;
let browser;

before(async () => {
  const spaPort = await freePort();
  const spaOrigin = `http://localhost:${spaPort}`;
  lk = await startLatchkey({ LATCHKEY_CORS__ALLOWED_ORIGINS: spaOrigin });
  lk.addUser('alice', PASSWORD);
  spa = await startSpa({ port: spaPort, api: lk.url });
  assert.equal(spa.origin, spaOrigin);
  stranger = await startSpa({ api: lk.url });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await spa?.stop();
  await stranger?.stop();
  await lk?.stop();
});

/** Opens the SPA in a fresh browser; records CSP violations and page errors. */
async function openSpa(origin = spa.origin) {
  const context = await newDevice(browser);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) problems.push(m.text());
  });
  await page.goto(`${origin}/?api=${encodeURIComponent(lk.url)}`);
  await page.waitForSelector('body[data-ready]');
  return { context, page, problems };
}

/** Waits for the newest log entry of `call` and returns its status. */
async function lastStatus(page, call, count) {
  const entries = page.locator(`[data-testid=log-entry][data-call=${call}]`);
  await page.waitForFunction(
    ([c, n]) => document.querySelectorAll(`[data-testid=log-entry][data-call=${c}]`).length >= n,
    [call, count],
  );
  return entries.first().getAttribute('data-status');
}

async function signInSpa(page) {
  await page.fill('[data-testid=username]', 'alice');
  await page.fill('[data-testid=password]', PASSWORD);
  const [login] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${lk.url}/v1/cookie/login` && r.request().method() === 'POST'),
    page.click('[data-testid=login]'),
  ]);
  assert.equal(await lastStatus(page, 'login', 1), '200');
  return (await login.json()).csrf_token;
}

test('the SPA on another origin signs in, calls /v1/me, refreshes and logs out with the hybrid endpoints', async () => {
  const { context, page, problems } = await openSpa();
  assert.equal(await lastStatus(page, 'me', 1), '401', 'not signed in at first');

  const csrf = await signInSpa(page);
  assert.equal(await lastStatus(page, 'me', 2), '200');
  assert.equal(await page.textContent('[data-testid=user]'), 'alice');
  assert.equal(await page.textContent('[data-testid=auth]'), 'cookie_jwt');

  const at = await cookie(context, AT);
  const rt = await cookie(context, RT);
  assert.ok(at && rt, 'both hybrid cookies are set');
  assert.deepEqual(
    [at.httpOnly, at.secure, at.sameSite, at.path, at.domain],
    [true, true, 'Strict', '/', 'localhost'],
    AT,
  );
  assert.deepEqual([rt.httpOnly, rt.secure, rt.sameSite, rt.path], [true, true, 'Strict', '/v1/cookie'], RT);
  assert.equal(await page.evaluate(() => document.cookie), '', 'the page cannot read any cookie');
  assert.deepEqual(
    await page.evaluate(() => [localStorage.length, sessionStorage.length]),
    [0, 0],
    'the CSRF token is kept in memory only',
  );

  await page.click('[data-testid=refresh]');
  assert.equal(await lastStatus(page, 'refresh', 1), '200');
  const at2 = await cookie(context, AT);
  const rt2 = await cookie(context, RT);
  assert.notEqual(at2.value, at.value, 'the access cookie was replaced');
  assert.notEqual(rt2.value, rt.value, 'the refresh cookie was replaced');

  await page.click('[data-testid=me]');
  assert.equal(await lastStatus(page, 'me', 3), '200', '/v1/me works with the new access cookie');

  await page.click('[data-testid=logout]');
  assert.equal(await lastStatus(page, 'logout', 1), '204');
  assert.equal(await cookie(context, AT), undefined, 'the access cookie is gone');
  assert.equal(await cookie(context, RT), undefined, 'the refresh cookie is gone');
  assert.ok(await page.isVisible('[data-testid=login-form]'), 'back to the sign-in form');

  await page.reload();
  await page.waitForSelector('body[data-ready]');
  assert.equal(await lastStatus(page, 'me', 1), '401', '/v1/me answers 401 after logout');
  assert.deepEqual(problems, [], 'the SPA runs under its strict CSP');

  // Logout revoked the tokens on the server, not only in this browser.
  const me = await rawRequest(`${lk.direct}/v1/me`, { headers: { cookie: `${AT}=${at2.value}` } });
  assert.equal(me.status, 401, 'the last access token is revoked');
  const again = await rawRequest(`${lk.direct}/v1/cookie/refresh`, {
    method: 'POST',
    headers: { cookie: `${RT}=${rt2.value}`, 'x-csrf-token': csrf },
  });
  assert.equal(again.status, 401, 'the last refresh token is revoked');
  await context.close();
});

test('unsafe hybrid calls without the right X-CSRF-Token are refused', async () => {
  const { context, page } = await openSpa();
  await signInSpa(page);
  const statuses = await page.evaluate(async (api) => {
    const post = (path, headers) =>
      fetch(api + path, { method: 'POST', credentials: 'include', headers }).then((r) => r.status);
    return {
      refresh_without: await post('/v1/cookie/refresh', {}),
      refresh_wrong: await post('/v1/cookie/refresh', { 'x-csrf-token': 'wrong' }),
      logout_without: await post('/v1/cookie/logout', {}),
      password_without: await fetch(api + '/v1/password', {
        method: 'POST',
        credentials: 'include',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ current_password: 'correct horse battery', new_password: 'pwned-by-spa' }),
      }).then((r) => r.status),
    };
  }, lk.url);
  assert.deepEqual(statuses, {
    refresh_without: 403,
    refresh_wrong: 403,
    logout_without: 403,
    password_without: 403,
  });
  await page.click('[data-testid=me]');
  assert.equal(await lastStatus(page, 'me', 3), '200', 'still signed in');

  // A reload keeps the cookies but loses the in-memory token: the page says so.
  await page.reload();
  await page.waitForSelector('body[data-ready]');
  assert.equal(await lastStatus(page, 'me', 1), '200');
  assert.match(await page.textContent('[data-testid=resume]'), /Signed in as alice .*sign in again/i);
  await context.close();
});

test('the same SPA on an origin latchkey does not list cannot sign in', async () => {
  const logins = () =>
    lk.logs().filter((l) => l.span?.route === '/v1/cookie/login' && l.span?.method === 'POST').length;
  const before = logins();
  const { context, page } = await openSpa(stranger.origin);
  await page.fill('[data-testid=username]', 'alice');
  await page.fill('[data-testid=password]', PASSWORD);
  await page.click('[data-testid=login]');
  assert.equal(await lastStatus(page, 'login', 1), 'network', 'the browser refuses the call');
  assert.equal(await cookie(context, AT), undefined, 'no cookie was set');
  assert.equal(logins(), before, 'the POST never reached latchkey: the preflight stopped it');
  await context.close();
});

test('CORS preflight for the listed origin allows credentials and X-CSRF-Token', async () => {
  const res = await rawRequest(`${lk.direct}/v1/cookie/refresh`, {
    method: 'OPTIONS',
    headers: {
      origin: spa.origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,x-csrf-token',
    },
  });
  assert.ok(res.status >= 200 && res.status < 300, `preflight status ${res.status}`);
  assert.equal(res.headers['access-control-allow-origin'], spa.origin, 'the exact origin, never *');
  assert.equal(res.headers['access-control-allow-credentials'], 'true');
  const allowed = (res.headers['access-control-allow-headers'] ?? '').toLowerCase().split(/\s*,\s*/);
  assert.ok(allowed.includes('x-csrf-token'), `allowed headers: ${allowed}`);
  assert.ok(allowed.includes('content-type'), `allowed headers: ${allowed}`);
  assert.match(res.headers['access-control-allow-methods'] ?? '', /POST/);
  assert.match(res.headers.vary ?? '', /origin/i);
});

test('a request from an unlisted origin gets no CORS headers at all', async () => {
  const corsHeaders = (res) => Object.keys(res.headers).filter((h) => h.startsWith('access-control-'));
  for (const origin of [stranger.origin, 'http://evil.test', `${spa.origin}.evil.test`, 'null']) {
    const simple = await rawRequest(`${lk.direct}/v1/me`, { headers: { origin } });
    assert.deepEqual(corsHeaders(simple), [], `GET /v1/me from ${origin}`);
    const preflight = await rawRequest(`${lk.direct}/v1/cookie/login`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.deepEqual(corsHeaders(preflight), [], `preflight from ${origin}`);
  }
});
