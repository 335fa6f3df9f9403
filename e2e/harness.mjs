// Shared setup for the browser tests: the real latchkey binary, the example
// SPA's static server, a hostile page on another site, and Debian's Chromium.
//
// Not a test file itself (node --test only runs *.test.mjs).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { request } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The binary under test: `LATCHKEY_BIN`, or the debug build. */
export const BIN = (() => {
  const bin = process.env.LATCHKEY_BIN || 'target/debug/latchkey';
  return isAbsolute(bin) ? bin : join(ROOT, bin);
})();

export const CHROMIUM = process.env.LATCHKEY_CHROMIUM || '/usr/bin/chromium';

/** The hostile site: a hostname of its own, resolved to loopback by Chromium. */
export const EVIL_HOST = 'evil.test';

const STARTUP_MS = 20_000;

/** A TCP port that was free a moment ago. */
export async function freePort() {
  return new Promise((ok, fail) => {
    const s = createNetServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Reads a child's stdout line by line until `match` returns a value. */
function waitForLine(child, what, match, lines) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`${what} did not start within ${STARTUP_MS} ms:\n${lines.join('\n')}`)),
      STARTUP_MS,
    );
    let done = false;
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (done) return;
      const found = match(line);
      if (found !== undefined) {
        done = true;
        clearTimeout(timer);
        ok(found);
      }
    });
    child.once('exit', (code, signal) => {
      if (done) return;
      clearTimeout(timer);
      fail(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${lines.join('\n')}`));
    });
    child.once('error', (e) => {
      if (done) return;
      clearTimeout(timer);
      fail(new Error(`${what} could not start: ${e.message}`));
    });
  });
}

function stopChild(child) {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok();
    child.once('exit', () => ok());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
}

/**
 * Starts `latchkey serve` on a free port with a fresh SQLite file.
 * `env`: extra LATCHKEY_* variables. The app is reached as
 * http://localhost:PORT, which Chromium treats as a secure context, so the
 * `Secure`, `__Host-` cookies work over plain HTTP.
 */
export async function startLatchkey(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-'));
  const database = `sqlite://${join(dir, 'e2e.db')}`;
  const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--database', database], {
    env: { PATH: process.env.PATH, LATCHKEY_LOG: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = [];
  child.stderr.setEncoding('utf8').on('data', (d) => stderr.push(d));
  const lines = [];
  const address = await waitForLine(
    child,
    `latchkey (${BIN})`,
    (line) => {
      try {
        const v = JSON.parse(line);
        return v.message === 'latchkey listening' ? v.address : undefined;
      } catch {
        return undefined;
      }
    },
    lines,
  ).catch((e) => {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${e.message}\n${stderr.join('')}`);
  });
  const port = Number(address.split(':').pop());
  return {
    port,
    /** As the browser reaches it. */
    url: `http://localhost:${port}`,
    /** For requests from Node (no IPv6 detour). */
    direct: `http://127.0.0.1:${port}`,
    database,
    /** Every JSON log line so far, parsed. */
    logs: () =>
      lines.flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return [];
        }
      }),
    /** `latchkey user add NAME --password-stdin` on this server's database. */
    addUser(name, password) {
      const r = spawnSync(BIN, ['user', 'add', name, '--password-stdin', '--database', database], {
        env: { PATH: process.env.PATH },
        input: `${password}\n`,
        encoding: 'utf8',
      });
      if (r.status !== 0) {
        throw new Error(`latchkey user add ${name} failed (${r.status}): ${r.stderr}`);
      }
    },
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs examples/spa/serve.mjs exactly as its README says. */
export async function startSpa({ port = 0, api }) {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'examples/spa/serve.mjs'), '--port', String(port), '--api', api],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await waitForLine(
    child,
    'examples/spa/serve.mjs',
    (line) => line.match(/^spa listening on (http:\/\/\S+?)\/?$/)?.[1],
    [],
  );
  return { url, origin: new URL(url).origin, stop: () => stopChild(child) };
}

/**
 * A hostile web site. The same server answers as http://evil.test:PORT (a
 * different site from localhost) and as http://localhost:PORT (the same
 * site as latchkey, but an origin latchkey does not list).
 *
 * - `/form?action=URL&f.NAME=VALUE…`: a form with those fields that submits
 *   itself (POST) to URL as soon as the page loads;
 * - `/fetch?target=ORIGIN`: fetches at latchkey with the user's cookies and
 *   writes what it could see into `#results` (JSON) when done;
 * - `/frame?src=URL`: frames URL.
 */
export async function startEvil() {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const html = (body) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Win a prize</title></head><body>${body}</body></html>`);
    };
    const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    if (url.pathname === '/form') {
      const fields = [...url.searchParams]
        .filter(([k]) => k.startsWith('f.'))
        .map(([k, v]) => `<input type="hidden" name="${esc(k.slice(2))}" value="${esc(v)}">`)
        .join('');
      return html(
        `<h1>You won!</h1><form id="f" method="post" action="${esc(url.searchParams.get('action'))}">${fields}</form>` +
          `<script>document.getElementById('f').submit()</script>`,
      );
    }
    if (url.pathname === '/fetch') {
      const target = JSON.stringify(url.searchParams.get('target'));
      return html(`<pre id="results"></pre><script>
const t = ${target};
const attempts = {
  // Simple requests: sent without a preflight, the response is unreadable.
  session_logout: () => fetch(t + '/v1/session/logout', { method: 'POST', credentials: 'include', mode: 'no-cors' }),
  ui_logout: () => fetch(t + '/logout', { method: 'POST', credentials: 'include', mode: 'no-cors',
    headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'csrf_token=guess' }),
  password: () => fetch(t + '/v1/password', { method: 'POST', credentials: 'include', mode: 'no-cors',
    headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ current_password: 'guess', new_password: 'pwned-by-evil' }) }),
  // Needs a preflight (DELETE, a custom header): the browser asks first.
  end_all_sessions: () => fetch(t + '/v1/sessions', { method: 'DELETE', credentials: 'include' }),
  session_logout_with_header: () => fetch(t + '/v1/session/logout', { method: 'POST', credentials: 'include',
    headers: { 'x-csrf-token': 'guess' } }),
  // Can it even read who is signed in?
  read_me: () => fetch(t + '/v1/me', { credentials: 'include' }).then(async (r) => { r.body_text = await r.text(); return r; }),
};
(async () => {
  const out = {};
  for (const [name, run] of Object.entries(attempts)) {
    try {
      const r = await run();
      out[name] = { type: r.type, status: r.status, body: r.body_text ?? null };
    } catch (e) {
      out[name] = { error: e.name };
    }
  }
  document.getElementById('results').textContent = JSON.stringify(out);
  document.body.dataset.done = 'true';
})();
</script>`);
    }
    if (url.pathname === '/frame') {
      return html(`<iframe id="victim" width="800" height="600" src="${esc(url.searchParams.get('src'))}"></iframe>`);
    }
    res.writeHead(404).end();
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return {
    port,
    crossSite: `http://${EVIL_HOST}:${port}`,
    sameSite: `http://localhost:${port}`,
    stop: () => new Promise((ok) => server.close(ok)),
  };
}

/** Debian's Chromium, headless, with evil.test mapped to loopback. */
export async function launchBrowser() {
  try {
    return await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--host-resolver-rules=MAP ${EVIL_HOST} 127.0.0.1`,
      ],
    });
  } catch (e) {
    throw new Error(
      `could not launch Chromium at ${CHROMIUM} (apt-get install chromium): ${e.message}`,
    );
  }
}

export const VIEWPORT = { width: 1280, height: 800 };

/** A fresh browser profile: one "device". */
export async function newDevice(browser, options = {}) {
  const context = await browser.newContext({ viewport: VIEWPORT, ...options });
  context.setDefaultTimeout(10_000);
  return context;
}

/** Signs in through the /login form; resolves on /account. */
export async function signIn(page, app, username, password) {
  await page.goto(`${app}/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${app}/login` && r.request().method() === 'POST'),
    page.click('button[type=submit]'),
  ]);
  await page.waitForLoadState();
  if (page.url() !== `${app}/account`) {
    const said = (await page.locator('h1, [role=alert]').allTextContents()).join(' / ');
    throw new Error(
      `signing in as ${username}: POST /login answered ${response.status()}, ` +
        `the browser is on ${page.url()} showing "${said}"`,
    );
  }
}

/** A plain HTTP request from Node (any headers, Origin included). */
export function rawRequest(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((ok, fail) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => ok({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

/** The session cookie (or undefined) in a browser context. */
export async function cookie(context, name) {
  return (await context.cookies()).find((c) => c.name === name);
}
