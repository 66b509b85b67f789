/**
 * The stylesheet of the gateway pages, served at /.gatehouse/assets/gatehouse.css (kept in
 * code so builds need no asset copying). Light and dark follow `prefers-color-scheme`; the
 * brand colours come from brand.css (brand-colors.ts keeps them readable). On a phone the
 * card fills the screen. Every text colour here meets WCAG 4.5:1 on its background.
 */
export const GATEWAY_STYLESHEET = `
:root {
  color-scheme: light dark;
  --bg: #f3f4f6;
  --card: #ffffff;
  --text: #111827;
  --muted: #4b5563;
  --line: #e5e7eb;
  --field: #ffffff;
  --field-line: #6b7280;
  --error: #b91c1c;
  --error-bg: #fef2f2;
  --notice-bg: #eff6ff;
  --brand: #2563eb;
  --on-brand: #ffffff;
  --link: var(--link-light, #1d4ed8);
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111827;
    --card: #1f2937;
    --text: #f9fafb;
    --muted: #d1d5db;
    --line: #374151;
    --field: #111827;
    --field-line: #9ca3af;
    --error: #fca5a5;
    --error-bg: #3b1219;
    --notice-bg: #172a46;
    --link: var(--link-dark, #93c5fd);
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0;
  min-height: 100vh;
  display: flex;
  flex-direction: column;
  align-items: center;
  justify-content: center;
  padding: 2rem 1rem;
  background: var(--bg);
  color: var(--text);
  font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main {
  width: 100%;
  max-width: 27rem;
  background: var(--card);
  border-radius: 1rem;
  box-shadow: 0 1px 2px rgba(0, 0, 0, 0.06), 0 8px 24px rgba(0, 0, 0, 0.08);
  padding: 2rem;
}
main.wide { max-width: 56rem; }
.brand { display: flex; align-items: center; gap: 0.5rem; margin: 0 0 1.75rem; font-weight: 600; color: var(--muted); }
.brand img { max-height: 2rem; max-width: 10rem; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 0.75rem; overflow-wrap: anywhere; }
h2 { font-size: 1.125rem; margin: 1.5rem 0 0.5rem; }
p { margin: 0 0 1rem; }
strong { overflow-wrap: anywhere; }
.lead, .help { color: var(--muted); }
.help { font-size: 0.9375rem; }
a { color: var(--link); text-underline-offset: 0.15em; }
:focus-visible { outline: 3px solid var(--link); outline-offset: 2px; }
form { display: flex; flex-direction: column; gap: 0.5rem; margin: 0 0 1rem; }
label { font-weight: 600; }
.hint { color: var(--muted); font-size: 0.875rem; margin: -0.25rem 0 0; }
input[type=email], input[type=text] {
  font: inherit;
  font-size: 1.0625rem;
  padding: 0.75rem 0.875rem;
  border: 1px solid var(--field-line);
  border-radius: 0.5rem;
  width: 100%;
  background: var(--field);
  color: var(--text);
}
input[aria-invalid=true] { border: 2px solid var(--error); }
/* Large, spaced digits; smaller on a narrow phone, so ten digits still fit in 360 px. */
input.code {
  font: 600 clamp(1.25rem, 6.5vw, 1.75rem)/1.2 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  letter-spacing: 0.4em;
  text-align: center;
  padding: 0.75rem 0 0.75rem 0.4em;
}
button, .button {
  display: block;
  width: 100%;
  font: inherit;
  font-weight: 600;
  padding: 0.75rem 1rem;
  border: 2px solid transparent;
  border-radius: 0.5rem;
  background: var(--brand);
  color: var(--on-brand);
  text-decoration: none;
  text-align: center;
  cursor: pointer;
  margin-top: 0.5rem;
}
button.secondary, .button.secondary { background: transparent; color: var(--link); border-color: var(--field-line); }
.error { color: var(--error); font-weight: 600; margin: 0; }
.alert { background: var(--error-bg); border-left: 4px solid var(--error); border-radius: 0.5rem; padding: 0.75rem 1rem; margin: 0 0 1rem; }
.alert p { margin: 0; }
.notice { background: var(--notice-bg); border-radius: 0.5rem; padding: 0.75rem 1rem; }
.resend { margin-top: 1.5rem; padding-top: 1rem; border-top: 1px solid var(--line); }
.resend p { color: var(--muted); font-size: 0.9375rem; margin: 0.75rem 0 0; }
.status { font-size: 0.875rem; color: var(--muted); border-top: 1px solid var(--line); padding-top: 1rem; margin: 1.5rem 0 0; }
code, .request-id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.875rem; overflow-wrap: anywhere; }
table { width: 100%; border-collapse: collapse; font-size: 0.875rem; }
th, td { text-align: left; padding: 0.375rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
th { white-space: nowrap; }
/* The guest's page: one card per session. */
.session-card { border: 1px solid var(--line); border-radius: 0.5rem; padding: 0.75rem 1rem; margin: 0 0 1rem; }
.session-card h2, .session-card h3 { font-size: 1rem; margin: 0 0 0.5rem; }
table.session th { width: 40%; color: var(--muted); font-weight: 600; }
table.session tr:last-child th, table.session tr:last-child td { border-bottom: 0; }
@media (max-width: 30rem) {
  body { padding: 0; justify-content: flex-start; background: var(--card); }
  main { border-radius: 0; box-shadow: none; padding: 1.5rem 1.25rem; }
  /* Tables (whoami) read as name-above-value lists on a phone. */
  th, td { display: block; padding: 0.125rem 0; }
  th { border-bottom: 0; padding-top: 0.5rem; white-space: normal; }
}
`;
