// A real OpenID provider (panva's oidc-provider, OpenID certified) on
// loopback for latchkey's relying-party tests. One client, PKCE required,
// back-channel logout on. Usage:
//
//   node provider.mjs CLIENT_ID CLIENT_SECRET REDIRECT_URI [PORT]
//
// It listens on 127.0.0.1 (PORT, or an ephemeral port) and prints a line
// `issuer http://127.0.0.1:PORT`. The sign-in needs no page: the test says
// who signs in next (POST /test/login {"sub","name"}) and the interaction
// completes at once, consent included. Test-only routes:
//
//   POST /test/login        {"sub": "...", "name": "..."}  the next sign-in
//   POST /test/target       {"url": "..."}  where back-channel logout
//                                           tokens are relayed
//   POST /test/backchannel  the client's backchannel_logout_uri: relays
//                           the provider's POST to the target
//   GET  /test/last-logout  the body of the last relayed POST
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const [clientId, clientSecret, redirectUri, listenPort] = process.argv.slice(2);
if (!clientId || !clientSecret || !redirectUri) {
  console.error('usage: node provider.mjs CLIENT_ID CLIENT_SECRET REDIRECT_URI');
  process.exit(2);
}

let next = { sub: 'alice', name: 'alice' };
let target = null;
let lastLogout = '';
const accounts = new Map();

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function testRoute(req, res) {
  const body = await readBody(req);
  if (req.url === '/test/login') {
    next = JSON.parse(body.toString() || '{}');
  } else if (req.url === '/test/target') {
    target = JSON.parse(body.toString()).url;
  } else if (req.url === '/test/last-logout') {
    res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' });
    res.end(lastLogout);
    return;
  } else if (req.url === '/test/backchannel' && target) {
    lastLogout = body.toString();
    const answer = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': req.headers['content-type'] },
      body,
    });
    res.writeHead(answer.status);
    res.end(await answer.text());
    return;
  } else {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(204);
  res.end();
}

const server = http.createServer();
server.listen(Number(listenPort ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rsa', use: 'sig', alg: 'RS256' };
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      backchannel_logout_uri: `${issuer}/test/backchannel`,
      backchannel_logout_session_required: true,
    }],
    jwks: { keys: [jwk] },
    // Everything here is on loopback, which the provider's SSRF guard
    // refuses by default: the back-channel logout goes to 127.0.0.1.
    fetch: (url, options) => {
      const { dispatcher, ...rest } = options;
      return globalThis.fetch(url, rest);
    },
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    claims: { openid: ['sub', 'sid'], email: ['email', 'email_verified'], profile: ['preferred_username', 'name'] },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const name = accounts.get(sub) ?? sub;
      return {
        accountId: sub,
        async claims() {
          return { sub, preferred_username: name, name, email: `${name}@example.com`, email_verified: true };
        },
      };
    },
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });
  const callback = provider.callback();
  server.on('request', async (req, res) => {
    try {
      if (req.url.startsWith('/test/')) {
        await testRoute(req, res);
      } else if (req.url.startsWith('/interaction/')) {
        accounts.set(next.sub, next.name ?? next.sub);
        await provider.interactionFinished(req, res, { login: { accountId: next.sub } }, { mergeWithLastSubmission: false });
      } else {
        callback(req, res);
      }
    } catch (e) {
      console.error(e);
      res.writeHead(500);
      res.end();
    }
  });
  console.log(`issuer ${issuer}`);
});
