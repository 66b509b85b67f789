/**
 * A software WebAuthn authenticator for integration tests that need a passkey without a
 * browser: it makes a P-256 key pair per credential and answers the gateway's options with
 * exactly the JSON a browser's `navigator.credentials` gives @simplewebauthn/browser
 * (attestation "none", user present and verified). The browser tests use Chromium's own
 * virtual authenticator; this one lets a test be the attacker, or skip the browser where
 * the point is the gateway's answer (step-up JSON, forward-auth, the assertion's amr).
 *
 * `synced: true` behaves like a synced passkey (iCloud Keychain, Google Password Manager):
 * its signature counter stays 0, so only the gateway's one-use challenges stop a replay.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

interface Credential {
  readonly id: Buffer;
  readonly privateKey: KeyObject;
  readonly userHandle: string;
  counter: number;
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

function clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
}

export interface SoftAuthenticator {
  /** Answers `options` (PublicKeyCredentialCreationOptionsJSON) as `origin`; keeps the new credential. */
  register(options: { challenge: string; rp: { id?: string }; user: { id: string } }, origin: string): Record<string, unknown>;
  /** Answers `options` (PublicKeyCredentialRequestOptionsJSON) as `origin`, with its newest credential. */
  authenticate(options: { challenge: string; rpId?: string }, origin: string): Record<string, unknown>;
}

export function createSoftAuthenticator(settings: { synced?: boolean } = {}): SoftAuthenticator {
  const credentials: Credential[] = [];
  const counterBytes = (credential: Credential) => {
    const bytes = Buffer.alloc(4);
    if (!settings.synced) credential.counter += 1;
    bytes.writeUInt32BE(credential.counter);
    return bytes;
  };
  // UP | UV, and for a synced passkey BE | BS (backup eligible, backed up).
  const flags = (attested: boolean) => 0x01 | 0x04 | (settings.synced ? 0x08 | 0x10 : 0) | (attested ? 0x40 : 0);

  return {
    register(options, origin) {
      const rpId = options.rp.id ?? new URL(origin).hostname;
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = publicKey.export({ format: 'jwk' });
      const credential: Credential = { id: randomBytes(16), privateKey, userHandle: options.user.id, counter: 0 };
      const cose = isoCBOR.encode(
        new Map<number, number | Uint8Array>([
          [1, 2],
          [3, -7],
          [-1, 1],
          [-2, Buffer.from(jwk.x!, 'base64url')],
          [-3, Buffer.from(jwk.y!, 'base64url')],
        ]),
      );
      const idLength = Buffer.alloc(2);
      idLength.writeUInt16BE(credential.id.length);
      const authData = Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.from([flags(true)]), counterBytes(credential), Buffer.alloc(16), idLength, credential.id, Buffer.from(cose)]);
      const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]) as never);
      credentials.push(credential);
      return {
        id: b64url(credential.id),
        rawId: b64url(credential.id),
        type: 'public-key',
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
        response: { clientDataJSON: b64url(clientData('webauthn.create', options.challenge, origin)), attestationObject: b64url(attestationObject), transports: ['internal'] },
      };
    },

    authenticate(options, origin) {
      const credential = credentials.at(-1);
      if (!credential) throw new Error('the soft authenticator holds no credential');
      const rpId = options.rpId ?? new URL(origin).hostname;
      const authData = Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.from([flags(false)]), counterBytes(credential)]);
      const data = clientData('webauthn.get', options.challenge, origin);
      const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(data).digest()]), credential.privateKey);
      return {
        id: b64url(credential.id),
        rawId: b64url(credential.id),
        type: 'public-key',
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
        response: { clientDataJSON: b64url(data), authenticatorData: b64url(authData), signature: b64url(signature), userHandle: credential.userHandle },
      };
    },
  };
}
