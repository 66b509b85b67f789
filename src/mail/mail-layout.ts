/**
 * What every mail the gateway sends shares: the HTML frame (inline styles only: mail clients
 * drop stylesheets; no remote images, no tracking) and the headers that keep
 * auto-responders quiet.
 */
import { escapeHtml } from '../http/html.js';

/** Wraps trusted body HTML (built from escaped parts) in the mail's HTML document. */
export function renderMailHtml(subject: string, bodyHtml: string): string {
  return `<!doctype html>
<html lang="en">
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
