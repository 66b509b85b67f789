/**
 * The pages a guest sees while signing in: email form, code form, access denied, signed
 * out, too many attempts. Server-rendered, no JavaScript, labelled fields, errors announced
 * with role="alert" and tied to their field. Every value goes through escapeHtml.
 */
import { escapeHtml } from '../html.js';
import { renderPage, type Branding } from '../pages.js';

export interface FormContext {
  readonly branding: Branding;
  readonly csrfToken: string;
  /** Where to go after signing in (already validated). */
  readonly returnTo: string;
}

function hiddenFields(form: FormContext): string {
  return `<input type="hidden" name="csrf" value="${escapeHtml(form.csrfToken)}">
<input type="hidden" name="rd" value="${escapeHtml(form.returnTo)}">`;
}

function errorBlock(id: string, message: string | undefined): string {
  return message ? `<p class="error" id="${id}" role="alert">${escapeHtml(message)}</p>` : '';
}

function loginHref(returnTo: string): string {
  return `/.gatehouse/login?rd=${encodeURIComponent(returnTo)}`;
}

/** The email form. `error` explains what was wrong with the last submission. */
export function renderLoginPage(form: FormContext, options: { email?: string; error?: string; notice?: string } = {}): string {
  const describedBy = options.error ? ' aria-describedby="email-error" aria-invalid="true"' : '';
  return renderPage(form.branding, {
    title: form.branding.title || 'Sign in',
    bodyHtml: `<h1>${escapeHtml(form.branding.title || 'Sign in')}</h1>
<p>Enter your email address. We will send you a one-time code to sign in.</p>
${options.notice ? `<p class="notice" role="status">${escapeHtml(options.notice)}</p>` : ''}
<form method="post" action="/.gatehouse/login" novalidate>
${hiddenFields(form)}
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="email" inputmode="email" required autofocus
 value="${escapeHtml(options.email ?? '')}"${describedBy}>
${errorBlock('email-error', options.error)}
<button type="submit">Send code</button>
</form>`,
  });
}

/** The code form, shown the same way whether or not the address may sign in. */
export function renderCodePage(
  form: FormContext,
  options: { email: string; digits: number; expiresInMinutes: number; error?: string; notice?: string },
): string {
  const describedBy = options.error ? ' aria-describedby="code-error" aria-invalid="true"' : '';
  return renderPage(form.branding, {
    title: 'Enter your code',
    bodyHtml: `<h1>Check your email</h1>
<p>If <strong>${escapeHtml(options.email)}</strong> may sign in here, a ${options.digits}-digit code is on its way.
It is valid for ${options.expiresInMinutes} minutes.</p>
${options.notice ? `<p class="notice" role="status">${escapeHtml(options.notice)}</p>` : ''}
<form method="post" action="/.gatehouse/verify" novalidate>
${hiddenFields(form)}
<label for="code">Code</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 -]*"
 maxlength="${options.digits + 4}" required autofocus${describedBy}>
${errorBlock('code-error', options.error)}
<button type="submit">Sign in</button>
</form>
<p class="secondary"><a href="${escapeHtml(loginHref(form.returnTo))}">Use a different address or get a new code</a></p>`,
  });
}

/** Signed in, but this address may not use this app. */
export function renderForbiddenPage(branding: Branding, options: { email: string; routeName: string; returnTo: string; requestId: string }): string {
  const switchHref = `/.gatehouse/logout?rd=${encodeURIComponent(options.returnTo)}`;
  return renderPage(branding, {
    title: 'No access',
    bodyHtml: `<h1>No access</h1>
<p>You are signed in as <strong>${escapeHtml(options.email)}</strong>, which may not use this application.</p>
<p><a class="button" href="${escapeHtml(switchHref)}">Sign out and use another address</a></p>
<p class="status">Error 403 · request id <span class="request-id">${escapeHtml(options.requestId)}</span></p>`,
  });
}

/** After sign-out. */
export function renderSignedOutPage(branding: Branding, returnTo: string): string {
  return renderPage(branding, {
    title: 'Signed out',
    bodyHtml: `<h1>You are signed out</h1>
<p>Your session has ended.</p>
<p><a class="button" href="${escapeHtml(loginHref(returnTo))}">Sign in again</a></p>`,
  });
}

/** Over a rate limit. The same page for every address: it never says whether one is allowed. */
export function renderTooManyRequestsPage(branding: Branding, options: { retryAfterSeconds: number; returnTo: string }): string {
  const minutes = Math.ceil(options.retryAfterSeconds / 60);
  return renderPage(branding, {
    title: 'Too many attempts',
    bodyHtml: `<h1>Too many attempts</h1>
<p>Please wait ${minutes} minute${minutes === 1 ? '' : 's'} before trying again.</p>
<p><a href="${escapeHtml(loginHref(options.returnTo))}">Back to sign-in</a></p>`,
  });
}

/** A form that failed the cross-site checks. */
export function renderFormRejectedPage(branding: Branding, returnTo: string): string {
  return renderPage(branding, {
    title: 'Form expired',
    bodyHtml: `<h1>This form has expired</h1>
<p>For your security the form could not be accepted. Please start again.</p>
<p><a class="button" href="${escapeHtml(loginHref(returnTo))}">Back to sign-in</a></p>`,
  });
}
