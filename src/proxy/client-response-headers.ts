/**
 * The header block the client receives from an upstream response, built in one pass over the
 * headers exactly as the upstream sent them (names in their own spelling, repeated lines
 * kept): hop-by-hop headers and every name `Connection` lists out (RFC 9110 section 7.6.1),
 * Location and Set-Cookie rewritten from the upstream's origin to the external one.
 *
 * `Transfer-Encoding: chunked` describes the upstream connection only: Node frames the
 * client's response itself (chunked for HTTP/1.1, close-delimited for HTTP/1.0).
 */
import { rewriteLocation, rewriteSetCookie, type ResponseRewriteRule } from './response-rewrite.js';
import { addConnectionListedNames, removeNamedHeaders } from './connection-header.js';

const enum Rule {
  Drop = 1,
  Connection,
  TransferEncoding,
  Location,
  SetCookie,
}

const RULES = new Map<string, Rule>([
  ['connection', Rule.Connection],
  ['keep-alive', Rule.Drop],
  ['proxy-connection', Rule.Drop],
  ['trailer', Rule.Drop],
  ['upgrade', Rule.Drop],
  ['proxy-authenticate', Rule.Drop],
  ['transfer-encoding', Rule.TransferEncoding],
  ['location', Rule.Location],
  ['set-cookie', Rule.SetCookie],
]);

/** `[name, value, ...]` for `res.writeHead`, from the upstream response's raw headers. */
export function buildClientResponseHeaders(raw: readonly string[], rule: ResponseRewriteRule): string[] {
  const out: string[] = [];
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    switch (RULES.get(name.toLowerCase())) {
      case undefined:
        out.push(name, value);
        continue;
      case Rule.Drop:
        continue;
      case Rule.Connection:
        listed = addConnectionListedNames(value, listed);
        continue;
      case Rule.TransferEncoding:
        if (value.length !== 7 || value.toLowerCase() !== 'chunked') out.push(name, value);
        continue;
      case Rule.Location:
        out.push(name, rewriteLocation(value, rule));
        continue;
      case Rule.SetCookie:
        out.push(name, rewriteSetCookie(value, rule));
        continue;
    }
  }
  if (listed !== undefined) removeNamedHeaders(out, listed);
  return out;
}
