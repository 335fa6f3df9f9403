// Passkeys in a real browser: Chromium's virtual authenticator (CDP
// WebAuthn domain: CTAP2, internal transport, resident keys, user
// verification) stands in for a phone or laptop. Register a passkey from
// the account page, sign out, sign in with the passkey alone, and see the
// assurance on the account page; and use it as the second step after a
// password, on the two-step page.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ROOT, launchBrowser, newDevice, signIn, startLatchkey } from './harness.mjs';

const PASSWORD = 'correct horse battery';

/** Screenshots go to docs/ when LATCHKEY_E2E_SCREENSHOTS=1, else to a temp dir. */
const SHOTS = process.env.LATCHKEY_E2E_SCREENSHOTS === '1'
  ? join(ROOT, 'docs')
  : tmpdir();

let lk;
let browser;

before(async () => {
  lk = await startLatchkey();
  lk.addUser('paula', PASSWORD);
  lk.addUser('pedro', PASSWORD);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await lk?.stop();
});

/** A platform authenticator with user verification, on `cdp`'s page. */
async function addAuthenticator(cdp) {
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return authenticatorId;
}

/** A page whose browser has a platform authenticator with user verification. */
async function pageWithAuthenticator() {
  const ctx = await newDevice(browser);
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const authenticatorId = await addAuthenticator(cdp);
  return { ctx, page, cdp, authenticatorId };
}

/** Registers a passkey named `name` on the account page `page` is on. */
async function registerPasskey(page, name) {
  await page.fill('#passkey_name', name);
  await Promise.all([
    page.waitForURL(`${lk.url}/account?notice=passkey`),
    page.click('#passkey-register button[type=submit]'),
  ]);
}

test('a passkey registered on the account page signs in alone, and the account page shows it', async () => {
  const { page, cdp, authenticatorId } = await pageWithAuthenticator();
  await signIn(page, lk.url, 'paula', PASSWORD);
  assert.match(await page.locator('#assurance').textContent(), /a password/);

  await registerPasskey(page, 'test laptop');
  assert.equal(await page.locator('.passkey-name').textContent(), 'test laptop');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1, 'the authenticator holds one credential');
  assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');

  await Promise.all([page.waitForURL(/\/login/), page.click('header form[action="/logout"] button')]);

  // No username, no password: the passkey alone. The virtual authenticator
  // answers at once, so passkey autofill (conditional UI) may sign in
  // before the button is pressed; either way only the passkey is used.
  await Promise.all([
    page.waitForURL(`${lk.url}/account`),
    page.click('#passkey-signin', { timeout: 5_000 }).catch(() => {}),
  ]);
  assert.equal(await page.locator('main h1').first().textContent(), 'paula');
  assert.match(
    await page.locator('#assurance').textContent(),
    /a passkey on this device \(multi-factor\)/,
  );
  assert.equal(await page.locator('#assurance').getAttribute('title'), 'hwk mfa');
  await page.screenshot({ path: join(SHOTS, 'screenshot-passkey.png'), fullPage: true });
  const session = await page.evaluate(async () => (await fetch('/v1/session')).json());
  assert.deepEqual(session.amr, ['hwk', 'mfa']);
  const [{ signCount }] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  assert.ok(signCount >= 2, `the authenticator counted its uses (${signCount})`);
});

test('the login page offers passkey autofill on the username field', async () => {
  const { page } = await pageWithAuthenticator();
  const response = await page.goto(`${lk.url}/login`);
  const csp = (await response.allHeaders())['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe/);
  assert.equal(await page.getAttribute('#username', 'autocomplete'), 'username webauthn');
  assert.equal(await page.locator('#passkey-error').count(), 0, 'no error shown');
});

test('after a password, the two-step page finishes the sign-in with the passkey', async () => {
  const { page, cdp, authenticatorId } = await pageWithAuthenticator();
  await signIn(page, lk.url, 'pedro', PASSWORD);
  await registerPasskey(page, 'work laptop');
  // Unplug the authenticator (keeping its credential) before signing out,
  // so that the login page's passkey autofill cannot sign in before the
  // password is typed.
  const { credentials: [credential] } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
  await Promise.all([page.waitForURL(/\/login/), page.click('header form[action="/logout"] button')]);
  await page.fill('#username', 'pedro');
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(`${lk.url}/login`), page.click('form[action="/login"] button[type=submit]')]);
  assert.equal(await page.locator('main h1').textContent(), 'Two-step sign-in');
  assert.equal(await page.locator('#passkey-second').textContent(), 'Use a passkey');

  const plugged = await addAuthenticator(cdp);
  await cdp.send('WebAuthn.addCredential', { authenticatorId: plugged, credential });
  await Promise.all([page.waitForURL(`${lk.url}/account`), page.click('#passkey-second')]);
  assert.equal(await page.locator('main h1').first().textContent(), 'pedro');
  assert.match(await page.locator('#assurance').textContent(), /multi-factor/);
  assert.equal(await page.locator('#assurance').getAttribute('title'), 'pwd hwk mfa');
});
