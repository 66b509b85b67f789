/** The stylesheet of the gateway pages, served at /.gatehouse/assets/gatehouse.css (kept in code so builds need no asset copying). */
export const GATEWAY_STYLESHEET = `
:root {
  --brand: #2563eb;
  --text: #111827;
  --muted: #4b5563;
  --bg: #f3f4f6;
  --card: #ffffff;
  color-scheme: light;
}
* { box-sizing: border-box; }
body {
  margin: 0;
  min-height: 100vh;
  display: flex;
  align-items: center;
  justify-content: center;
  padding: 1.5rem;
  background: var(--bg);
  color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
main {
  width: 100%;
  max-width: 28rem;
  background: var(--card);
  border-radius: 0.75rem;
  box-shadow: 0 1px 3px rgba(0, 0, 0, 0.12);
  padding: 2rem;
}
.brand { display: flex; align-items: center; gap: 0.5rem; margin-bottom: 1.5rem; font-weight: 600; color: var(--muted); }
.brand img { max-height: 2rem; }
h1 { font-size: 1.5rem; margin: 0 0 0.75rem; }
p { margin: 0 0 1rem; color: var(--muted); }
.status { font-size: 0.875rem; color: var(--muted); }
code, .request-id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.875rem; }
a { color: var(--brand); }
a:focus-visible, button:focus-visible, input:focus-visible { outline: 3px solid var(--brand); outline-offset: 2px; }
table { width: 100%; border-collapse: collapse; font-size: 0.875rem; }
th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid #e5e7eb; vertical-align: top; word-break: break-all; }
th { white-space: nowrap; word-break: normal; }
main.wide { max-width: 56rem; }
form { display: flex; flex-direction: column; gap: 0.5rem; margin-bottom: 1rem; }
label { font-weight: 600; }
input[type=email], input[type=text] {
  font: inherit; padding: 0.625rem 0.75rem; border: 1px solid #6b7280; border-radius: 0.5rem; width: 100%;
}
input[aria-invalid=true] { border-color: #b91c1c; }
input#code { font-size: 1.5rem; letter-spacing: 0.3em; text-align: center; }
button, .button {
  display: inline-block; font: inherit; font-weight: 600; padding: 0.625rem 1rem; border: 0; border-radius: 0.5rem;
  background: var(--brand); color: #fff; text-decoration: none; text-align: center; cursor: pointer; margin-top: 0.5rem;
}
.error { color: #b91c1c; margin: 0; }
.notice { background: #eff6ff; border-radius: 0.5rem; padding: 0.5rem 0.75rem; color: var(--text); }
.secondary { font-size: 0.875rem; }
`;
