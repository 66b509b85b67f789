/**
 * Helpers for the mail tests: a real SMTP server (`smtp-server`) on a loopback port that
 * records what it receives, a logger whose lines can be read back, and a small MIME reader
 * for the raw RFC 822 text (mailparser is not installed; we only need what nodemailer makes).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { createLogger, type Logger } from '../../src/log/logger.js';

export interface ReceivedMail {
  readonly mailFrom: string;
  readonly rcptTo: readonly string[];
  readonly raw: string;
}

export interface TestSmtpServerOptions {
  /** Require AUTH with these credentials; without it the server offers no AUTH at all. */
  readonly auth?: { readonly user: string; readonly pass: string };
  /** Implicit TLS (`smtps`) with this key and certificate. */
  readonly tls?: { readonly key: Buffer; readonly cert: Buffer };
  /** Called for every DATA; an SMTP status (e.g. 451) makes the server refuse that message. */
  readonly answerData?: (attempt: number) => number | undefined;
  /**
   * Holds every message's answer until this resolves (asked anew for each message): a mail
   * server that is slower than the mail coming in, without the test sleeping.
   */
  readonly acceptWhen?: () => Promise<void>;
}

export interface TestSmtpServer {
  readonly port: number;
  /** Messages accepted, in order. */
  readonly received: ReceivedMail[];
  /** DATA commands seen, accepted or not. */
  dataAttempts(): number;
  /**
   * Resolves with the message at `index` (0-based, in arrival order) as soon as it has
   * arrived; rejects after `timeoutMs`. Mail is sent after the gateway answers, so a test
   * waits for this event rather than assuming the mail is there.
   */
  waitForMessage(index: number, timeoutMs?: number): Promise<ReceivedMail>;
  /** AUTH attempts seen, with the password each one used. */
  readonly authAttempts: { user: string; pass: string }[];
  close(): Promise<void>;
}

/** Starts an SMTP server on 127.0.0.1 with a free port. */
export async function startTestSmtpServer(options: TestSmtpServerOptions = {}): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  const arrivalWaiters = new Set<() => void>();
  const authAttempts: { user: string; pass: string }[] = [];
  let dataAttempts = 0;
  const disabledCommands = [
    ...(options.auth ? [] : ['AUTH']),
    // Plain servers offer no STARTTLS: smtp-server's built-in certificate is self-signed, so
    // the client would (rightly) refuse it.
    ...(options.tls ? [] : ['STARTTLS']),
  ];
  const serverOptions: SMTPServerOptions = {
    logger: false,
    secure: Boolean(options.tls),
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    authOptional: !options.auth,
    allowInsecureAuth: true,
    disabledCommands,
    closeTimeout: 1_000,
    onAuth(auth, _session, callback) {
      authAttempts.push({ user: auth.username ?? '', pass: auth.password ?? '' });
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
        callback(null, { user: auth.username });
      } else {
        callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      }
    },
    onData(stream, session, callback) {
      dataAttempts += 1;
      const attempt = dataAttempts;
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        await options.acceptWhen?.();
        const status = options.answerData?.(attempt);
        if (status !== undefined) {
          callback(Object.assign(new Error(`Refused by the test server (attempt ${attempt})`), { responseCode: status }));
          return;
        }
        received.push({
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((recipient) => recipient.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
        for (const wake of [...arrivalWaiters]) wake();
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  // A client that drops the connection (e.g. refusing our certificate) is an expected event
  // in these tests, not a crash; smtp-server reports it as an 'error' event.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    received,
    authAttempts,
    dataAttempts: () => dataAttempts,
    waitForMessage(index, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const mail = received[index];
          if (!mail) return;
          arrivalWaiters.delete(check);
          clearTimeout(timer);
          resolve(mail);
        };
        const timer = setTimeout(() => {
          arrivalWaiters.delete(check);
          reject(new Error(`mail #${index + 1} did not arrive within ${timeoutMs} ms (${received.length} received)`));
        }, timeoutMs);
        arrivalWaiters.add(check);
        check();
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface CapturedLogs {
  readonly logger: Logger;
  /** Raw lines as written, for "never appears anywhere" checks. */
  readonly lines: string[];
  records(): Record<string, unknown>[];
}

/** The gateway's real logger at debug level, writing into memory. */
export function captureLogs(): CapturedLogs {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

export interface ParsedMail {
  /** Header names lower-cased, values unfolded and with encoded-words decoded. */
  readonly headers: readonly { name: string; value: string }[];
  header(name: string): string | undefined;
  readonly text: string;
  readonly html: string;
}

/** Reads the raw message nodemailer sends for a text+HTML mail (multipart/alternative). */
export function parseRawMail(raw: string): ParsedMail {
  const { headers, body } = splitHeaders(raw);
  const header = (name: string) => headers.find((h) => h.name === name.toLowerCase())?.value;
  const parts: { type: string; content: string }[] = [];
  collectParts(headers, body, parts);
  const partOf = (type: string) => parts.find((part) => part.type === type)?.content ?? '';
  return { headers, header, text: partOf('text/plain'), html: partOf('text/html') };
}

function splitHeaders(raw: string): { headers: { name: string; value: string }[]; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  const head = end === -1 ? raw : raw.slice(0, end);
  const body = end === -1 ? '' : raw.slice(end + 4);
  const unfolded = head.replace(/\r\n[ \t]+/g, ' ');
  const headers = unfolded.split('\r\n').map((line) => {
    const colon = line.indexOf(':');
    return { name: line.slice(0, colon).trim().toLowerCase(), value: decodeEncodedWords(line.slice(colon + 1).trim()) };
  });
  return { headers, body };
}

function collectParts(headers: { name: string; value: string }[], body: string, parts: { type: string; content: string }[]): void {
  const contentType = headers.find((h) => h.name === 'content-type')?.value ?? 'text/plain';
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
    if (!boundary) throw new Error('multipart without boundary');
    const sections = body.split(`--${boundary}`).slice(1);
    for (const section of sections) {
      if (section.startsWith('--')) break;
      const part = splitHeaders(section.replace(/^\r\n/, ''));
      collectParts(part.headers, part.body, parts);
    }
    return;
  }
  const encoding = headers.find((h) => h.name === 'content-transfer-encoding')?.value.toLowerCase() ?? '7bit';
  parts.push({ type, content: decodeTransferEncoding(body.replace(/\r\n$/, ''), encoding) });
}

function decodeTransferEncoding(body: string, encoding: string): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

/** RFC 2045 quoted-printable: soft line breaks dropped, `=XX` bytes decoded as UTF-8. */
export function decodeQuotedPrintable(text: string): string {
  const joined = text.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeEncodedWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_all, _charset: string, kind: string, data: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : decodeQuotedPrintable(data.replace(/_/g, ' ')),
    );
}

/** Whether openssl can be run here (the TLS tests need it). */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed certificate for IP 127.0.0.1 (EC key: fast), in a fresh temp dir. */
export function createSelfSignedCertificate(): { dir: string; key: Buffer; cert: Buffer; certFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-smtp-tls-'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem',
      '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { cwd: dir, stdio: 'pipe' },
  );
  const certFile = join(dir, 'cert.pem');
  return { dir, key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(certFile), certFile };
}
