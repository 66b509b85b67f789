/**
 * English: the reference catalogue. Its shape is the type of every other catalogue, so a
 * missing or extra key in de.ts or fr.ts is a compile error (and test/i18n checks the
 * placeholders match).
 *
 * Texts are plain text: pages escape them, then put values in for `{name}` placeholders
 * (values shown bold on pages are marked so by the page, not here). `{ one, other }` pairs
 * are plural forms chosen with Intl.PluralRules; `{n}` is the number.
 *
 * Wording rule: no page or mail may say or imply whether an address may sign in. Say what
 * happens in general ("codes go only to addresses that have access"), never about this one.
 */
export const en = {
  page: {
    /** The status line of error pages. */
    errorStatus: 'Error {status} · Request ID {id}',
    errorHelp: 'If this keeps happening, send the request ID to whoever gave you this link.',
    tryAgain: 'Try again',
  },
  duration: {
    lessThanAMinute: 'less than a minute',
    seconds: { one: '{n} second', other: '{n} seconds' },
    minutes: { one: '{n} minute', other: '{n} minutes' },
    hours: { one: '{n} hour', other: '{n} hours' },
    days: { one: '{n} day', other: '{n} days' },
  },
  login: {
    title: 'Sign in to {app}',
    lead: 'Enter your email address and we will email you a code to sign in. You need no password.',
    emailLabel: 'Email address',
    submit: 'Send code',
    help: 'Use the address you were given access with.',
    otherBrowser: 'A code works only in the browser that asked for it. To sign in here, enter your email address.',
    codeGone: 'Your sign-in has run out. Enter your email address to get a new code.',
  },
  emailProblem: {
    empty: 'Enter your email address.',
    repeated: 'Enter a single email address.',
    control: 'The email address contains a character that is not allowed.',
    whitespace: 'The email address must not contain spaces.',
    tooLong: 'The email address is too long: at most 254 characters.',
    atSign: 'An email address has exactly one @, like name@example.com.',
    localPart: 'The part before the @ must be a plain address, without quotes, commas, brackets or spaces.',
    domain: 'The part after the @ must be a domain name, like example.com.',
  },
  code: {
    title: 'Check your email',
    sentTo: 'Enter the code we emailed to {email}.',
    validFor: 'The code is valid for {duration}.',
    label: 'Sign-in code',
    hint: 'The {digits}-digit code from the email',
    submit: 'Sign in',
    help: 'No email? It can take a minute; check your spam folder too. Codes go only to addresses that have access to {app}: if yours should, ask whoever invited you.',
    resend: 'Send a new code',
    resendWait: 'You can ask for a new code in {duration}.',
    resent: 'We sent a new code. Only the newest code works.',
    tooSoon: 'A code was sent moments ago. Wait a little before asking for another.',
    otherAddress: 'Use a different email address',
    wrong: { one: 'That code is not right. You have 1 more try.', other: 'That code is not right. You have {n} more tries.' },
    format: 'Enter the {digits}-digit code from the email.',
    noCodeYet: 'A code for {email} was asked for moments ago, in another window or browser. To sign in with this browser, ask for a new one here.',
  },
  codeState: {
    expiredTitle: 'This code has expired',
    expired: 'Codes work for {duration} after they are sent. Ask for a new one; it goes to {email}.',
    usedTitle: 'This code was already used',
    used: 'Each code signs you in once. To sign in again, ask for a new one; it goes to {email}.',
    deadTitle: 'Too many wrong tries for this code',
    dead: 'For your security this code no longer works. Ask for a new one; it goes to {email}.',
    lockedTitle: 'Sign-in is paused for this address',
    locked: 'Too many wrong codes were entered for {email}. For your security no code works for it for the next {duration}. Then ask for a new one.',
    clientLockedTitle: 'Sign-in is paused for your network',
    clientLocked: 'Too many wrong codes were entered from your network. For your security no code typed from here is accepted for the next {duration}.',
  },
  signedIn: {
    title: 'You are signed in',
    body: 'You are signed in to {app} as {email}.',
    continue: 'Continue to {app}',
    switch: 'Use a different email address',
  },
  forbidden: {
    title: 'No access to {app}',
    body: 'You are signed in as {email}, and this address has no access to {app}.',
    help: 'If it should, ask whoever shared the link with you. Or sign in with another address.',
    switch: 'Sign in with another address',
  },
  signedOut: {
    title: 'You are signed out',
    body: 'Your session has ended. To use {app} again, sign in with a new code.',
    again: 'Sign in again',
  },
  tooManyRequests: {
    title: 'Too many requests',
    body: 'Too many codes were asked for. Wait {duration}, then try again.',
    back: 'Back to sign-in',
  },
  formRejected: {
    title: 'This page has expired',
    body: 'For your security the form could not be accepted: it was open for a long time, or it was sent from another site. Please start again.',
    back: 'Start again',
  },
  errors: {
    bad_request: { title: 'This web address is not valid', message: 'The link you followed has characters that are not allowed. Check it and try again.' },
    unknown_route: { title: 'Page not found', message: 'There is no app at this address. Check the link you followed.' },
    request_timeout: { title: 'The form took too long', message: 'The form did not arrive in time. Please send it again.' },
    unauthenticated: { title: 'Sign-in required', message: 'You need to sign in to use this app.' },
    forbidden: { title: 'No access', message: 'Your address has no access to this app.' },
    websockets_disabled: { title: 'Live connections are off', message: 'This app does not accept live (WebSocket) connections here.' },
    forward_auth_untrusted: { title: 'Not a trusted proxy', message: 'Only a proxy the gateway trusts may ask it whether a request may pass.' },
    cross_site_websocket: { title: 'Not from this app', message: 'A live connection to this app may only be opened by the app itself.' },
    upstream_unreachable: { title: 'The app is not available', message: 'The app behind this address could not be reached. Try again in a moment.' },
    upstream_timeout: { title: 'The app did not answer in time', message: 'The app behind this address took too long to answer. Try again in a moment.' },
    store_unavailable: { title: 'Sign-in is unavailable', message: 'Sign-in is not working right now. Try again in a moment.' },
    shutting_down: { title: 'Restarting', message: 'The gateway is restarting. Try again in a moment.' },
    internal: { title: 'Something went wrong', message: 'This request could not be handled. Try again in a moment.' },
  },
  mail: {
    subject: '{code} is your sign-in code for {app}',
    intro: 'Your code to sign in to {app}:',
    validity: 'It is valid for {duration}, until {time}.',
    enter: 'Type it on the page where you asked for it.',
    openPage: 'Back to the sign-in page',
    never: 'Never give this code to anyone: not on the phone, in a chat or by email, not even to someone who says they are from {app} or from support. Whoever has it can sign in as you.',
    requestHeading: 'Who asked for this code',
    site: 'Site',
    app: 'App',
    when: 'When',
    browser: 'Browser',
    address: 'IP address',
    browserOn: '{browser} on {os}',
    unknownBrowser: 'Unknown browser',
    notYou: 'Not you? Ignore this email. Without the code nobody can sign in as you.',
  },
  invitation: {
    subject: '{inviter} invited you to {app}',
    body: '{inviter} invited you to {app}.',
    note: 'Note from {inviter}:',
    open: 'Open {app}',
    howToSignIn: 'To sign in, open the link and enter this address ({email}). We will email you a one-time code; you need no password.',
    validUntil: 'The invitation is valid until {time}.',
    noExpiry: 'The invitation does not expire.',
    ignore: 'If you did not expect this invitation, you can ignore this email: nobody can sign in as you without this inbox.',
    someone: 'Someone',
  },
};
