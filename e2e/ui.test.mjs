// The server-rendered UI (/login, /account) in a real browser: signing in,
// the session cookie as the browser holds it, sessions on two devices,
// password change, signing out, and the headers every page carries.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { ROOT, cookie, launchBrowser, newDevice, signIn, startLatchkey } from './harness.mjs';

const PASSWORD = 'correct horse battery';
const SESSION = '__Host-lk_session';
/** A second device that looks like one in the session list. */
const PHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 ' +
  '(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

/** Screenshots go to docs/ when LATCHKEY_E2E_SCREENSHOTS=1, else to a temp dir. */
const SHOTS = process.env.LATCHKEY_E2E_SCREENSHOTS === '1'
  ? join(ROOT, 'docs')
  : join(tmpdir(), 'latchkey-e2e-screenshots');

let lk;
let browser;
const contexts = [];

before(async () => {
  lk = await startLatchkey();
  for (const name of ['alice', 'bob', 'dave', 'erin', 'frank', 'grace']) lk.addUser(name, PASSWORD);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await lk?.stop();
});

async function device(options) {
  const ctx = await newDevice(browser, options);
  contexts.push(ctx);
  return ctx;
}

/** The rows of the sessions table on /account. */
const rows = (page) => page.locator('#sessions table tbody tr');

function parseCsp(value) {
  const out = {};
  for (const part of (value ?? '').split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out[name.toLowerCase()] = sources;
  }
  return out;
}

/** What every UI page must carry. */
async function assertPageHeaders(response, what) {
  assert.ok(response, `${what}: no response`);
  const h = await response.allHeaders();
  const csp = parseCsp(h['content-security-policy']);
  assert.deepEqual(csp['frame-ancestors'], ["'none'"], `${what}: frame-ancestors`);
  const script = csp['script-src'] ?? csp['default-src'];
  assert.ok(script, `${what}: the CSP must restrict scripts (script-src or default-src)`);
  for (const bad of ["'unsafe-inline'", "'unsafe-eval'", '*', 'data:', 'http:', 'https:']) {
    assert.ok(!script.includes(bad), `${what}: script sources ${script.join(' ')} include ${bad}`);
  }
  assert.equal(h['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy`);
  assert.equal(h['x-content-type-options'], 'nosniff', `${what}: X-Content-Type-Options`);
  assert.match(h['content-type'], /^text\/html/, `${what}: content type`);
}

test('signing in through /login lands on /account showing the username', async () => {
  const page = await (await device()).newPage();
  await signIn(page, lk.url, 'grace', PASSWORD);
  assert.equal(await page.locator('main h1').first().textContent(), 'grace');
  assert.equal(await rows(page).count(), 1);
  assert.equal(await page.locator('.tag').textContent(), 'this device');
});

test('the session cookie is HttpOnly, Secure, SameSite=Strict, host-only, and hidden from document.cookie', async () => {
  const ctx = await device();
  const page = await ctx.newPage();
  await signIn(page, lk.url, 'grace', PASSWORD);
  const c = await cookie(ctx, SESSION);
  assert.ok(c, `the browser holds ${SESSION}`);
  assert.equal(c.httpOnly, true, 'HttpOnly');
  assert.equal(c.secure, true, 'Secure');
  assert.equal(c.sameSite, 'Strict', 'SameSite');
  assert.equal(c.path, '/');
  assert.equal(c.domain, 'localhost', 'host-only: no Domain attribute');
  assert.equal(c.expires, -1, 'without "keep me signed in" it ends with the browser');
  const visible = await page.evaluate(() => document.cookie);
  assert.ok(!visible.includes('lk_session'), `document.cookie shows ${JSON.stringify(visible)}`);
  assert.ok(!visible.includes(c.value), 'document.cookie shows the secret');
});

test('"keep me signed in" makes the cookie persistent', async () => {
  const ctx = await device();
  const page = await ctx.newPage();
  await page.goto(`${lk.url}/login`);
  await page.fill('#username', 'grace');
  await page.fill('#password', PASSWORD);
  await page.check('input[name=remember]');
  await Promise.all([page.waitForURL(`${lk.url}/account`), page.click('button[type=submit]')]);
  const c = await cookie(ctx, SESSION);
  assert.ok(c.expires > Date.now() / 1000 + 3600, `expires ${c.expires}`);
});

test('a failed login shows exactly one generic message, the same for a wrong password and an unknown user', async () => {
  const ctx = await device();
  const page = await ctx.newPage();
  const messages = [];
  for (const [username, password] of [
    ['grace', 'not the password'],
    ['nobody-by-this-name', 'not the password'],
  ]) {
    await page.goto(`${lk.url}/login`);
    await page.fill('#username', username);
    await page.fill('#password', password);
    const [response] = await Promise.all([
      page.waitForNavigation(),
      page.click('button[type=submit]'),
    ]);
    assert.equal(response.status(), 401);
    assert.equal(new URL(page.url()).pathname, '/login');
    const alerts = page.locator('[role=alert], .error');
    assert.equal(await alerts.count(), 1, 'exactly one message');
    messages.push((await alerts.textContent()).trim());
    assert.equal(await page.inputValue('#password'), '', 'the password is not echoed back');
  }
  assert.equal(messages[0], messages[1], 'no hint whether the user exists');
  assert.match(messages[0], /wrong username or password/i);
  assert.equal(await cookie(ctx, SESSION), undefined, 'no session cookie after a failure');
});

/** The only script a page may hold: latchkey's own passkey file, never inline code. */
async function assertOnlyThePasskeyScript(page, what) {
  assert.equal(await page.locator('script:not([src])').count(), 0, `${what} has no inline script`);
  const sources = await page.locator('script[src]').evaluateAll((s) => s.map((e) => e.getAttribute('src')));
  for (const src of sources) assert.equal(src, '/assets/passkeys.js', `${what}: script ${src}`);
}

test('every UI page sends a strict CSP (no inline script, no framing), no-referrer and nosniff', async () => {
  const ctx = await device();
  const page = await ctx.newPage();
  await assertPageHeaders(await page.goto(`${lk.url}/login`), 'GET /login');
  await assertOnlyThePasskeyScript(page, '/login');

  await page.fill('#username', 'frank');
  await page.fill('#password', 'wrong password');
  const [failed] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await assertPageHeaders(failed, 'POST /login (failed)');

  await page.fill('#password', PASSWORD);
  const [signedIn] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.equal(new URL(page.url()).pathname, '/account');
  await assertPageHeaders(signedIn, 'POST /login → GET /account');
  await assertPageHeaders(await page.goto(`${lk.url}/account`), 'GET /account');
  await assertOnlyThePasskeyScript(page, '/account');

  // The password form with a wrong current password: post/redirect/get to
  // the account page, the error at the form; a reload sends nothing again.
  await page.fill('#current_password', 'not it at all');
  await page.fill('#new_password', 'another good password');
  await page.fill('#confirm_password', 'another good password');
  const [wrong] = await Promise.all([
    page.waitForNavigation(),
    page.click('form[action="/account/password"] button[type=submit]'),
  ]);
  assert.equal(wrong.request().method(), 'GET', 'redirected after the post');
  assert.match(page.url(), /\/account\?password_error=wrong#change-password$/);
  assert.equal(await page.locator('#change-password [role=alert]').textContent(), 'The current password is wrong.');
  await assertPageHeaders(wrong, 'POST /account/password (wrong current password)');
  const reloaded = await page.reload();
  assert.equal(reloaded.request().method(), 'GET', 'a reload does not re-post');

  // A form whose CSRF token was tampered with: the refusal page, 403.
  await page.locator('header form[action="/logout"] input[name=csrf_token]').evaluate((el) => {
    el.value = 'tampered';
  });
  const [refused] = await Promise.all([
    page.waitForNavigation(),
    page.click('header form[action="/logout"] button'),
  ]);
  assert.equal(refused.status(), 403);
  await assertPageHeaders(refused, 'POST /logout with a bad CSRF token');
  // ...and the session survived it.
  await page.goto(`${lk.url}/account`);
  assert.equal(await page.locator('main h1').first().textContent(), 'frank');
});

test('two devices: A sees both sessions, "this device" once, ends B\'s; B is sent to /login', async () => {
  const a = await device();
  const b = await device({ userAgent: PHONE_UA });
  const pageA = await a.newPage();
  const pageB = await b.newPage();
  await signIn(pageA, lk.url, 'alice', PASSWORD);
  await signIn(pageB, lk.url, 'alice', PASSWORD);

  await pageA.goto(`${lk.url}/account`);
  assert.equal(await rows(pageA).count(), 2, 'both sessions are listed');
  assert.equal(await pageA.locator('.tag', { hasText: 'this device' }).count(), 1);
  const mine = rows(pageA).filter({ has: pageA.locator('.tag') });
  const other = rows(pageA).filter({ hasNot: pageA.locator('.tag') });
  assert.match(await mine.locator('td').first().textContent(), /Chrom/);
  assert.match(await other.locator('td').first().textContent(), /Safari on iOS/);
  for (const row of [mine, other]) {
    const cells = row.locator('td');
    assert.equal(await cells.nth(1).textContent(), 'Browser session', 'kind');
    assert.match(await cells.nth(2).textContent(), /^(127\.0\.0\.1|::1)$/, 'address');
    assert.equal(await cells.nth(3).textContent(), 'just now', 'last seen');
  }

  mkdirSync(SHOTS, { recursive: true });
  await pageA.screenshot({ path: join(SHOTS, 'screenshot-account.png'), fullPage: true });

  await Promise.all([
    pageA.waitForURL(`${lk.url}/account?notice=ended`),
    other.locator('button', { hasText: 'End' }).click(),
  ]);
  assert.equal(await pageA.locator('[role=status]').textContent(), 'Session ended.');
  assert.equal(await rows(pageA).count(), 1, 'only this device is left');
  assert.equal(await pageA.locator('.tag').count(), 1);

  await pageB.goto(`${lk.url}/account`);
  assert.equal(new URL(pageB.url()).pathname, '/login', 'B is signed out');
  assert.equal(await cookie(b, SESSION), undefined, 'B\'s dead cookie was cleared');
});

test('changing the password through the form works and signs out the other device', async () => {
  const a = await device();
  const b = await device({ userAgent: PHONE_UA });
  const pageA = await a.newPage();
  const pageB = await b.newPage();
  await signIn(pageA, lk.url, 'bob', PASSWORD);
  await signIn(pageB, lk.url, 'bob', PASSWORD);

  const NEW = 'a brand new passphrase';
  await pageA.goto(`${lk.url}/account`);
  await pageA.fill('#current_password', PASSWORD);
  await pageA.fill('#new_password', NEW);
  await pageA.fill('#confirm_password', NEW);
  await Promise.all([
    pageA.waitForURL(`${lk.url}/account?notice=password`),
    pageA.click('form[action="/account/password"] button[type=submit]'),
  ]);
  assert.match(await pageA.locator('[role=status]').textContent(), /Password changed/);
  assert.equal(await rows(pageA).count(), 1, 'only the session that changed it is left');

  await pageB.goto(`${lk.url}/account`);
  assert.equal(new URL(pageB.url()).pathname, '/login', 'the other device is signed out');

  const fresh = await (await device()).newPage();
  await fresh.goto(`${lk.url}/login`);
  await fresh.fill('#username', 'bob');
  await fresh.fill('#password', PASSWORD);
  const [old] = await Promise.all([fresh.waitForNavigation(), fresh.click('button[type=submit]')]);
  assert.equal(old.status(), 401, 'the old password no longer works');
  await signIn(fresh, lk.url, 'bob', NEW);
});

test('"Sign out everywhere" signs out this device and the others', async () => {
  const a = await device();
  const b = await device({ userAgent: PHONE_UA });
  const pageA = await a.newPage();
  const pageB = await b.newPage();
  await signIn(pageA, lk.url, 'erin', PASSWORD);
  await signIn(pageB, lk.url, 'erin', PASSWORD);
  await Promise.all([
    pageA.waitForURL(`${lk.url}/login?out=1`),
    pageA.click('form[action="/account/logout-everywhere"] button'),
  ]);
  assert.equal(await cookie(a, SESSION), undefined);
  await pageB.goto(`${lk.url}/account`);
  assert.equal(new URL(pageB.url()).pathname, '/login');
});

test('the sign-out button removes the cookie, ends the session on the server, and /account sends you to /login', async () => {
  const ctx = await device();
  const page = await ctx.newPage();
  await signIn(page, lk.url, 'dave', PASSWORD);
  const before = await cookie(ctx, SESSION);
  assert.ok(before);

  await Promise.all([
    page.waitForURL(`${lk.url}/login?out=1`),
    page.click('header form[action="/logout"] button'),
  ]);
  assert.equal(await page.locator('[role=status]').textContent(), 'You are signed out.');
  assert.equal(await cookie(ctx, SESSION), undefined, 'the cookie is gone');

  await page.goto(`${lk.url}/account`);
  assert.equal(new URL(page.url()).pathname, '/login');

  // Putting the old cookie back does not bring the session back.
  await ctx.addCookies([{ ...before, expires: -1 }]);
  await page.goto(`${lk.url}/account`);
  assert.equal(new URL(page.url()).pathname, '/login', 'the session was deleted on the server');
});

test('screenshot of /login', async () => {
  const page = await (await device()).newPage();
  await page.goto(`${lk.url}/login`);
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, 'screenshot-login.png') });
});
