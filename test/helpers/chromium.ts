/**
 * Headless Chromium for the end-to-end tests: Debian's `chromium` at /usr/bin/chromium,
 * driven by playwright-core (never a downloaded browser). Without it the browser tests are
 * skipped with a visible notice, except under CI, where that is a failure.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type BrowserContextOptions } from 'playwright-core';

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

export interface TestBrowser {
  /** A new browser profile (cookies, storage) of its own, like a different person's browser. */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  close(): Promise<void>;
}

/**
 * Starts Chromium. Each `newContext` is a fresh persistent profile in its own new
 * user-data dir; `close` closes them all and removes the dirs.
 */
export function launchChromium(): TestBrowser {
  const contexts = new Set<BrowserContext>();
  const dirs: string[] = [];
  return {
    async newContext(options = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));
      dirs.push(dir);
      const context = await chromium.launchPersistentContext(dir, {
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: CHROMIUM_FLAGS,
        viewport: { width: 1280, height: 800 },
        locale: 'en-US',
        ...options,
      });
      // A page that never shows what a test waits for fails in seconds, not at the test timeout.
      context.setDefaultTimeout(10_000);
      contexts.add(context);
      context.on('close', () => contexts.delete(context));
      return context;
    },
    async close() {
      await Promise.all([...contexts].map((context) => context.close()));
      // Chromium may still be writing its profile as it exits: retry for a moment.
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}
