/**
 * Who may add and remove passkeys (SPEC section 7). A passkey is what `require: passkey`
 * routes trust more than an inbox, so managing them must not be open to someone who holds
 * only the inbox (or a code session taken from a browser):
 *
 * - Adding needs a sign-in by code in the last {@link ADD_WITHIN_MS}: the address is proven now.
 * - The first passkey of an address is trusted on first use. Once an address has one, adding
 *   another also needs this session to have used a passkey: otherwise whoever reads the mail
 *   could add their own passkey and pass every `require: passkey` route.
 * - Removing one needs a session that used a passkey, for the same reason (remove, then add
 *   one's own as the "first"). A guest who lost every passkey asks ops to remove them
 *   (`gatehouse passkeys remove`), then starts again with a code.
 */
import type { SessionRecord } from '../../session/sessions.js';
import { MAX_PASSKEYS_PER_ADDRESS } from '../../passkeys/passkey-store.js';

/** How recent the code sign-in must be to add a passkey. */
export const ADD_WITHIN_MS = 10 * 60 * 1000;

export type AddRight =
  | 'yes'
  /** The session's code sign-in is older than ADD_WITHIN_MS (or it had none). */
  | 'fresh_code_needed'
  /** The address has a passkey and this session did not use one. */
  | 'passkey_needed'
  | 'too_many';

export function usedPasskey(session: Pick<SessionRecord, 'amr'>): boolean {
  return session.amr.includes('passkey');
}

export function mayAddPasskey(session: Pick<SessionRecord, 'amr' | 'signedInAt'>, passkeysOfAddress: number, now: number): AddRight {
  if (passkeysOfAddress >= MAX_PASSKEYS_PER_ADDRESS) return 'too_many';
  if (!session.amr.includes('otp') || now - session.signedInAt > ADD_WITHIN_MS) return 'fresh_code_needed';
  if (passkeysOfAddress > 0 && !usedPasskey(session)) return 'passkey_needed';
  return 'yes';
}

export function mayRemovePasskey(session: Pick<SessionRecord, 'amr'>): boolean {
  return usedPasskey(session);
}
