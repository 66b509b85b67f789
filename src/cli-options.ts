/**
 * The options of the `gatehouse` command, for `util.parseArgs`. A module of its own so that
 * run-cli.ts can tell `serve` from the other commands (heap-relaunch.ts) without loading the
 * gateway.
 */
export const CLI_OPTIONS = {
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  route: { type: 'string' },
  expires: { type: 'string' },
  note: { type: 'string' },
  by: { type: 'string' },
  email: { type: 'string' },
  session: { type: 'string' },
  all: { type: 'boolean' },
  json: { type: 'boolean' },
  format: { type: 'string' },
  days: { type: 'string' },
  inactive: { type: 'string' },
  id: { type: 'string' },
} as const;
