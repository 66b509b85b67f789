/**
 * A raw HTTP/1.x client for integration tests that must send what no client library would:
 * absolute-form targets, requests without a Host header, control characters in the request
 * line, duplicate header spellings. The caller writes the request head as text; the response
 * is parsed just enough to read the status, headers and body.
 */
import net from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Lower-case header names, every value in arrival order. */
  readonly headers: Readonly<Record<string, string[]>>;
  readonly body: Buffer;
  text(): string;
}

const HEAD_END = Buffer.from('\r\n\r\n');

function decodeChunked(data: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd === -1) return { body: Buffer.concat(parts), complete: false };
    const size = Number.parseInt(data.subarray(offset, lineEnd).toString('latin1').split(';')[0]!.trim(), 16);
    if (Number.isNaN(size)) return { body: Buffer.concat(parts), complete: false };
    if (size === 0) return { body: Buffer.concat(parts), complete: data.indexOf(HEAD_END, lineEnd) !== -1 || data.length >= lineEnd + 4 };
    if (data.length < lineEnd + 2 + size + 2) return { body: Buffer.concat(parts), complete: false };
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}

/**
 * Sends `head` (request line and headers, CRLF-separated, without the blank line) and an
 * optional body on a new connection, and resolves with the first response. Rejects when no
 * complete response arrives within `timeoutMs`; a connection closed before any response
 * rejects as well.
 */
export function rawRequest(port: number, head: string, options: { body?: Buffer | string; timeoutMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`no complete response within ${options.timeoutMs ?? 3000} ms`)), options.timeoutMs ?? 3000);

    function parse(final: boolean): RawResponse | undefined {
      const data = Buffer.concat(chunks);
      const headEnd = data.indexOf(HEAD_END);
      if (headEnd === -1) return undefined;
      const lines = data.subarray(0, headEnd).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1]);
      if (!status) return undefined;
      const headers: Record<string, string[]> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim().toLowerCase();
        (headers[name] ??= []).push(line.slice(colon + 1).trim());
      }
      const rest = data.subarray(headEnd + 4);
      const make = (body: Buffer): RawResponse => ({ status, headers, body, text: () => body.toString('utf8') });
      if (headers['transfer-encoding']?.some((value) => /chunked/i.test(value))) {
        const decoded = decodeChunked(rest);
        return decoded.complete || final ? make(decoded.body) : undefined;
      }
      const length = headers['content-length']?.[0];
      if (length !== undefined) return rest.length >= Number(length) || final ? make(rest.subarray(0, Number(length))) : undefined;
      if (status === 204 || status === 304 || (status >= 100 && status < 200)) return make(Buffer.alloc(0));
      return final ? make(rest) : undefined;
    }

    function finish(error: Error | undefined, response?: RawResponse): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (response) resolve(response);
      else reject(error ?? new Error('connection closed before a response'));
    }

    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const response = parse(false);
      if (response) finish(undefined, response);
    });
    socket.on('end', () => finish(undefined, parse(true)));
    socket.on('close', () => finish(undefined, parse(true)));
    socket.on('error', (error) => finish(error, parse(true)));
    socket.write(`${head}\r\n\r\n`, 'latin1');
    if (options.body !== undefined) socket.write(options.body);
  });
}

/** Polls `check` every 10 ms until it returns true; rejects after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

