/**
 * One-time codes: made with a CSPRNG, stored only as a keyed hash, compared in constant
 * time (SPEC section 4).
 */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

/** A uniformly random code of `digits` decimal digits (leading zeros kept). */
export function generateOneTimeCode(digits: number, random: (max: number) => number = randomInt): string {
  let code = '';
  for (let i = 0; i < digits; i += 1) code += String(random(10));
  return code;
}

/**
 * HMAC of the code bound to the sign-in flow (the browser) and the address. A stolen store
 * dump does not reveal codes, and a code is worthless for another browser or address.
 */
export function hashOneTimeCode(secret: string, flowId: string, email: string, code: string): string {
  return createHmac('sha256', secret).update(`${flowId}\n${email}\n${code}`).digest('base64url');
}

/** Constant-time check of `code` against a stored hash, trying every secret (rotation). */
export function oneTimeCodeMatches(secrets: readonly string[], flowId: string, email: string, code: string, storedHash: string): boolean {
  const stored = Buffer.from(storedHash, 'base64url');
  let matched = false;
  for (const secret of secrets) {
    const candidate = Buffer.from(hashOneTimeCode(secret, flowId, email, code), 'base64url');
    // Timing attacks: every secret is tried and compared in constant time, match or not.
    if (candidate.length === stored.length && timingSafeEqual(candidate, stored)) matched = true;
  }
  return matched;
}

/** Accepts what people type: spaces and dashes are ignored. Undefined when not `digits` digits. */
export function cleanTypedCode(input: string, digits: number): string | undefined {
  const cleaned = input.replace(/[\s-]/g, '');
  return cleaned.length === digits && /^\d+$/.test(cleaned) ? cleaned : undefined;
}
