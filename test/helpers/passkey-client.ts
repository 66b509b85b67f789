/**
 * A guest's passkey calls as the gateway's page script makes them (passkey-script.ts), from a
 * FormClient with a software authenticator: for integration tests, not for browser behaviour.
 */
import assert from 'node:assert/strict';
import { postJson, type FormClient } from './form-client.js';
import type { SoftAuthenticator } from './soft-authenticator.js';

/** A CSRF token for `client`, as the page script reads it: the guest's page when signed in, else the sign-in page. */
export async function csrfOf(client: FormClient): Promise<string> {
  const token = (html: string) => /(?:data-csrf|name="csrf" value)="([^"]+)"/.exec(html)?.[1];
  return token((await client.get('/.gatehouse/')).text()) ?? token((await client.get('/.gatehouse/login?rd=/')).text())!;
}

/** Adds a passkey for the signed-in `client`; returns the gateway's answer to the add (or to the options, when refused). */
export async function addPasskey(client: FormClient, device: SoftAuthenticator, name = 'Laptop') {
  const csrf = await csrfOf(client);
  const asked = await postJson(client, '/.gatehouse/passkeys/add/options', { csrf });
  if (asked.status !== 200) return asked;
  const response = device.register(asked.json.options as never, `http://${client.host}`);
  return postJson(client, '/.gatehouse/passkeys/add', { csrf, name, rd: '/.gatehouse/', response });
}

/** Signs `client` in with the device's passkey; returns the answer and the body sent. */
export async function passkeySignIn(client: FormClient, device: SoftAuthenticator, rd = `http://${client.host}/`) {
  const csrf = await csrfOf(client);
  const asked = await postJson(client, '/.gatehouse/passkeys/sign-in/options', { csrf });
  assert.equal(asked.status, 200);
  const body = { csrf, rd, response: device.authenticate(asked.json.options as never, `http://${client.host}`) };
  return { answer: await postJson(client, '/.gatehouse/passkeys/sign-in', body), body };
}
