/**
 * Loaded with `--import` into a gateway process under test (never into production): it
 * makes `Date.now` — the gateway's default clock for codes, sessions and limits — run ahead
 * by an offset the test moves over the IPC channel. So a test can let a code expire or a
 * window pass in a real process without sleeping.
 *
 * Message in: `{ type: 'clock.advance', ms }`; answer: `{ type: 'clock.advanced', offsetMs }`.
 */
const realNow = Date.now.bind(Date);
let offsetMs = 0;
Date.now = () => realNow() + offsetMs;

process.on('message', (message: unknown) => {
  const advance = message as { type?: unknown; ms?: unknown };
  if (advance?.type !== 'clock.advance' || typeof advance.ms !== 'number') return;
  offsetMs += advance.ms;
  process.send?.({ type: 'clock.advanced', offsetMs });
});
// The channel must not keep the process alive: SIGTERM must still end it as in production.
process.channel?.unref();
