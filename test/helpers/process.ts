/**
 * Runs the real `gatehouse` command in a child process (through tsx, from source, or the
 * built `bin/gatehouse.js` as users start it), for tests of signals, exit codes and memory.
 * Every process started is killed by `stop`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { HEAP_FLAGS } from '../../src/heap-relaunch.js';

export const CLI_ENTRY = new URL('../../src/run-cli.ts', import.meta.url).pathname;
export const BUILT_COMMAND = new URL('../../bin/gatehouse.js', import.meta.url).pathname;

export interface GatewayProcess {
  readonly child: ChildProcess;
  /** Every JSON log line seen so far. */
  readonly logs: Array<Record<string, unknown>>;
  readonly stderr: () => string;
  /** Resolves with the first log line (past or future) that satisfies `predicate`. */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Moves the process's clock forward (only with `adjustableClock`). */
  advanceClock(ms: number): Promise<void>;
  stop(): Promise<void>;
}

/** Writes `text` to a new temp dir and returns the file path. */
export function writeTempConfig(text: string, name = 'gateway.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const ADJUSTABLE_CLOCK = new URL('./adjustable-clock.ts', import.meta.url).href;

export interface RunOptions {
  /**
   * Run the process with `Date.now` ahead by an offset that `advanceClock` moves (see
   * adjustable-clock.ts): codes expire and windows pass without sleeping.
   */
  readonly adjustableClock?: boolean;
  /**
   * Run the installed command, `bin/gatehouse.js` (the compiled dist/, so `npm run build`
   * first), instead of the source through tsx.
   */
  readonly built?: boolean;
  /**
   * Start it exactly so, without the heap flag added: `file` run with `args` before the
   * gatehouse arguments (e.g. `bin/gatehouse.js` itself, through its `#!` line).
   */
  readonly launch?: { readonly file: string; readonly args: readonly string[] };
  /**
   * Start it as the leader of a process group of its own, as a shell starts a job, so a test
   * can signal the whole group (`process.kill(-pid, …)`) as a terminal's Ctrl-C does.
   */
  readonly processGroup?: boolean;
}

export function runGatehouse(args: readonly string[], env: NodeJS.ProcessEnv = {}, options: RunOptions = {}): GatewayProcess {
  const preload = options.adjustableClock ? ['--import', ADJUSTABLE_CLOCK] : [];
  if (options.built && options.adjustableClock) throw new Error('adjustableClock needs the source (tsx), not the built command');
  // With the heap flag `serve` would otherwise relaunch itself with (src/heap-relaunch.ts), so
  // the process the test talks to (signals, IPC, /proc) is the gateway itself. The relaunch
  // is tested on its own (test/integration/launch-paths.test.ts).
  const command = options.built ? [...HEAP_FLAGS, BUILT_COMMAND] : [...HEAP_FLAGS, '--import', 'tsx', ...preload, CLI_ENTRY];
  const [file, fileArgs] = options.launch ? [options.launch.file, options.launch.args] : [process.execPath, command];
  const child = spawn(file, [...fileArgs, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: options.adjustableClock ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    detached: options.processGroup ?? false,
  });
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{ predicate: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }> = [];
  let stdoutBuffer = '';
  let stderrText = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdoutBuffer += chunk;
    let newline;
    while ((newline = stdoutBuffer.indexOf('\n')) >= 0) {
      const text = stdoutBuffer.slice(0, newline);
      stdoutBuffer = stdoutBuffer.slice(newline + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { raw: text };
      }
      logs.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderrText += chunk;
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    logs,
    stderr: () => stderrText,
    exited,
    waitForLog(predicate, timeoutMs = 15_000) {
      const seen = logs.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderrText}; logs: ${JSON.stringify(logs).slice(0, 2000)}`)), timeoutMs);
        waiters.push({
          predicate,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`gatehouse exited before the log line; stderr: ${stderrText}`));
        });
      });
    },
    advanceClock(ms) {
      if (!child.send) return Promise.reject(new Error('the process was not started with adjustableClock'));
      return new Promise((resolve) => {
        const onMessage = (message: { type?: string }) => {
          if (message?.type !== 'clock.advanced') return;
          child.off('message', onMessage);
          resolve();
        };
        child.on('message', onMessage);
        child.send!({ type: 'clock.advance', ms });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Starts `gatehouse serve` and waits until it listens. Returns the process and its ports. */
export async function startGatewayProcess(
  configFile: string,
  env: NodeJS.ProcessEnv = {},
  options: RunOptions = {},
): Promise<{ proc: GatewayProcess; port: number; adminPort: number | undefined }> {
  const proc = runGatehouse(['serve', '--config', configFile], env, options);
  let started;
  try {
    // Generous: under CI's load (browsers beside it) a process with workers compiles the
    // source once per worker before it listens.
    started = await proc.waitForLog((line) => line.event === 'gateway.started', 40_000);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { proc, port: started.port as number, adminPort: started.admin_port as number | undefined };
}
