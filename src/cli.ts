/**
 * The `gatehouse` command (SPEC section 1). Exit codes: 0 ok, 1 invalid config or failed
 * start, 2 usage error.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { ConfigError, defaultConfigFile, loadConfigFile } from './config/load-config.js';
import { describeConfigSummary } from './config/describe-config.js';
import { serve } from './main.js';

const USAGE = `Usage: gatehouse [command] [--config FILE]

Commands:
  serve              run the gateway (the default)
  check              validate the config and print its routes; exit 1 on any error
  help               show this help
  version            print the version

The config file is --config, else $GATEHOUSE_CONFIG, else ./gateway.yaml, else
./gateway.example.yaml.
`;

const LATER_COMMANDS = new Set(['invite', 'uninvite', 'sessions', 'revoke', 'report']);

function usageError(message: string): number {
  process.stderr.write(`gatehouse: ${message}\n\n${USAGE}`);
  return 2;
}

function readVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the CLI with `argv` (without node and script). Resolves with the exit code. */
export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
    });
  } catch (error) {
    return usageError((error as Error).message);
  }
  const [command = 'serve', ...rest] = parsed.positionals;
  if (parsed.values.help || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.values.version || command === 'version') {
    process.stdout.write(`${readVersion()}\n`);
    return 0;
  }
  if (rest.length > 0) return usageError(`unexpected argument "${rest[0]}"`);
  const configFile = parsed.values.config ?? defaultConfigFile(env);

  switch (command) {
    case 'serve':
      return serve({ configFile, env });
    case 'check':
      try {
        const loaded = loadConfigFile(configFile, env);
        process.stdout.write(describeConfigSummary(loaded));
        return 0;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`${error.errors.join('\n')}\n${configFile}: ${error.errors.length} error(s)\n`);
        return 1;
      }
    default:
      if (LATER_COMMANDS.has(command)) return usageError(`"${command}" is not available in this version yet`);
      return usageError(`unknown command "${command}"`);
  }
}
