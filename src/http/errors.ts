/**
 * The one table of errors the gateway answers itself: a stable `code` (documented in the
 * README's "Error codes" table, kept true by a test), the HTTP status and the English
 * `message` of the JSON answer. Pages take their words from the catalogues (src/i18n,
 * `errors.<code>`). Logs get the detail; users get the text and a request id, never
 * internal addresses.
 */
export const GATEWAY_ERRORS = {
  bad_request: { status: 400, message: 'The address of this request is not valid.' },
  unknown_route: { status: 404, message: 'There is no application at this address.' },
  request_timeout: { status: 408, message: 'The form took too long to arrive.' },
  unauthenticated: { status: 401, message: 'You need to sign in to use this application.' },
  forbidden: { status: 403, message: 'The address you signed in with may not use this application.' },
  passkey_required: { status: 401, message: 'This application needs a sign-in with a passkey.' },
  passkey_refused: { status: 400, message: 'The passkey could not be used here.' },
  passkey_not_allowed: { status: 403, message: 'This session may not add or remove passkeys now.' },
  forward_auth_untrusted: { status: 403, message: 'Only a proxy listed in trust_proxy may ask the gateway about a request.' },
  websockets_disabled: { status: 403, message: 'This application does not accept WebSocket connections here.' },
  cross_site_websocket: { status: 403, message: 'A WebSocket may only be opened from the application itself.' },
  upstream_unreachable: { status: 502, message: 'The application behind this address could not be reached. Try again in a moment.' },
  upstream_timeout: { status: 504, message: 'The application did not answer in time. Try again in a moment.' },
  store_unavailable: { status: 503, message: 'Sign-in is unavailable right now. Try again in a moment.' },
  shutting_down: { status: 503, message: 'The gateway is restarting. Try again in a moment.' },
  internal: { status: 500, message: 'The gateway could not handle this request.' },
} as const;

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;
