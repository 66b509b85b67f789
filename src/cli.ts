/**
 * The `gatehouse` command (SPEC section 1). Exit codes: 0 ok, 1 invalid config or failed
 * start, 2 usage error.
 */
import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { InvitationFileError, parseInvitationFile } from './invitations/invitation-file.js';
import type { GatewayConfig } from './config/schema.js';
import { ConfigError, defaultConfigFile, loadConfigFile } from './config/load-config.js';
import { describeConfigSummary } from './config/describe-config.js';
import { serve } from './main.js';
import { CLI_OPTIONS } from './cli-options.js';
import { runInvite, runKeys, runPasskeys, runReport, runRevoke, runSessions, runUninvite, UsageError, type LifecycleOptions } from './cli/lifecycle-commands.js';

const USAGE = `Usage: gatehouse [command] [--config FILE]

Commands:
  serve              run the gateway (the default)
  check              validate the config and print its routes; exit 1 on any error
  invite EMAIL --route NAME [--expires 30d] [--note TEXT] [--by NAME]
                     add or update an invitation and mail it
  uninvite EMAIL     remove an invitation, sign the guest out everywhere and remove
                     their passkeys
  sessions [--email E] [--json]
                     list live sessions (through the admin API)
  revoke EMAIL | --session ID | --all
                     end sessions on every gateway (through the admin API)
  passkeys [EMAIL] [--json]
                     list guests' passkeys (through the admin API)
  passkeys remove EMAIL | --id ID
                     remove passkeys (a guest who lost theirs starts again with a code)
  report [--format table|csv|json] [--days 30] [--inactive 30]
                     access review: every guest, invitation state, last sign-in and
                     request, requests per route; flags guests inactive that many days
  keys [rotate]      list the identity assertion's signing keys, or sign with the next
                     one from now on (the old one stays published for rotation_grace)
  help               show this help
  version            print the version

The config file is --config, else $GATEHOUSE_CONFIG, else ./gateway.yaml, else
./gateway.example.yaml.
`;

const LIFECYCLE_COMMANDS = new Set(['invite', 'uninvite', 'sessions', 'revoke', 'report', 'keys', 'passkeys']);

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
      options: CLI_OPTIONS,
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
  const takesArgument = command === 'invite' || command === 'uninvite' || command === 'revoke' || command === 'keys';
  const maxArguments = command === 'passkeys' ? 2 : takesArgument ? 1 : 0;
  if (rest.length > maxArguments) return usageError(`unexpected argument "${rest[maxArguments]}"`);
  const configFile = parsed.values.config ?? defaultConfigFile(env);

  switch (command) {
    case 'serve':
      return serve({ configFile, env });
    case 'check':
      try {
        const loaded = loadConfigFile(configFile, env);
        const invitationErrors = checkInvitationsFile(loaded.config);
        if (invitationErrors.length > 0) {
          process.stderr.write(`${invitationErrors.join('\n')}\n${configFile}: the invitations file has ${invitationErrors.length} error(s)\n`);
          return 1;
        }
        process.stdout.write(describeConfigSummary(loaded));
        return 0;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`${error.errors.join('\n')}\n${configFile}: ${error.errors.length} error(s)\n`);
        return 1;
      }
    default:
      if (LIFECYCLE_COMMANDS.has(command)) return runLifecycleCommand(command, rest, parsed.values, configFile, env);
      return usageError(`unknown command "${command}"`);
  }
}

async function runLifecycleCommand(command: string, args: readonly string[], options: LifecycleOptions, configFile: string, env: NodeJS.ProcessEnv): Promise<number> {
  const argument = args[0];
  let config;
  try {
    config = loadConfigFile(configFile, env).config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.errors.join('\n')}\n`);
    return 1;
  }
  const out = (text: string) => void process.stdout.write(text);
  try {
    if (command === 'invite') return await runInvite(config, argument, options, env, out);
    if (command === 'uninvite') return await runUninvite(config, argument, options, env, out);
    if (command === 'sessions') return await runSessions(config, options, out);
    if (command === 'report') return await runReport(config, options, out);
    if (command === 'keys') return await runKeys(config, argument, out);
    if (command === 'passkeys') return await runPasskeys(config, args, options, env, out);
    return await runRevoke(config, argument, options, env, out);
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message);
    process.stderr.write(`gatehouse ${command}: ${(error as Error).message}\n`);
    return 1;
  }
}

/** Problems in the invitations file named by the config (none when it is absent or unset). */
function checkInvitationsFile(config: GatewayConfig): string[] {
  const file = config.invitations.file;
  if (!file || !existsSync(file)) return [];
  try {
    parseInvitationFile(readFileSync(file, 'utf8'), file);
    return [];
  } catch (error) {
    if (error instanceof InvitationFileError) return [...error.errors];
    return [`${file}: ${(error as Error).message}`];
  }
}
