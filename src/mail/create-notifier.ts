/**
 * Picks the mail backend named by `mail.transport`. The rest of the gateway only ever sees
 * the `Notifier` interface.
 */
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { createLogNotifier } from './log-notifier.js';
import type { Notifier } from './notifier.js';
import { createSmtpNotifier } from './smtp-notifier.js';

export interface NotifierDependencies {
  readonly logger: Logger;
  /** Waits between SMTP attempts; `DEFAULT_MAIL_RETRY_DELAYS_MS` when not given. */
  readonly retryDelaysMs?: readonly number[];
}

/**
 * Creates the notifier for the `mail:` config section. Throws for an unknown transport, for
 * `smtp` without an `smtp:` section, and when the SMTP settings cannot be used (unreadable
 * `tls.ca`, query parameters in `smtp.url`).
 */
export function createNotifier(config: GatewayConfig['mail'], deps: NotifierDependencies): Notifier {
  const { logger, retryDelaysMs } = deps;
  const transport = config.transport;
  switch (transport) {
    case 'log':
      return createLogNotifier({ from: config.from, logger });
    case 'smtp':
      if (!config.smtp) throw new Error('mail.smtp is required when mail.transport is "smtp"');
      return createSmtpNotifier({ from: config.from, smtp: config.smtp, logger, retryDelaysMs });
    default: {
      // The schema only lets known kinds through; this guards configs built some other way.
      const unknown: never = transport;
      throw new Error(`unknown mail transport ${JSON.stringify(unknown)} (expected "log" or "smtp")`);
    }
  }
}
