/**
 * The names and attributes of the gateway's cookies (SPEC sections 2 and 4). The session
 * cookie is `__Host-<name>` when `secure: true` and no domain is set: the prefix makes
 * browsers refuse it unless it is Secure, host-only and Path=/, so a sibling subdomain or a
 * plain-http page cannot plant one (cookie tossing / session fixation).
 */
import type { GatewayConfig } from '../config/schema.js';

export type CookieConfig = GatewayConfig['session']['cookie'];

export interface GatewayCookieNames {
  /** The signed session id. */
  readonly session: string;
  /** The CSRF double-submit value of the sign-in forms. */
  readonly csrf: string;
  /** Binds a pending sign-in code to the browser that asked for it. */
  readonly flow: string;
  /** All of them, for removal from the Cookie header sent upstream. */
  readonly all: ReadonlySet<string>;
}

export function gatewayCookieNames(cookie: CookieConfig): GatewayCookieNames {
  const prefix = cookie.secure === true && cookie.domain === '' ? '__Host-' : '';
  const session = `${prefix}${cookie.name}`;
  const csrf = `${prefix}${cookie.name}_csrf`;
  const flow = `${prefix}${cookie.name}_flow`;
  return { session, csrf, flow, all: new Set([session, csrf, flow, cookie.name, `${cookie.name}_csrf`, `${cookie.name}_flow`]) };
}

/** Whether a cookie set in answer to this request carries `Secure`. */
export function cookieIsSecure(cookie: CookieConfig, requestProtocol: 'http' | 'https'): boolean {
  return cookie.secure === 'auto' ? requestProtocol === 'https' : cookie.secure;
}
