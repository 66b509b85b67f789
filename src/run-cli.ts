/**
 * Process entry point: runs the CLI with the process arguments and exits with its code.
 * `serve` started without the heap flags it needs runs itself again with them first
 * (heap-relaunch.ts), before any of the gateway is loaded.
 */
import { hasHeapFlags, relaunchWithHeapFlags, runsGateway, watchLauncher } from './heap-relaunch.js';

const argv = process.argv.slice(2);
let code: number;
if (runsGateway(argv) && !hasHeapFlags(process.execArgv)) {
  code = await relaunchWithHeapFlags(argv);
} else {
  watchLauncher();
  const { runCli } = await import('./cli.js');
  code = await runCli(argv);
}
process.exitCode = code;
// Anything still open after a clean stop (a stuck socket) must not keep the process alive.
setTimeout(() => process.exit(code), 2000).unref();
