/**
 * What the rest of the gateway knows about sending mail: one interface, several backends
 * (`log` for development, `smtp` for real), picked by `createNotifier`. Modelled on
 * Authelia's `Notifier`: the sign-in flow depends on this file only, never on nodemailer.
 */
import type { Language } from '../i18n/languages.js';

/** One sign-in code mail, as the sign-in flow hands it over. */
export interface SignInCodeMail {
  /** Recipient: one bare, already validated and normalised address (`bob@partner.example`). */
  readonly to: string;
  /** The one-time code, in clear: it exists only in this mail and in the guest's head. */
  readonly code: string;
  /** The language of the browser that asked (or `branding.language`). */
  readonly language: Language;
  /** The app the guest is signing in to (the route's `title`, default its name). */
  readonly appName: string;
  /** `scheme://host[:port]` the guest asked on: the mail names the real site (code-relay phishing). */
  readonly siteOrigin: string;
  /** Absolute http(s) URL of the code page of the browser that asked. */
  readonly codePageUrl: string;
  /** When the code was asked for. */
  readonly requestedAt: Date;
  /** When the code stops working. */
  readonly expiresAt: Date;
  /** The asking browser's User-Agent; the mail shows only a known browser and system name from it. */
  readonly userAgent: string;
  /** The asking client's address, as `trust_proxy` yields it. */
  readonly clientAddress: string;
  /** Id of the request that asked for the code, so failures can be matched with audit events. */
  readonly requestId: string;
}

/** An invitation to a route, sent by `gatehouse invite`. */
export interface InvitationMailRequest {
  readonly to: string;
  /** The route's external URL: where the guest starts. */
  readonly url: string;
  /** The route's `title`, default its name. */
  readonly appName: string;
  readonly language: Language;
  readonly invitedBy: string;
  readonly expiresAt?: Date;
  readonly note?: string;
  readonly requestId: string;
}

/** What became of a mail: accepted by the mail server (or printed), or given up on. */
export type Delivery = 'sent' | 'failed';

/**
 * A place in the outbox for one sign-in code mail, taken before the guest's answer is
 * decided, so that a full outbox can be said on the page instead of a mail silently lost.
 * Every place ends exactly once: sent, sent nothing, or given back.
 */
export interface SignInCodePlace {
  /** Sends the code in this place; resolves like `Notifier.sendSignInCode`. */
  send(mail: SignInCodeMail): Promise<Delivery>;
  /**
   * Sends nothing, but keeps the place in line until a mail in it would have reached the
   * mail server (or `expiresAt`): the place of a not-allowed address. The outbox then fills
   * and empties the same whoever asks, so "the outbox is full" says nothing about addresses.
   */
  sendNothing(expiresAt: Date): void;
  /** Gives the place back now: no code was made (a limit, the cooldown, the store). */
  release(): void;
}

/** A way to deliver mail to guests. */
export interface Notifier {
  /**
   * Delivers a sign-in code. The promise always resolves, also when delivery fails: the
   * gateway sends mail after it has answered the guest, so nobody could handle a rejection.
   * It says whether the mail went out; failures are logged as `mail.failed` by the backend.
   */
  sendSignInCode(mail: SignInCodeMail): Promise<Delivery>;
  /**
   * Takes a place in the outbox for a sign-in code mail; undefined when the outbox is full
   * (the guest is then told to try again later, whatever the address). A backend without an
   * outbox of its own (`log`: it prints at once) leaves this out, and every request gets a
   * place (`signInCodePlaceOf`).
   */
  reserveSignInCode?(): SignInCodePlace | undefined;
  /** Delivers an invitation; like sendSignInCode, it logs failures and always resolves. */
  sendInvitation(mail: InvitationMailRequest): Promise<Delivery>;
  /** Checks that mail can be sent (connects and authenticates); rejects when it cannot. */
  verify?(): Promise<void>;
  /** Lets in-flight sends finish, then releases connections. */
  close(): Promise<void>;
}

/** A place from the notifier's outbox, or one that sends at once for a backend without one. */
export function signInCodePlaceOf(notifier: Notifier): SignInCodePlace | undefined {
  if (notifier.reserveSignInCode) return notifier.reserveSignInCode();
  return {
    send: (mail) => notifier.sendSignInCode(mail),
    sendNothing() {},
    release() {},
  };
}
