/**
 * What every mail the gateway sends shares: the HTML frame (inline styles only: mail clients
 * drop stylesheets; no remote images, no tracking), the styles of its parts, and the headers
 * that keep auto-responders quiet.
 */
import { escapeHtml } from '../lib/html.js';
import type { Language } from '../i18n/languages.js';

/** Inline styles of the mail parts (one place, so every mail looks the same). */
export const MAIL_STYLES = {
  paragraph: 'margin:0 0 16px',
  code: 'margin:0 0 16px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:32px;font-weight:700;letter-spacing:6px',
  warning: 'margin:0 0 16px;padding:12px 16px;background:#fef2f2;border-left:4px solid #b91c1c;border-radius:4px',
  heading: 'margin:24px 0 8px;font-weight:700',
  table: 'border-collapse:collapse;margin:0 0 16px;font-size:14px',
  label: 'padding:2px 16px 2px 0;color:#52525b;vertical-align:top;white-space:nowrap',
  value: 'padding:2px 0;vertical-align:top;word-break:break-all',
  link: 'color:#1d4ed8',
  button: 'display:inline-block;padding:10px 16px;background:#2563eb;color:#ffffff;border-radius:6px;text-decoration:none',
  quote: 'margin:0 0 16px;padding:8px 12px;border-left:3px solid #d4d4d8;white-space:pre-line',
  small: 'margin:0;color:#52525b;font-size:14px',
} as const;

/** Wraps trusted body HTML (built from escaped parts) in the mail's HTML document. */
export function renderMailHtml(language: Language, subject: string, bodyHtml: string): string {
  return `<!doctype html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(subject)}</title>
</head>
<body style="margin:0;padding:24px;background:#f4f4f5;color:#18181b;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5">
<div style="max-width:480px;margin:0 auto;background:#ffffff;border-radius:8px;padding:32px">
${bodyHtml}
</div>
</body>
</html>
`;
}

/** Headers for machine-sent mail. */
export const AUTOMATED_MAIL_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  // RFC 3834: marks the mail as machine-sent so vacation responders do not answer it
  // (and two auto-responders cannot ping-pong through our no-reply address).
  'Auto-Submitted': 'auto-generated',
  // The same for Microsoft Exchange, which ignores Auto-Submitted.
  'X-Auto-Response-Suppress': 'All',
});
