// Sign in with an OpenID Connect provider in a real browser: latchkey on
// http://localhost:PORT, the provider (panva's oidc-provider,
// tests/oidc-provider/) on http://127.0.0.1:PORT, another site. The
// callback is a navigation the provider's site started: the session
// cookie (SameSite=Strict) set there must reach /account, which a bare
// 303 would not manage. Runs with LATCHKEY_TEST_OIDC set (`.ci/run` sets
// it after `npm ci` in tests/oidc-provider).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';

import { BIN, ROOT, cookie, freePort, launchBrowser, newDevice } from './harness.mjs';

const ENABLED = Boolean(process.env.LATCHKEY_TEST_OIDC);
const PROVIDER_DIR = join(ROOT, 'tests/oidc-provider');
const CLIENT_ID = 'latchkey-e2e';
const CLIENT_SECRET = 'e2e-client-secret';

const children = [];
let dir;
let browser;
let app;
let issuer;

function firstLine(child, match) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('did not start within 20 s')), 20_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const found = match(line);
      if (found !== undefined) {
        clearTimeout(timer);
        ok(found);
      }
    });
    child.once('exit', (code) => fail(new Error(`exited with ${code}`)));
  });
}

before(async () => {
  if (!ENABLED) return;
  assert.ok(existsSync(join(PROVIDER_DIR, 'node_modules/oidc-provider')),
    'LATCHKEY_TEST_OIDC is set: run `npm ci` in tests/oidc-provider');
  const port = await freePort();
  app = `http://localhost:${port}`;
  const provider = spawn(process.execPath,
    ['provider.mjs', CLIENT_ID, CLIENT_SECRET, `${app}/v1/oidc/test/callback`],
    { cwd: PROVIDER_DIR, stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(provider);
  issuer = await firstLine(provider, (l) => l.match(/^issuer (\S+)$/)?.[1]);
  dir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-oidc-'));
  const latchkey = spawn(BIN,
    ['serve', '--listen', `127.0.0.1:${port}`, '--database', `sqlite://${join(dir, 'e2e.db')}`], {
      env: {
        PATH: process.env.PATH,
        LATCHKEY_LOG: 'info',
        LATCHKEY_ISSUER: app,
        LATCHKEY_OIDC__PROVIDERS__TEST__ISSUER: issuer,
        LATCHKEY_OIDC__PROVIDERS__TEST__CLIENT_ID: CLIENT_ID,
        LATCHKEY_OIDC__PROVIDERS__TEST__CLIENT_SECRET: CLIENT_SECRET,
        LATCHKEY_OIDC__PROVIDERS__TEST__DISPLAY_NAME: 'Test IdP',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  children.push(latchkey);
  await firstLine(latchkey, (l) => (l.includes('OIDC provider discovered') ? true : undefined));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const c of children) c.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('signing in at a provider lands on /account signed in, with amr fed', { skip: !ENABLED }, async () => {
  await fetch(`${issuer}/test/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: 'e2e-user-1', name: 'ivy' }),
  });
  const ctx = await newDevice(browser);
  const page = await ctx.newPage();
  await page.goto(`${app}/login`);
  await Promise.all([
    page.waitForURL(`${app}/account`),
    page.click('text=Sign in with Test IdP'),
  ]);
  // Signed in: the page shows the account, not the sign-in form.
  assert.equal(await page.locator('#password').count(), 0, 'not bounced to the sign-in form');
  assert.match(await page.content(), /ivy/);
  const session = await cookie(ctx, '__Host-lk_session');
  assert.ok(session, 'the session cookie is set');
  assert.equal(session.sameSite, 'Strict');
  const me = await page.evaluate(async () => (await fetch('/v1/session')).json());
  assert.equal(me.user.username, 'ivy');
  assert.ok(me.amr.includes('fed'), JSON.stringify(me.amr));
  // The binding cookie is gone.
  assert.equal(await cookie(ctx, '__Host-lk_oidc'), undefined);
  await ctx.close();
});
