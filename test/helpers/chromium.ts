/**
 * Headless Chromium for the end-to-end tests: Debian's `chromium` at /usr/bin/chromium,
 * driven by playwright-core (never a downloaded browser). Without it the browser tests are
 * skipped with a visible notice, except under CI, where that is a failure.
 *
 * One Chromium process per test file, started by Playwright on a fresh temporary user-data
 * dir that it removes at exit; every `newContext` is a profile of its own (cookies, storage,
 * language, screen), as different people's browsers are.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * The flags this machine needs: no sandbox (we run as root), no GPU, and none of the
 * background traffic to Google's hosts that a closed network refuses. `--host-resolver-rules`
 * sends every `*.localhost` name the tests use to the loopback address the gateway listens
 * on, without trying `::1` first.
 */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP *.localhost 127.0.0.1',
];

/** The reason to skip browser tests, or undefined to run them. Throws under CI. */
export function chromiumSkipReason(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  if (process.env.CI) throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}, and CI is set: the browser tests must run`);
  return `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium): browser tests skipped`;
}

export interface ChromiumBrowser {
  /** A new profile (cookies, storage) of its own, like a different person's browser; English and 1280 px unless told. */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** Starts Chromium (lazily, at the first context). */
export function launchChromium(): ChromiumBrowser {
  let browser: Promise<Browser> | undefined;
  return {
    async newContext(options = {}) {
      browser ??= chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS });
      const context = await (await browser).newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', ...options });
      // A page that never shows what a test waits for fails in seconds, not at the test timeout.
      context.setDefaultTimeout(10_000);
      return context;
    },
    async close() {
      if (browser) await (await browser).close();
    },
  };
}
