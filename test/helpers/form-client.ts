/**
 * A scripted HTTP client with a cookie jar, like `curl -c jar -b jar`: keeps cookies per the
 * Set-Cookie headers it gets, sends them back, reads hidden form fields, follows nothing by
 * itself (tests assert each redirect). Requests go to the gateway's loopback port with the
 * Host the test chooses.
 *
 * It is NOT a browser and must not stand in for one: it sends what the test tells it (its
 * form POSTs carry a hand-set `Origin`), so it can attack the protocol, but it cannot show
 * what a real browser sends. What a guest's browser does is tested in test/e2e with Chromium.
 */
import type http from 'node:http';
import { request, type SimpleResponse } from './servers.js';

export class FormClient {
  readonly cookies = new Map<string, string>();

  constructor(
    readonly port: number,
    readonly host: string,
    /** Extra headers on every request (e.g. a fixed Accept). */
    readonly defaultHeaders: http.OutgoingHttpHeaders = { accept: 'text/html' },
    /** The loopback source address to connect from (127.x.y.z), so one test can be many clients. */
    readonly localAddress?: string,
  ) {}

  cookieHeader(): string | undefined {
    return this.cookies.size ? [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') : undefined;
  }

  private remember(response: SimpleResponse): void {
    for (const line of response.headers['set-cookie'] ?? []) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/;\s*max-age=0/i.test(line) || /expires=thu, 01 jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(path: string, headers: http.OutgoingHttpHeaders = {}): Promise<SimpleResponse> {
    const cookie = this.cookieHeader();
    const response = await request(this.port, {
      localAddress: this.localAddress,
      path,
      headers: { host: this.host, ...this.defaultHeaders, ...(cookie ? { cookie } : {}), ...headers },
    });
    this.remember(response);
    return response;
  }

  async postForm(path: string, fields: Record<string, string | string[]>, headers: http.OutgoingHttpHeaders = {}): Promise<SimpleResponse> {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) {
      for (const item of Array.isArray(value) ? value : [value]) body.append(name, item);
    }
    const cookie = this.cookieHeader();
    const response = await request(this.port, {
      localAddress: this.localAddress,
      method: 'POST',
      path,
      headers: {
        host: this.host,
        ...this.defaultHeaders,
        'content-type': 'application/x-www-form-urlencoded',
        origin: `http://${this.host}`,
        ...(cookie ? { cookie } : {}),
        ...headers,
      },
      body: body.toString(),
    });
    this.remember(response);
    return response;
  }
}

/** A JSON POST with the jar's cookies and a hand-set `Origin`, as the gateway's own page script sends it. */
export async function postJson(client: FormClient, path: string, value: unknown, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; json: Record<string, unknown>; response: SimpleResponse }> {
  const cookie = client.cookieHeader();
  const response = await request(client.port, {
    method: 'POST',
    path,
    headers: { host: client.host, accept: 'application/json', 'content-type': 'application/json', origin: `http://${client.host}`, ...(cookie ? { cookie } : {}), ...headers },
    body: JSON.stringify(value),
  });
  for (const line of response.headers['set-cookie'] ?? []) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    const value = pair.slice(eq + 1).trim();
    if (value === '' || /;\s*max-age=0/i.test(line)) client.cookies.delete(pair.slice(0, eq).trim());
    else client.cookies.set(pair.slice(0, eq).trim(), value);
  }
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(response.body.toString()) as Record<string, unknown>;
  } catch {
    // Not JSON (an HTML refusal page): the status says enough.
  }
  return { status: response.status, json, response };
}

/** The value of a hidden input in a page. */
export function hiddenField(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no hidden field "${name}" in the page`);
  return match[1]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}
