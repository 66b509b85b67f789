/**
 * The one table of errors the gateway answers itself: a stable `code` (documented in the
 * README's "Error codes" table, kept true by a test), the HTTP status and the text a user sees.
 * Logs get the detail; users get this text and a request id, never internal addresses.
 */
export const GATEWAY_ERRORS = {
  bad_request: { status: 400, title: 'Bad request', message: 'The address of this request is not valid.' },
  unknown_route: { status: 404, title: 'Not found', message: 'There is no application at this address.' },
  unauthenticated: { status: 401, title: 'Sign-in required', message: 'You need to sign in to use this application.' },
  forbidden: { status: 403, title: 'No access', message: 'The address you signed in with may not use this application.' },
  websockets_disabled: { status: 403, title: 'WebSockets disabled', message: 'This application does not accept WebSocket connections here.' },
  upstream_unreachable: { status: 502, title: 'Application unavailable', message: 'The application behind this address could not be reached. Try again in a moment.' },
  upstream_timeout: { status: 504, title: 'Application timed out', message: 'The application did not answer in time. Try again in a moment.' },
  store_unavailable: { status: 503, title: 'Temporarily unavailable', message: 'Sign-in is unavailable right now. Try again in a moment.' },
  internal: { status: 500, title: 'Something went wrong', message: 'The gateway could not handle this request.' },
} as const;

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;
