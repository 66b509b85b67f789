/**
 * `gatehouse serve` runs with the V8 heap settings the hot path needs, however it was started
 * (the installed command, `npm start`, `node dist/run-cli.js`, Docker, systemd, PM2, a
 * Kubernetes command line): without `--initial-old-space-size` the old generation's
 * collection point sits just above what is always live, and under load V8 runs full
 * mark-compacts back to back (docs/performance.md, "Node flags"). Node refuses the flag in
 * NODE_OPTIONS and reads it only when the heap is made, so a process started without it
 * runs the gateway as its child with it and stands in for that child:
 *
 *   - signals that stop or reload the gateway (TERM, INT, HUP) are passed on;
 *   - the launcher exits with the gateway's exit code, or dies of the same signal;
 *   - the gateway exits at once if the launcher is killed outright (SIGKILL), so nothing is
 *     left holding the ports.
 *
 * The gateway stays in the launcher's session and process group: a terminal's Ctrl-C then
 * reaches both, and the gateway's stop ignores the forwarded copy (main.ts). A session of its
 * own (`detached`) put it in a scheduling autogroup of its own, and Linux shares a core
 * between autogroups before it shares it between processes: beside an app on the same core,
 * the gateway relayed WebSocket messages at 0.7x the rate, at 1.8x the CPU per message.
 *
 * This module imports nothing of the gateway (only the CLI's option table): the launcher
 * stays a bare Node process (about 40 MB).
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { CLI_OPTIONS } from './cli-options.js';

/**
 * The old generation starts at 64 MB; young semi-spaces stay at 4 MB (a big download's chunks
 * live outside the heap and are freed by young collections); after a full collection the old
 * generation may grow to twice what survived, not V8's up to four times, which was most of the
 * peak RSS under a flood of sign-ins. No memory reducer: its collections of a gateway idle for
 * about 15 s left it, once busy again, moving some 3 KB of every request to the old generation
 * (40 times as much) and running a full collection every 2 s, at about 30 % more CPU per
 * request, for as long as it stayed busy. docs/performance.md, "Node flags".
 */
export const HEAP_FLAGS: readonly string[] = ['--initial-old-space-size=64', '--max-semi-space-size=4', '--heap-growing-percent=100', '--no-memory-reducer'];
const LAUNCHER_ENV = 'GATEHOUSE_LAUNCHER_PID';
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/**
 * True when `argv` (after the script) runs the gateway: no command, or `serve`, read with the
 * CLI's own options. Not strict: a usage error is the CLI's to report, in the gateway process.
 */
export function runsGateway(argv: readonly string[]): boolean {
  const { positionals, values } = parseArgs({ args: [...argv], options: CLI_OPTIONS, allowPositionals: true, strict: false });
  if (values.help === true || values.version === true) return false;
  return (positionals[0] ?? 'serve') === 'serve';
}

/** True when the process was started with its own `--initial-old-space-size`, ours or the user's. */
export function hasHeapFlags(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => /^--initial[-_]old[-_]space[-_]size(=|$)/.test(arg));
}

/** Runs this same command again with HEAP_FLAGS and resolves with its exit code; see the module comment. */
export function relaunchWithHeapFlags(argv: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...HEAP_FLAGS, process.argv[1]!, ...argv], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [LAUNCHER_ENV]: String(process.pid) },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  return new Promise((resolve) => {
    child.once('error', (error) => {
      process.stderr.write(`gatehouse: could not start the gateway process: ${error.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      for (const name of FORWARDED_SIGNALS) process.off(name, forward);
      if (signal) {
        // Die of the same signal, as the gateway did, for whoever supervises us.
        process.kill(process.pid, signal);
        return;
      }
      resolve(code ?? 1);
    });
  });
}

/** In a relaunched gateway: exit at once when the launcher is gone (it was killed outright). */
export function watchLauncher(): void {
  if (process.env[LAUNCHER_ENV] !== String(process.ppid) || !process.channel) return;
  // The channel must not keep the gateway alive once it has stopped.
  process.channel.unref();
  process.once('disconnect', () => process.exit(1));
}
