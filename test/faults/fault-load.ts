/**
 * Steady, bounded load for the fault tests, and what users saw under it.
 *
 * A load is a fixed set of loops, each one client sending one request after another on a
 * keep-alive connection of its own (or a new connection each time), a few milliseconds apart, until `stop()` (or its own
 * time and count bounds). Each request has a client-side bound (5 s): one that gets no
 * whole answer by then is cut and counted as `timeout` (a hung request). The loops are
 *
 * - `signed-in`: a guest's cookie; the answer must be the app's, for that guest;
 * - `anonymous`: no cookie; `forged`: a cookie with a made-up signature; `ended`: a validly
 *   signed cookie whose session was ended. None of them may ever reach the app.
 *
 * Every request is tagged (`X-Fault-Kind`, `X-Fault-Guest`) so the test app can report
 * which loop sent what reached it, and with which identity the gateway let it through.
 *
 * Like browsers and Node's own advice for `req.reusedSocket`, a request whose reused
 * keep-alive connection is closed before any byte of an answer arrives is sent once more on
 * a new connection; it is counted (`retried`), never hidden.
 */
import http from 'node:http';
import type { TestContext } from 'node:test';
import { hiddenField } from '../helpers/form-client.js';
import { APP_HOST } from './fault-world.js';
import type { UpstreamRecord } from './fault-upstream.js';

/** The client-side bound of every request. */
export const REQUEST_BOUND_MS = 5_000;
/** Pause between two requests of a loop: the load stays steady and bounded. */
const PACING_MS = 10;
/** Bounds of every loop, whatever the test does. */
const LOOP_MAX_MS = 60_000;
const LOOP_MAX_REQUESTS = 20_000;

export type LoadKind = 'signed-in' | 'anonymous' | 'forged' | 'ended';

/**
 * What a request got: an HTTP status (a whole answer); `refused` (no connection: nothing
 * listens); `reset` (the connection was closed or reset before an answer); `cut` (an answer
 * began and was cut off); `timeout` (nothing whole within the bound); `wrong-body` (a whole
 * 200 that is not the app's answer for this guest).
 */
export type Outcome = number | 'refused' | 'reset' | 'cut' | 'timeout' | 'wrong-body';

export interface Sample {
  readonly loop: number;
  /** `loop:count`, sent as `X-Fault-Seq`: the test app reports it with the request. */
  readonly sequence: string;
  readonly kind: LoadKind;
  readonly guest: string | undefined;
  readonly port: number;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly outcome: Outcome;
  /** The answer said `Connection: close`. */
  readonly connectionClose: boolean;
  /** Sent again on a new connection after its reused one closed before any answer. */
  readonly retried: boolean;
  /** The (last) attempt went out on a reused keep-alive connection. */
  readonly reusedSocket: boolean;
  /** Error code of a failed request (ECONNRESET…), for the report. */
  readonly detail: string | undefined;
}

export interface LoopSpec {
  readonly kind: LoadKind;
  /** The gateway ports to send to, in turn (two gateways: every other request to each). */
  readonly ports: readonly number[];
  readonly cookie?: string;
  /** The guest the cookie belongs to (signed-in loops). */
  readonly guest?: string;
  /** Default `/p/<kind>`. */
  readonly path?: string;
  /** What a 200 must be: the app's JSON for the guest (default), or a body of this many bytes. */
  readonly expectBytes?: number;
  /** A new connection for every request (clients without keep-alive: scripts, health checks). */
  readonly newConnections?: boolean;
}

export interface Load {
  readonly samples: readonly Sample[];
  /** How many loops run. */
  readonly loops: number;
  /** Resolves when every loop has finished `count` more requests than now. */
  eachLoopCompletes(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves with the first sample from now on that `predicate` accepts. */
  waitForSample(predicate: (sample: Sample) => boolean, timeoutMs?: number, what?: string): Promise<Sample>;
  /** Stops every loop after its current request; resolves with all samples. */
  stop(): Promise<readonly Sample[]>;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Attempt {
  readonly outcome: Outcome;
  readonly connectionClose: boolean;
  readonly reusedSocket: boolean;
  readonly detail: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface BoundedRequest {
  readonly method?: string;
  readonly path: string;
  readonly headers: http.OutgoingHttpHeaders;
  readonly body?: string;
}

/**
 * One request to the gateway at `port` with the client-side bound: resolves (never rejects)
 * with the status of a whole answer, or what went wrong instead.
 */
export function boundedRequest(port: number, options: BoundedRequest, agent: http.Agent | false = false): Promise<Attempt> {
  return new Promise((resolve) => {
    let settled = false;
    let reusedSocket = false;
    let headers: http.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    const finish = (outcome: Outcome, connectionClose = false, detail?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ outcome, connectionClose, reusedSocket, detail, headers, body: Buffer.concat(chunks) });
    };
    const req = http.request({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers, agent }, (res) => {
      headers = res.headers;
      const connectionClose = /\bclose\b/i.test(String(res.headers.connection ?? ''));
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', () => undefined);
      res.on('close', () => finish(res.complete ? (res.statusCode ?? 0) : 'cut', connectionClose));
    });
    const timer = setTimeout(() => {
      req.destroy(new Error('client-side bound'));
      finish('timeout');
    }, REQUEST_BOUND_MS);
    req.on('socket', () => (reusedSocket = req.reusedSocket));
    req.on('error', (error: NodeJS.ErrnoException) => {
      reusedSocket ||= req.reusedSocket;
      if (error.code === 'ECONNREFUSED') return finish('refused', false, error.code);
      finish('reset', false, error.code ?? error.message);
    });
    req.end(options.body);
  });
}

/** A load loop's request: tagged for the test app, and judged: a 200 must be the app's answer for this guest. */
async function sendOnce(port: number, spec: LoopSpec, agent: http.Agent | false, sequence: string): Promise<Attempt> {
  const headers: http.OutgoingHttpHeaders = { host: APP_HOST, accept: 'application/json', 'x-fault-kind': spec.kind, 'x-fault-seq': sequence };
  if (spec.guest) headers['x-fault-guest'] = spec.guest;
  if (spec.cookie) headers.cookie = spec.cookie;
  const attempt = await boundedRequest(port, { path: spec.path ?? `/p/${spec.kind}`, headers }, agent);
  if (attempt.outcome !== 200 || spec.kind !== 'signed-in') return attempt;
  if (spec.expectBytes !== undefined) return attempt.body.length === spec.expectBytes ? attempt : { ...attempt, outcome: 'wrong-body' };
  let email: unknown;
  try {
    email = (JSON.parse(attempt.body.toString('utf8')) as { email?: unknown }).email;
  } catch {
    email = undefined;
  }
  return email === spec.guest ? attempt : { ...attempt, outcome: 'wrong-body' };
}

/** Starts one loop per spec. */
export function startLoad(specs: readonly LoopSpec[]): Load {
  const samples: Sample[] = [];
  const completed = specs.map(() => 0);
  const watchers = new Set<() => void>();
  let stopped = false;

  const runLoop = async (spec: LoopSpec, loop: number) => {
    const agent = new http.Agent({ keepAlive: !spec.newConnections, maxSockets: 1 });
    const deadline = Date.now() + LOOP_MAX_MS;
    try {
      for (let count = 0; !stopped && count < LOOP_MAX_REQUESTS && Date.now() < deadline; count += 1) {
        const port = spec.ports[count % spec.ports.length]!;
        const startedAt = Date.now();
        const sequence = `${loop}:${count}`;
        let attempt = await sendOnce(port, spec, agent, sequence);
        let retried = false;
        if (attempt.outcome === 'reset' && attempt.reusedSocket) {
          retried = true;
          attempt = await sendOnce(port, spec, agent, sequence);
        }
        samples.push({
          loop,
          sequence,
          kind: spec.kind,
          guest: spec.guest,
          port,
          startedAt,
          endedAt: Date.now(),
          outcome: attempt.outcome,
          connectionClose: attempt.connectionClose,
          retried,
          reusedSocket: attempt.reusedSocket,
          detail: attempt.detail,
        });
        completed[loop]! += 1;
        for (const watcher of [...watchers]) watcher();
        await delay(PACING_MS);
      }
    } finally {
      agent.destroy();
    }
  };
  const loops = specs.map((spec, index) => runLoop(spec, index));

  const watch = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const attempt = () => {
        const found = check();
        if (found === undefined) return;
        watchers.delete(attempt);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        watchers.delete(attempt);
        reject(new Error(`${what}: not seen within ${timeoutMs} ms (${describeOutcomes(samples.slice(-50))} in the last requests)`));
      }, timeoutMs);
      watchers.add(attempt);
      attempt();
    });

  return {
    samples,
    loops: specs.length,
    eachLoopCompletes(count, timeoutMs = 15_000) {
      const targets = completed.map((done) => done + count);
      return watch(() => (completed.every((done, index) => done >= targets[index]!) ? true : undefined), timeoutMs, `each loop completing ${count} more requests`).then(() => undefined);
    },
    waitForSample(predicate, timeoutMs = 15_000, what = 'a matching answer') {
      const from = samples.length;
      return watch(() => samples.slice(from).find(predicate), timeoutMs, what);
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return samples;
    },
  };
}

/** The usual mix: one signed-in loop per cookie, and one loop each with no, a forged and an ended cookie. */
export function standardLoops(ports: readonly number[], guests: ReadonlyArray<{ email: string; cookie: string }>, cookies: { forged: string; ended: string }): LoopSpec[] {
  return [
    ...guests.map((guest): LoopSpec => ({ kind: 'signed-in', ports, cookie: guest.cookie, guest: guest.email })),
    { kind: 'anonymous', ports },
    { kind: 'forged', ports, cookie: cookies.forged },
    { kind: 'ended', ports, cookie: cookies.ended },
  ];
}

/** `200×412 503×37` */
export function describeOutcomes(samples: readonly Sample[]): string {
  const counts = new Map<Outcome, number>();
  for (const sample of samples) counts.set(sample.outcome, (counts.get(sample.outcome) ?? 0) + 1);
  if (counts.size === 0) return 'none';
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([outcome, count]) => `${outcome}×${count}`)
    .join(' ');
}

/** The samples that started in [from, to). */
export function startedBetween(samples: readonly Sample[], from: number, to = Number.POSITIVE_INFINITY): Sample[] {
  return samples.filter((sample) => sample.startedAt >= from && sample.startedAt < to);
}

/** Samples of these kinds. */
export function ofKind(samples: readonly Sample[], ...kinds: LoadKind[]): Sample[] {
  return samples.filter((sample) => kinds.includes(sample.kind));
}

/** The first signed-in sample started at or after `from` whose outcome is `success`: the recovery. */
export function firstSuccessAfter(samples: readonly Sample[], from: number, success: Outcome = 200): Sample | undefined {
  return samples.filter((sample) => sample.kind === 'signed-in' && sample.startedAt >= from && sample.outcome === success).sort((a, b) => a.endedAt - b.endedAt)[0];
}

/**
 * Protected requests that reached the app without a valid session: anything an
 * unauthenticated loop sent, and anything without the identity of the guest who sent it.
 */
export function reachedAppWithoutSession(records: readonly UpstreamRecord[]): UpstreamRecord[] {
  return records.filter((record) => record.kind !== 'signed-in' || record.email === undefined || record.email !== record.guest);
}

/** Requests that hit the client-side bound. */
export function hungRequests(samples: readonly Sample[]): Sample[] {
  return samples.filter((sample) => sample.outcome === 'timeout');
}

/**
 * Asserts every sample's outcome is one of `allowed`, with the counts in the message (and
 * the first offenders' details) when not.
 */
export function assertOutcomes(samples: readonly Sample[], allowed: readonly Outcome[], what: string): void {
  const wrong = samples.filter((sample) => !allowed.includes(sample.outcome));
  if (wrong.length === 0) return;
  const examples = wrong
    .slice(0, 3)
    .map((sample) => {
      const connection = `${sample.retried ? 're-sent, ' : ''}on a ${sample.reusedSocket ? 'reused' : 'new'} connection`;
      return `${sample.kind} ${sample.outcome}${sample.detail ? ` (${sample.detail})` : ''} ${connection}, started at ${new Date(sample.startedAt).toISOString()} (+${sample.startedAt - (samples[0]?.startedAt ?? 0)} ms), ended after ${sample.endedAt - sample.startedAt} ms`;
    })
    .join('; ');
  throw new Error(`${what}: ${wrong.length} of ${samples.length} answers not in [${allowed.join(', ')}]: ${describeOutcomes(samples)}; e.g. ${examples}`);
}

/** Sends each cookie once to `path`; resolves with the statuses (200 only when the app answered for that guest). */
export async function checkSessions(port: number, guests: ReadonlyArray<{ email: string; cookie: string }>): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const guest of guests) {
    const attempt = await sendOnce(port, { kind: 'signed-in', ports: [port], cookie: guest.cookie, guest: guest.email, path: '/p/check' }, false, 'check');
    outcomes.push(attempt.outcome);
  }
  return outcomes;
}

/** What a scenario prints: one line per fact, under the test's name (`node --test` diagnostics). */
export function report(t: TestContext, lines: ReadonlyArray<string | undefined>): void {
  for (const line of lines) if (line !== undefined) t.diagnostic(line);
}

export interface Phases {
  /** Finished before the fault began. */
  readonly before: Sample[];
  /** Everything else that began before the recovery. */
  readonly during: Sample[];
  /** Began at or after the recovery. */
  readonly after: Sample[];
}

/** Splits the samples around a fault that began at `faultStart` and was recovered from at `recoveredAt`. */
export function splitPhases(samples: readonly Sample[], faultStart: number, recoveredAt: number): Phases {
  return {
    before: samples.filter((sample) => sample.endedAt <= faultStart),
    during: samples.filter((sample) => sample.endedAt > faultStart && sample.startedAt < recoveredAt),
    after: samples.filter((sample) => sample.startedAt >= recoveredAt),
  };
}

/** Resolves when every guest has had an answer (started at or after `from`) that `accept` takes; with the latest such sample. */
export async function eachGuestSees(load: Load, guests: ReadonlyArray<{ email: string }>, accept: (sample: Sample) => boolean, what: string, timeoutMs = 15_000): Promise<Sample> {
  const seen = await Promise.all(
    guests.map((guest) => {
      const already = load.samples.find((sample) => sample.guest === guest.email && accept(sample));
      return already ?? load.waitForSample((sample) => sample.guest === guest.email && accept(sample), timeoutMs, `${what} (${guest.email})`);
    }),
  );
  return seen.sort((a, b) => b.endedAt - a.endedAt)[0]!;
}

/** Resolves when every loop has had an answer that `accept` takes; with the latest such sample. */
export async function eachLoopSees(load: Load, accept: (sample: Sample) => boolean, what: string, timeoutMs = 15_000): Promise<Sample> {
  const seen = await Promise.all(
    Array.from({ length: load.loops }, (_, loop) => {
      const already = load.samples.find((sample) => sample.loop === loop && accept(sample));
      return already ?? load.waitForSample((sample) => sample.loop === loop && accept(sample), timeoutMs, `${what} (loop ${loop})`);
    }),
  );
  return seen.sort((a, b) => b.endedAt - a.endedAt)[0]!;
}

/** The report lines for the load: per kind and phase, the outcomes. */
export function describeLoad(samples: readonly Sample[], phases: Phases): string[] {
  const lines = [`load: ${samples.length} requests, ${samples.filter((sample) => sample.retried).length} re-sent after a reused connection closed, ${hungRequests(samples).length} hit the ${REQUEST_BOUND_MS} ms bound`];
  for (const kinds of [['signed-in'], ['anonymous', 'forged', 'ended']] as LoadKind[][]) {
    const parts = (['before', 'during', 'after'] as const).map((name) => `${name} ${describeOutcomes(ofKind(phases[name], ...kinds))}`);
    lines.push(`  ${kinds.join('/')}: ${parts.join(' | ')}`);
  }
  return lines;
}

/** One guest asking for a code: the email form, its POST, the code page it redirects to. */
export interface SignInAttempt {
  readonly email: string;
  readonly startedAt: number;
  readonly endedAt: number;
  /** `code-page` when the three answers were right (200, 303 to the code page, 200), else the step and what it got. */
  readonly outcome: string;
}

export interface SignInLoop {
  readonly attempts: readonly SignInAttempt[];
  /** Resolves when `count` more attempts have finished. */
  completes(count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<readonly SignInAttempt[]>;
}

function rememberCookies(jar: Map<string, string>, headers: http.IncomingHttpHeaders): void {
  for (const line of headers['set-cookie'] ?? []) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
}

/** Asks for a code as the email form does, from `localAddress`: `code-page`, or the step that went wrong and its outcome. */
export async function askForCode(port: number, email: string, localAddress: string): Promise<string> {
  const jar = new Map<string, string>();
  const cookie = () => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress } as http.AgentOptions);
  try {
    const form = await boundedRequest(port, { path: `/.gatehouse/login?rd=${encodeURIComponent(`http://${APP_HOST}/`)}`, headers: { host: APP_HOST, accept: 'text/html' } }, agent);
    if (form.outcome !== 200) return `email form ${form.outcome}`;
    rememberCookies(jar, form.headers);
    const page = form.body.toString('utf8');
    const body = new URLSearchParams({ email, csrf: hiddenField(page, 'csrf'), rd: hiddenField(page, 'rd') }).toString();
    const post = await boundedRequest(
      port,
      { method: 'POST', path: '/.gatehouse/login', headers: { host: APP_HOST, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', origin: `http://${APP_HOST}`, cookie: cookie() }, body },
      agent,
    );
    const location = String(post.headers.location ?? '');
    if (post.outcome !== 303 || !location.startsWith('/.gatehouse/code')) return `code request ${post.outcome}`;
    rememberCookies(jar, post.headers);
    const codePage = await boundedRequest(port, { path: location, headers: { host: APP_HOST, accept: 'text/html', cookie: cookie() } }, agent);
    return codePage.outcome === 200 ? 'code-page' : `code page ${codePage.outcome}`;
  } finally {
    agent.destroy();
  }
}

/**
 * A loop of guests asking for codes (a new address each time, `prefix-N@example.com`, from
 * `localAddress`), bounded like the other loops. The mails go out after the answers.
 */
export function startSignInLoop(port: number, prefix: string, localAddress: string): SignInLoop {
  const attempts: SignInAttempt[] = [];
  const watchers = new Set<() => void>();
  let stopped = false;
  const run = async () => {
    const deadline = Date.now() + LOOP_MAX_MS;
    for (let count = 0; !stopped && count < LOOP_MAX_REQUESTS && Date.now() < deadline; count += 1) {
      const email = `${prefix}-${count}@example.com`;
      const startedAt = Date.now();
      const outcome = await askForCode(port, email, localAddress);
      attempts.push({ email, startedAt, endedAt: Date.now(), outcome });
      for (const watcher of [...watchers]) watcher();
      await delay(PACING_MS);
    }
  };
  const running = run();
  return {
    attempts,
    completes(count, timeoutMs = 15_000) {
      const target = attempts.length + count;
      return new Promise((resolve, reject) => {
        const check = () => {
          if (attempts.length < target) return;
          watchers.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`${count} more sign-in attempts not finished within ${timeoutMs} ms`));
        }, timeoutMs);
        watchers.add(check);
      });
    },
    async stop() {
      stopped = true;
      await running;
      return attempts;
    },
  };
}
