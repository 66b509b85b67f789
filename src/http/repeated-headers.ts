/**
 * Headers that decide where a request goes must be given once. Node keeps the first of two
 * Host lines, or joins other repeats with ", ", while a cache or app behind us might read the
 * last one: two lines could route by one and be read by the app as the other.
 */
import type http from 'node:http';

/** `singleHeaderValue`'s answer for a header given more than once. */
export const REPEATED: unique symbol = Symbol('repeated header');

/**
 * The value of the header `lowerName` as sent, undefined when absent, or REPEATED when it
 * came on more than one line.
 */
export function singleHeaderValue(req: http.IncomingMessage, lowerName: string): string | undefined | typeof REPEATED {
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) {
      if (value !== undefined) return REPEATED;
      value = raw[i + 1]!;
    }
  }
  return value;
}

/** True when the request has more than one Host header line (RFC 9112 section 3.2: answer 400). */
export function hasRepeatedHostHeader(req: http.IncomingMessage): boolean {
  return singleHeaderValue(req, 'host') === REPEATED;
}
