/**
 * An app behind Gatehouse that verifies who is calling instead of trusting a plain header.
 *
 * Gatehouse signs every request it lets through with an ES256 JWT in `X-Gatehouse-Assertion`
 * (SPEC section 6): `iss` and `aud` are the app's external origin, `sub`/`email` the guest,
 * `exp` at most 5 minutes ahead. The app checks the signature against the gateway's published
 * keys (`/.gatehouse/jwks.json`, cached and re-fetched by jose when an unknown key id shows
 * up after a `gatehouse keys rotate`), the audience and the expiry, and refuses anything else.
 *
 *   npm install express jose
 *   GATEHOUSE_JWKS_URL=http://gatehouse:8080/.gatehouse/jwks.json \
 *   APP_ORIGIN=https://wiki.example.com PORT=3000 node express-verify-assertion.mjs
 *
 * APP_ORIGIN is the route's `from` origin (scheme, host, port if not the default): a token
 * minted for another app behind the same gateway has another audience and is refused.
 */
import express from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';

/** Express middleware: 401 unless the request carries a valid assertion for `audience`. */
export function requireGatehouseIdentity({ jwksUrl, audience, header = 'x-gatehouse-assertion' }) {
  const keys = createRemoteJWKSet(new URL(jwksUrl));
  return async (req, res, next) => {
    const token = req.get(header);
    if (!token) return res.status(401).type('text').send('no Gatehouse assertion\n');
    try {
      const { payload } = await jwtVerify(token, keys, { issuer: audience, audience, algorithms: ['ES256'] });
      req.guest = { email: String(payload.email), groups: Array.isArray(payload.groups) ? payload.groups.map(String) : [], amr: payload.amr };
      return next();
    } catch (error) {
      // Another key, another audience, expired, malformed: never trust the request.
      return res.status(401).type('text').send(`invalid Gatehouse assertion: ${error.code ?? error.name}\n`);
    }
  };
}

/** The example app: every page says who the verified guest is. */
export function createApp(options) {
  const app = express();
  app.disable('x-powered-by');
  app.use(requireGatehouseIdentity(options));
  app.use((req, res) => {
    res.set('cache-control', 'no-store').json({ email: req.guest.email, groups: req.guest.groups, path: req.originalUrl, method: req.method });
  });
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { GATEHOUSE_JWKS_URL, APP_ORIGIN, PORT = '3000' } = process.env;
  if (!GATEHOUSE_JWKS_URL || !APP_ORIGIN) {
    console.error('set GATEHOUSE_JWKS_URL (the gateway\'s /.gatehouse/jwks.json) and APP_ORIGIN (the route\'s external origin)');
    process.exit(2);
  }
  createApp({ jwksUrl: GATEHOUSE_JWKS_URL, audience: APP_ORIGIN }).listen(Number(PORT), () => console.log(`verifying Gatehouse assertions on :${PORT}`));
}
