/** Process entry point: runs the CLI with the process arguments and exits with its code. */
import { runCli } from './cli.js';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Anything still open after a clean stop (a stuck socket) must not keep the process alive.
setTimeout(() => process.exit(code), 2000).unref();
