/**
 * The SMTP backend: nodemailer with a pool of five connections, fed from a queue of our own
 * ordered by each mail's deadline (a code's expiry). A send that fails for a reason that may
 * pass (a 4xx answer, a dropped or refused connection) is retried a few times with backoff;
 * a mail still not taken by its deadline, or after the last try, is logged as `mail.failed`
 * and the promise resolves. The gateway has
 * already answered the guest by the time mail goes out, so a rejection would have nowhere
 * to go but an unhandled-rejection crash.
 *
 * Logs never carry the code, the recipient's local part or the SMTP password: `mail.failed`
 * names the recipient's domain only, and error text is scrubbed of the configured secrets.
 */
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { composeInvitationMail } from './compose-invitation-mail.js';
import { composeSignInCodeMail, type ComposedMail } from './compose-sign-in-mail.js';
import type { Delivery, InvitationMailRequest, Notifier, SignInCodeMail } from './notifier.js';

/** The `mail.smtp` section of the config. */
export type SmtpSettings = NonNullable<GatewayConfig['mail']['smtp']>;

/** Waits between attempts: three attempts in all, 0.5 s and 2 s apart. */
export const DEFAULT_MAIL_RETRY_DELAYS_MS: readonly number[] = Object.freeze([500, 2_000]);

/**
 * Socket timeouts. nodemailer's defaults (2 min to connect, 10 min idle) would let a dead
 * server hold a send, and the retries behind it, for many minutes.
 */
export const DEFAULT_SMTP_TIMEOUTS_MS: SmtpTimeoutsMs = Object.freeze({ connection: 10_000, greeting: 10_000, socket: 10_000 });

/**
 * Places in the outbox, at most: mails being sent, waiting or backing off, and places taken
 * for sign-in codes not yet sent. A flood of code requests (many addresses, many clients)
 * must not grow memory without bound, nor bury a guest's code behind minutes of other mail:
 * with the outbox full the sign-in page says "try again in a minute" (`reserveSignInCode`
 * gives no place) for every address alike, and a mail sent without a place is dropped and
 * logged as `mail.failed`. A place holds the mail's few fields, not the composed message
 * (that is made when a connection takes it), so a full outbox is a few MB at most.
 */
export const DEFAULT_MAX_PENDING_MAILS = 1_000;

/**
 * How long `close` waits for mails still being sent. A server that accepts connections and
 * never answers would otherwise hold shutdown for one socket timeout per pooled connection
 * and round of waiting mails (50 s for 25 mails): past this, what is left is given up on.
 */
export const DEFAULT_CLOSE_GRACE_MS = 2_000;

/** Connections to the mail server at once, and so mails being sent at once. */
const SEND_CONCURRENCY = 5;

const MAX_TIMER_MS = 2 ** 31 - 1;

/** An invitation not taken by the mail server within an hour is reported as failed. */
const INVITATION_DELIVERY_MS = 3600_000;

/**
 * A place taken and neither used nor given back within this is given back. The sign-in
 * route always ends its places; this only keeps a bug there from filling the outbox for good.
 */
const UNUSED_PLACE_MS = 60_000;

/** How long to wait, in ms, for the TCP/TLS connection, the server's greeting and any socket activity. */
export interface SmtpTimeoutsMs {
  readonly connection: number;
  readonly greeting: number;
  readonly socket: number;
}

export interface SmtpNotifierOptions {
  /** The From header, e.g. `Gatehouse <no-reply@example.com>`. */
  readonly from: string;
  readonly smtp: SmtpSettings;
  readonly logger: Logger;
  /** Waits before the 2nd, 3rd, … attempt; attempts = length + 1. Tests pass a few ms. */
  readonly retryDelaysMs?: readonly number[];
  readonly timeoutsMs?: Partial<SmtpTimeoutsMs>;
  /** Default DEFAULT_MAX_PENDING_MAILS. */
  readonly maxPendingMails?: number;
  /** Default DEFAULT_CLOSE_GRACE_MS. */
  readonly closeGraceMs?: number;
}

/**
 * Creates the SMTP notifier. Reads `smtp.tls.ca` now, so a missing CA file fails at start,
 * not at the first sign-in. Throws when `smtp.url` carries query parameters (see
 * `buildSmtpTransportOptions`). Connections are opened lazily, at the first send.
 */
export function createSmtpNotifier(options: SmtpNotifierOptions): Notifier {
  const { from, logger } = options;
  const retryDelaysMs = options.retryDelaysMs ?? DEFAULT_MAIL_RETRY_DELAYS_MS;
  const maxPendingMails = options.maxPendingMails ?? DEFAULT_MAX_PENDING_MAILS;
  const transportOptions = buildSmtpTransportOptions(options.smtp, { ...DEFAULT_SMTP_TIMEOUTS_MS, ...options.timeoutsMs });
  const secrets = listSecrets(options.smtp);
  const transporter = nodemailer.createTransport(transportOptions);

  logger.debug(
    {
      event: 'mail.transport',
      transport: 'smtp',
      host: transportOptions.host,
      port: transportOptions.port,
      secure: transportOptions.secure ?? false,
      auth_user: transportOptions.auth?.user,
      tls_ca: options.smtp.tls.ca || undefined,
    },
    'SMTP transport configured',
  );

  // One queue of our own, in front of a pool of SEND_CONCURRENCY connections that never
  // queues itself: a mail waits here, ordered by when it stops being worth sending (a code's
  // expiry), and is dropped when that time comes. nodemailer's own queue is first come, first
  // served and cannot drop anything: behind a hung server a retry waited for the whole
  // backlog, failures were logged hours late, and a code could arrive long dead.
  const closing = new AbortController();
  const closeGraceMs = options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
  const maxAttempts = retryDelaysMs.length + 1;
  const waiting: Job[] = [];
  /** Every place taken and not yet ended: what the outbox bound counts. */
  const unsettled = new Set<Job>();
  const attemptsInProgress = new Set<Promise<void>>();

  function fail(job: Job, error: unknown): void {
    settle(job, 'failed');
    // A place without a mail (reserved, or a not-allowed address's) has nothing to report.
    if (job.work === undefined || job.work.kind === 'nothing') return;
    logger.error(
      {
        event: 'mail.failed',
        to_domain: domainOf(job.work.mail.to),
        attempts: job.attempts,
        error: scrubSecrets(describeError(error), secrets),
        smtp_status: (error as { responseCode?: unknown } | undefined)?.responseCode,
        request_id: job.work.mail.requestId,
      },
      'mail could not be sent',
    );
  }

  function settle(job: Job, delivery: Delivery): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.expiry);
    clearTimeout(job.backoff);
    unsettled.delete(job);
    job.resolve(delivery);
  }

  /** Puts `job` in line by deadline (mostly at the end: deadlines mostly grow). */
  function enqueue(job: Job): void {
    let at = waiting.length;
    while (at > 0 && waiting[at - 1]!.deadline > job.deadline) at -= 1;
    waiting.splice(at, 0, job);
    pump();
  }

  function pump(): void {
    while (attemptsInProgress.size < SEND_CONCURRENCY && waiting.length > 0) {
      const job = waiting.shift()!;
      if (job.settled) continue;
      // A place without a mail ends where a mail would now go to the server.
      if (job.work?.kind !== 'code' && job.work?.kind !== 'invitation') settle(job, 'sent');
      else attempt(job, job.work);
    }
  }

  function compose(work: MailWork): ComposedMail {
    return work.kind === 'code' ? composeSignInCodeMail(work.mail, from) : composeInvitationMail(work.mail, from);
  }

  function attempt(job: Job, work: MailWork): void {
    // Composed only now, and kept only while on a connection: a waiting mail is its fields.
    let composed: ComposedMail;
    try {
      composed = compose(work);
    } catch (error) {
      // Bad input stays bad: nothing to retry.
      return fail(job, error);
    }
    job.attempts += 1;
    const toDomain = domainOf(work.mail.to);
    const requestId = work.mail.requestId;
    const running = transporter
      .sendMail({ from, to: work.mail.to, subject: composed.subject, text: composed.text, html: composed.html, headers: { ...composed.headers } })
      .then(
        (info) => {
          if (job.settled) return; // given up on meanwhile (expired, or shutting down)
          logger.debug({ event: 'mail.delivered', to_domain: toDomain, attempt: job.attempts, smtp_response: info.response, request_id: requestId }, 'mail accepted by the SMTP server');
          settle(job, 'sent');
        },
        (error: unknown) => {
          logger.debug({ event: 'mail.attempt_failed', to_domain: toDomain, attempt: job.attempts, error: scrubSecrets(describeError(error), secrets), request_id: requestId }, 'SMTP send attempt failed');
          if (job.settled) return;
          if (job.attempts >= maxAttempts || !isWorthRetrying(error) || closing.signal.aborted) return fail(job, error);
          job.backoff = setTimeout(() => {
            job.backoff = undefined;
            enqueue(job);
          }, retryDelaysMs[job.attempts - 1] ?? 0);
        },
      )
      .finally(() => {
        attemptsInProgress.delete(running);
        pump();
      });
    attemptsInProgress.add(running);
  }

  /** A new place in the outbox; undefined when it is full or the gateway is stopping. */
  function takePlace(): Job | undefined {
    if (unsettled.size >= maxPendingMails || closing.signal.aborted) return undefined;
    const job: Job = { work: undefined, deadline: Number.POSITIVE_INFINITY, attempts: 0, settled: false, resolve: () => {} };
    job.expiry = setTimeout(() => settle(job, 'failed'), UNUSED_PLACE_MS);
    job.expiry.unref();
    unsettled.add(job);
    return job;
  }

  function refuse(mail: { to: string; requestId: string }): Promise<Delivery> {
    const reason = closing.signal.aborted ? 'the gateway is stopping' : `the outbox is full (${maxPendingMails} mails); this one is dropped`;
    logger.error({ event: 'mail.failed', to_domain: domainOf(mail.to), attempts: 0, error: reason, request_id: mail.requestId }, 'mail could not be sent');
    return Promise.resolve('failed');
  }

  /** Puts `work` in `job`'s place and in line; resolves when it is sent or given up on. */
  function dispatch(job: Job, work: MailWork | { readonly kind: 'nothing' }, deadline: number, what: string): Promise<Delivery> {
    if (job.settled || job.work !== undefined) {
      // Used twice, or unused for so long that it was given back: a bug in the caller.
      if (work.kind === 'nothing') return Promise.resolve('failed');
      return refuse(work.mail);
    }
    clearTimeout(job.expiry);
    job.work = work;
    job.deadline = deadline;
    const delivered = new Promise<Delivery>((resolve) => {
      job.resolve = resolve;
    });
    // The deadline ends the mail wherever it is: waiting, backing off, or on a connection
    // to a server that does not answer (a late success there is ignored).
    const armExpiry = (): void => {
      // setTimeout holds at most about 24.8 days; a later deadline is re-armed then.
      job.expiry = setTimeout(() => {
        if (job.settled) return;
        if (Date.now() < deadline) return armExpiry();
        fail(job, new Error(`the ${what} was not taken by the mail server before it expired`));
      }, Math.min(MAX_TIMER_MS, Math.max(0, deadline - Date.now())));
      job.expiry.unref();
    };
    armExpiry();
    enqueue(job);
    return delivered;
  }

  return {
    sendInvitation(mail) {
      const job = takePlace();
      return job ? dispatch(job, { kind: 'invitation', mail }, Date.now() + INVITATION_DELIVERY_MS, 'invitation') : refuse(mail);
    },
    sendSignInCode(mail) {
      const job = takePlace();
      return job ? dispatch(job, { kind: 'code', mail }, mail.expiresAt.getTime(), 'code') : refuse(mail);
    },
    reserveSignInCode() {
      const job = takePlace();
      if (!job) return undefined;
      return {
        send: (mail) => dispatch(job, { kind: 'code', mail }, mail.expiresAt.getTime(), 'code'),
        sendNothing: (expiresAt) => void dispatch(job, { kind: 'nothing' }, expiresAt.getTime(), 'place'),
        release: () => {
          if (job.work === undefined) settle(job, 'failed');
        },
      };
    },
    async verify() {
      try {
        await transporter.verify();
      } catch (error) {
        // The error text may quote the server's answer; make sure it cannot quote our password.
        // No `cause` on purpose: it would carry the unscrubbed text.
        // eslint-disable-next-line preserve-caught-error
        throw new Error(`SMTP check failed: ${scrubSecrets(describeError(error), secrets)}`);
      }
    },

    async close() {
      closing.abort();
      // Mails not on a connection now are not started: they fail at once.
      const inLine = new Set(waiting);
      for (const job of [...unsettled]) {
        if (job.work === undefined || inLine.has(job) || job.backoff !== undefined) fail(job, new Error('the gateway stopped before the mail was sent'));
      }
      waiting.length = 0;
      // The ones on a connection get a moment; a server that does not answer is given up on.
      await settlesWithin(Promise.all(attemptsInProgress), closeGraceMs);
      for (const job of [...unsettled]) fail(job, new Error('the gateway stopped before the mail server answered'));
      transporter.close();
    },
  };
}

/** A mail as it waits: the fields it is composed from when a connection takes it. */
type MailWork = { readonly kind: 'code'; readonly mail: SignInCodeMail } | { readonly kind: 'invitation'; readonly mail: InvitationMailRequest };

/** One place in the outbox. */
interface Job {
  /** What the place holds: undefined while only reserved; `nothing` for a not-allowed address. */
  work: MailWork | { readonly kind: 'nothing' } | undefined;
  /** Epoch ms after which the mail is worthless (the code has expired). */
  deadline: number;
  attempts: number;
  settled: boolean;
  resolve: (delivery: Delivery) => void;
  expiry?: NodeJS.Timeout;
  backoff?: NodeJS.Timeout;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/** True when `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Turns `mail.smtp` into nodemailer pool options. `url` gives the starting point and the
 * separate keys override it, so a password can live in `auth.pass` while the URL names the
 * server. The URL is parsed here, not by nodemailer: given a URL, nodemailer drops every
 * other option (pool, TLS, timeouts). Query parameters are refused, because nodemailer
 * would read `?tls.rejectUnauthorized=false` from them and quietly stop checking the
 * server's certificate (a man-in-the-middle could read every code).
 */
export function buildSmtpTransportOptions(smtp: SmtpSettings, timeoutsMs: SmtpTimeoutsMs): SMTPPool.Options {
  let host: string | undefined;
  let port: number | undefined;
  let secure: boolean | undefined;
  let auth: { user: string; pass: string } | undefined;
  if (smtp.url) {
    let url: URL;
    try {
      url = new URL(smtp.url.trim());
    } catch {
      // Node's URL error carries the input, password included, in a property a log would print.
      throw new Error('mail.smtp.url is not a valid URL');
    }
    if (url.search !== '') {
      // The message never quotes the URL: it may carry the password.
      throw new Error('mail.smtp.url must not have query parameters; use the host, port, secure, auth and tls keys');
    }
    host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    port = url.port ? Number(url.port) : undefined;
    secure = url.protocol === 'smtps:';
    if (url.username || url.password) {
      auth = { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
    }
  }
  host = smtp.host ?? host;
  port = smtp.port ?? port;
  secure = smtp.secure ?? secure;
  auth = smtp.auth ?? auth;

  return {
    pool: true,
    maxConnections: SEND_CONCURRENCY,
    host,
    // nodemailer's default port follows `secure`: 465 for implicit TLS, else 587.
    port,
    secure,
    auth: auth ? { user: auth.user, pass: auth.pass } : undefined,
    tls: smtp.tls.ca ? { ca: readFileSync(smtp.tls.ca) } : undefined,
    connectionTimeout: timeoutsMs.connection,
    greetingTimeout: timeoutsMs.greeting,
    socketTimeout: timeoutsMs.socket,
    // We only ever pass strings; should that change, a file path or URL in a mail field must
    // not make the gateway read local files or fetch URLs into the mail (file disclosure, SSRF).
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/**
 * Whether another attempt may succeed. A 5xx answer is permanent by RFC 5321 (unknown
 * mailbox, bad credentials): retrying it only repeats the failure and can get the gateway's
 * account locked by the provider. 4xx answers and connection trouble are worth another go.
 */
function isWorthRetrying(error: unknown): boolean {
  const responseCode = (error as { responseCode?: unknown } | undefined)?.responseCode;
  return !(typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600);
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** The password in every spelling it may appear in (raw and URL-encoded). */
function listSecrets(smtp: SmtpSettings): string[] {
  const passwords = [smtp.auth?.pass];
  if (smtp.url) {
    try {
      const urlPassword = new URL(smtp.url.trim()).password;
      passwords.push(urlPassword, decodeURIComponent(urlPassword));
    } catch {
      // Not a URL: buildSmtpTransportOptions would have thrown already.
    }
  }
  const secrets = new Set<string>();
  for (const password of passwords) {
    if (!password) continue;
    secrets.add(password);
    secrets.add(encodeURIComponent(password));
    secrets.add(Buffer.from(password).toString('base64'));
  }
  return [...secrets].filter((secret) => secret.length > 0).sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of a secret; the error text of a server could echo one. */
function scrubSecrets(text: string, secrets: readonly string[]): string {
  let scrubbed = text;
  for (const secret of secrets) scrubbed = scrubbed.split(secret).join('[redacted]');
  return scrubbed;
}
