// Two-step sign-in in a real browser, with no script on the pages but
// latchkey's one passkey file on the sign-in page:
// enrol TOTP from the account page (QR code drawn by the server), sign
// out, sign in with the password and then a code. Codes come from otplib,
// an implementation independent of the server's.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { generateSync } from 'otplib';

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
  lk.addUser('mia', PASSWORD);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await lk?.stop();
});

/** The code of the step `offset` seconds from now (a step is accepted once). */
const code = (secret, offset = 0) =>
  generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + offset });

test('enrol TOTP on the account page, sign out, sign in with password and code', async () => {
  const ctx = await newDevice(browser);
  const page = await ctx.newPage();
  const scripts = [];
  page.on('request', (r) => {
    if (r.resourceType() === 'script') scripts.push(r.url());
  });
  await signIn(page, lk.url, 'mia', PASSWORD);

  await page.click('text=Set up an authenticator app');
  await page.waitForLoadState();
  assert.equal(await page.locator('.qr svg').count(), 1, 'a QR code drawn as inline SVG');
  const secret = (await page.locator('#totp-secret').textContent()).trim();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  await page.screenshot({ path: join(SHOTS, 'screenshot-totp.png'), fullPage: true });

  await page.fill('#code', code(secret));
  await page.click('button:has-text("Turn on")');
  await page.waitForLoadState();
  assert.equal(await page.locator('#recovery-codes li').count(), 10, 'ten recovery codes, once');
  await page.click('text=Done');
  await page.waitForLoadState();
  assert.match(await page.locator('#recovery-state').textContent(), /10 recovery codes left/);

  await page.click('header button:has-text("Sign out")');
  await page.waitForLoadState();
  assert.ok(page.url().startsWith(`${lk.url}/login`), page.url());

  await page.fill('#username', 'mia');
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForLoadState();
  assert.equal(await page.locator('h1').textContent(), 'Two-step sign-in');
  await page.screenshot({ path: join(SHOTS, 'screenshot-code.png') });
  // The next step's code: the enrolment spent this one.
  await page.fill('#code', code(secret, 30));
  await page.click('button:has-text("Verify")');
  await page.waitForLoadState();
  assert.equal(page.url(), `${lk.url}/account`);
  assert.equal(await page.locator('main h1').first().textContent(), 'mia');
  assert.deepEqual(
    [...new Set(scripts)],
    [`${lk.url}/assets/passkeys.js`],
    'no page loads a script but the sign-in page its passkey file',
  );
  await ctx.close();
});
