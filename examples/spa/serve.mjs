#!/usr/bin/env node
// A tiny static server for the example SPA: no dependencies, Node 20+.
//
//   node examples/spa/serve.mjs [--port 5173] [--host 127.0.0.1] [--api http://localhost:8080]
//
// It serves index.html, app.js and style.css from this directory with a
// strict Content-Security-Policy: scripts and styles from this origin only,
// and network calls only to this origin and to latchkey (`--api`).
// Prints one line when ready: `spa listening on http://localhost:PORT/`.
// Open the SPA as http://localhost:PORT/ (not 127.0.0.1): it must be on the
// same site as latchkey for the SameSite=Strict cookies to be sent.

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '5173' },
    host: { type: 'string', default: '127.0.0.1' },
    api: { type: 'string', default: 'http://localhost:8080' },
  },
});

const api = new URL(opts.api).origin;
const root = dirname(fileURLToPath(import.meta.url));
const files = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};
const csp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  `connect-src 'self' ${api}`,
  "img-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  const file = files[path];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (!file) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  const body = await readFile(join(root, file[0]));
  res.writeHead(200, {
    'content-type': file[1],
    'content-security-policy': csp,
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
});

server.listen(Number(opts.port), opts.host, () => {
  const { port } = server.address();
  const loopback = ['127.0.0.1', '::1', 'localhost'].includes(opts.host);
  const host = loopback ? 'localhost' : opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  console.log(`spa listening on http://${host}:${port}/`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
