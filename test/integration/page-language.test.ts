/**
 * The language of the gateway's answers: the browser's Accept-Language picks the catalogue,
 * `branding.language` overrides it, and API clients keep the English JSON.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, startGateway } from '../helpers/servers.js';
import { unusedLoopbackPort } from '../helpers/ports.js';

async function gatewayWith(branding: string) {
  const deadPort = await unusedLoopbackPort();
  return startGateway(`
branding:
${branding}
routes:
  - name: app
    title: Team Wiki
    from: http://app.test/
    to: http://127.0.0.1:${deadPort}
    allow: ["*@example.com"]
    public: ["/open/**"]
`);
}

test('Accept-Language picks the page language; html lang and Content-Language say which', async (t) => {
  const gw = await gatewayWith('  product_name: Gatehouse');
  t.after(() => gw.close());
  for (const [acceptLanguage, language, heading] of [
    ['de-AT,de;q=0.9', 'de', 'Bei Team Wiki anmelden'],
    ['fr-BE', 'fr', 'Se connecter à Team Wiki'],
    ['pt-BR,pt;q=0.9', 'en', 'Sign in to Team Wiki'],
  ] as const) {
    const page = await request(gw.port, { path: '/.gatehouse/login?rd=%2F', headers: { host: 'app.test', accept: 'text/html', 'accept-language': acceptLanguage } });
    assert.equal(page.status, 200);
    assert.match(page.text(), new RegExp(`<html lang="${language}">`));
    assert.equal(page.headers['content-language'], language);
    assert.match(page.text(), new RegExp(`<h1>${heading}</h1>`));
  }
  const unreachable = await request(gw.port, { path: '/open/x', headers: { host: 'app.test', accept: 'text/html', 'accept-language': 'de' } });
  assert.equal(unreachable.status, 502);
  assert.match(unreachable.text(), /<h1>Die Anwendung ist nicht erreichbar<\/h1>/);
  const api = await request(gw.port, { path: '/open/x', headers: { host: 'app.test', 'accept-language': 'de' } });
  assert.equal(api.json<{ message: string }>().message, 'The application behind this address could not be reached. Try again in a moment.');
});

test('branding.language overrides the browser, and branding.title replaces the sign-in heading', async (t) => {
  const gw = await gatewayWith('  language: fr\n  title: Portail des partenaires');
  t.after(() => gw.close());
  const page = await request(gw.port, { path: '/.gatehouse/login', headers: { host: 'app.test', accept: 'text/html', 'accept-language': 'de-DE' } });
  assert.match(page.text(), /<html lang="fr">/);
  assert.match(page.text(), /<h1>Portail des partenaires<\/h1>/);
  assert.match(page.text(), /Adresse e-mail/);
});
