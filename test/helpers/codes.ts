/** Sign-in codes in tests: finding one in a mail, and a wrong one of the same length. */

/** A code in a mail's text (6 to 10 digits, as `otp.digits` allows). */
export const CODE_IN_TEXT = /\b(\d{6,10})\b/;

/** A code of the same length that is surely wrong: every digit moved by one. */
export function wrongCode(code: string): string {
  return code.replace(/\d/g, (digit) => String((Number(digit) + 1) % 10));
}
