/**
 * The development backend (`mail.transport: log`): instead of sending, it prints each mail
 * to the log at info, code included, so a developer can sign in without a mail server.
 * This is the one place a code is logged, on purpose (SPEC section 4, STYLE item 15); the
 * config warns at start that it must never run in production.
 */
import type { Logger } from '../log/logger.js';
import { composeInvitationMail } from './compose-invitation-mail.js';
import { composeSignInCodeMail } from './compose-sign-in-mail.js';
import type { Notifier } from './notifier.js';

export interface LogNotifierOptions {
  readonly from: string;
  readonly logger: Logger;
}

/**
 * Creates the log notifier: each mail becomes one info line
 * `{event: 'mail.logged', to, subject, text, request_id}`. A mail that cannot be composed
 * is logged as `mail.failed`, like the SMTP backend does.
 */
export function createLogNotifier(options: LogNotifierOptions): Notifier {
  const { from, logger } = options;
  return {
    async sendSignInCode(mail) {
      let composed;
      try {
        composed = composeSignInCodeMail(mail, from);
      } catch (error) {
        logger.error(
          {
            event: 'mail.failed',
            to_domain: mail.to.slice(mail.to.lastIndexOf('@') + 1),
            attempts: 0,
            error: error instanceof Error ? error.message : String(error),
            request_id: mail.requestId,
          },
          'sign-in code mail could not be composed',
        );
        return 'failed';
      }
      logger.info(
        { event: 'mail.logged', to: mail.to, subject: composed.subject, text: composed.text, request_id: mail.requestId },
        'mail printed by the log transport (development only)',
      );
      return 'sent';
    },
    async sendInvitation(mail) {
      let composed;
      try {
        composed = composeInvitationMail(mail, from);
      } catch (error) {
        logger.error(
          { event: 'mail.failed', to_domain: mail.to.slice(mail.to.lastIndexOf('@') + 1), attempts: 0, error: error instanceof Error ? error.message : String(error), request_id: mail.requestId },
          'invitation mail could not be composed',
        );
        return 'failed';
      }
      logger.info({ event: 'mail.logged', to: mail.to, subject: composed.subject, text: composed.text, request_id: mail.requestId }, 'mail printed by the log transport (development only)');
      return 'sent';
    },
    async verify() {
      // Nothing to reach: the log is always there.
    },
    async close() {
      // Nothing to release.
    },
  };
}
