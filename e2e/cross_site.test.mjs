// Cross-site request forgery, in a real browser: a page on another site
// (http://evil.test:PORT, mapped to 127.0.0.1 by Chromium) that auto-submits
// forms and fetches at latchkey while the victim is signed in. Afterwards the
// victim must still be signed in, with every session, and the same password.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  cookie,
  launchBrowser,
  newDevice,
  signIn,
  startEvil,
  startLatchkey,
} from './harness.mjs';

const PASSWORD = 'correct horse battery';
const SESSION = '__Host-lk_session';

let lk;
let evil;
let browser;
/** The victim's two devices, signed in for the whole file. */
let victim;
let phone;

before(async () => {
  lk = await startLatchkey();
  lk.addUser('victim', PASSWORD);
  lk.addUser('mallory', PASSWORD);
  evil = await startEvil();
  browser = await launchBrowser();
  victim = await newDevice(browser);
  phone = await newDevice(browser);
  await signIn(await victim.newPage(), lk.url, 'victim', PASSWORD);
  await signIn(await phone.newPage(), lk.url, 'victim', PASSWORD);
});

after(async () => {
  await browser?.close();
  await evil?.stop();
  await lk?.stop();
});

/** The handles of the victim's sessions, from the end-session forms on /account. */
async function sessionHandles(context) {
  const page = await context.newPage();
  await page.goto(`${lk.url}/account`);
  const actions = await page
    .locator('form[action^="/account/sessions/"]')
    .evaluateAll((forms) => forms.map((f) => f.getAttribute('action')));
  await page.close();
  return actions.map((a) => a.split('/')[3]);
}

/** The victim is still signed in on both devices, as themselves, with both sessions. */
async function assertVictimUntouched() {
  for (const [name, context] of [['laptop', victim], ['phone', phone]]) {
    const page = await context.newPage();
    await page.goto(`${lk.url}/account`);
    assert.equal(new URL(page.url()).pathname, '/account', `${name} is still signed in`);
    assert.equal(await page.locator('main h1').first().textContent(), 'victim', `${name} is still the victim`);
    assert.equal(await page.locator('#sessions table tbody tr').count(), 2, `${name} sees both sessions`);
    await page.close();
  }
}

/** The password still works (and the attacker's does not), in a fresh browser. */
async function assertPasswordUnchanged() {
  const context = await newDevice(browser);
  const page = await context.newPage();
  await page.goto(`${lk.url}/login`);
  await page.fill('#username', 'victim');
  await page.fill('#password', 'pwned-by-evil');
  const [res] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.equal(res.status(), 401, "the attacker's password was not set");
  await signIn(page, lk.url, 'victim', PASSWORD);
  // Sign that check's session out again, so the victim keeps exactly two.
  await Promise.all([page.waitForURL(/\/login/), page.click('header form[action="/logout"] button')]);
  await context.close();
}

/** Statuses latchkey logged for `method route`. */
function logged(method, route) {
  return lk
    .logs()
    .filter((l) => l.message === 'request' && l.span?.method === method && l.span?.route === route)
    .map((l) => l.status);
}

/** Loads the evil page that auto-submits `fields` to `path` on latchkey; returns latchkey's answer. */
async function autoSubmit(page, site, path, fields) {
  const url = new URL(`${site}/form`);
  url.searchParams.set('action', `${lk.url}${path}`);
  for (const [k, v] of Object.entries(fields)) url.searchParams.set(`f.${k}`, v);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${lk.url}${path}`),
    page.goto(url.href),
  ]);
  await page.waitForLoadState();
  return response;
}

async function runFetchPage(page, site) {
  await page.goto(`${site}/fetch?target=${encodeURIComponent(lk.url)}`);
  await page.waitForSelector('body[data-done]');
  return JSON.parse(await page.textContent('#results'));
}

test('auto-submitted forms on another site cannot sign out, end sessions or change the password', async () => {
  const [first, second] = await sessionHandles(victim);
  const page = await victim.newPage();
  const attacks = [
    ['/logout', { csrf_token: 'guess' }],
    ['/account/logout-everywhere', { csrf_token: 'guess' }],
    [`/account/sessions/${first}/end`, { csrf_token: 'guess' }],
    [`/account/sessions/${second}/end`, {}],
    // Even knowing the current password does not help a forged form.
    ['/account/password', { csrf_token: 'guess', current_password: PASSWORD, new_password: 'pwned-by-evil' }],
  ];
  for (const [path, fields] of attacks) {
    const res = await autoSubmit(page, evil.crossSite, path, fields);
    // SameSite=Strict: the cookie did not come along, so latchkey saw no
    // session and sent the browser to the sign-in page.
    assert.equal(res.status(), 303, `POST ${path}`);
    assert.equal(res.headers().location, '/login', `POST ${path}`);
  }
  await assertVictimUntouched();
  await assertPasswordUnchanged();
});

test('another site cannot sign the browser in to its own account (login CSRF)', async () => {
  const context = await newDevice(browser);
  const page = await context.newPage();
  const res = await autoSubmit(page, evil.crossSite, '/login', {
    username: 'mallory',
    password: PASSWORD,
  });
  assert.equal(res.status(), 403, 'a cross-site login is refused');
  assert.equal(await cookie(context, SESSION), undefined, 'no session was started');
  await context.close();
});

test('scripts on another site cannot use the session: fetches go without the cookie and cannot be read', async () => {
  const page = await victim.newPage();
  const results = await runFetchPage(page, evil.crossSite);
  // Preflighted or read responses: the browser refuses (no CORS for this origin).
  for (const name of ['read_me', 'end_all_sessions', 'session_logout_with_header']) {
    assert.deepEqual(results[name], { error: 'TypeError' }, name);
  }
  // Simple requests go out, without the cookie, and come back opaque.
  for (const name of ['session_logout', 'ui_logout', 'password']) {
    assert.equal(results[name].type, 'opaque', name);
  }
  assert.deepEqual(logged('DELETE', '/v1/sessions'), [], 'the DELETE never reached latchkey');
  assert.deepEqual(logged('POST', '/v1/session/logout'), [401], 'the logout arrived without a session');
  await assertVictimUntouched();
  await assertPasswordUnchanged();
});

test('a sibling origin on the same site, not on the CORS list, is refused too (the cookie arrives; Origin and the CSRF token stop it)', async () => {
  const page = await victim.newPage();
  const res = await autoSubmit(page, evil.sameSite, '/logout', { csrf_token: 'guess' });
  assert.equal(res.status(), 403, 'a same-site form from another origin is refused');
  assert.match(await page.textContent('h1'), /Request refused/);

  const before = logged('POST', '/v1/session/logout').length;
  const results = await runFetchPage(page, evil.sameSite);
  assert.deepEqual(results.read_me, { error: 'TypeError' }, 'it cannot read /v1/me');
  assert.deepEqual(results.end_all_sessions, { error: 'TypeError' });
  assert.deepEqual(
    logged('POST', '/v1/session/logout').slice(before),
    [403],
    'the no-cors logout arrived with the cookie and was refused',
  );
  await assertVictimUntouched();
  await assertPasswordUnchanged();
});

test('another site cannot frame the pages', async () => {
  const page = await victim.newPage();
  // Control: a page that allows framing does render in the same frame.
  await page.goto(`${evil.crossSite}/frame?src=${encodeURIComponent(`${evil.crossSite}/frame?src=about:blank`)}`);
  await page.frameLocator('#victim').locator('iframe').waitFor({ state: 'attached' });

  await page.goto(`${evil.crossSite}/frame?src=${encodeURIComponent(`${lk.url}/account`)}`);
  const frame = page.frameLocator('#victim');
  // Give a framed page time to render if it were allowed to.
  await page.waitForTimeout(500);
  assert.equal(await frame.locator('main h1, form').count(), 0, 'nothing of latchkey renders in the frame');
});
