/**
 * EC P-256 private keys in PEM, the only kind the identity assertion signs with (ES256). A
 * file may hold several keys, each in its own `-----BEGIN … PRIVATE KEY-----` block (PKCS #8,
 * or SEC 1 as `openssl ecparam -genkey` writes it); the first one signs.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Why the text is not a list of P-256 private keys. */
export class EcPrivateKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EcPrivateKeyError';
  }
}

/** The P-256 private keys of a PEM text, in order; throws EcPrivateKeyError saying which block is wrong. */
export function parseEcPrivateKeys(pem: string): KeyObject[] {
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) throw new EcPrivateKeyError('there is no PEM block (expected "-----BEGIN PRIVATE KEY-----"; make one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256)');
  return blocks.map((block, index) => {
    const label = block[1]!;
    const which = blocks.length > 1 ? `block ${index + 1} (${label})` : `the ${label}`;
    if (!label.endsWith('PRIVATE KEY')) throw new EcPrivateKeyError(`${which} is not a private key`);
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: block[0], format: 'pem' });
    } catch {
      throw new EcPrivateKeyError(`${which} cannot be read as a private key (encrypted keys are not supported)`);
    }
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
      throw new EcPrivateKeyError(`${which} is ${key.asymmetricKeyType === 'ec' ? `an EC key on ${curve}` : `an ${key.asymmetricKeyType?.toUpperCase()} key`}; ES256 needs EC P-256 (prime256v1)`);
    }
    return key;
  });
}
