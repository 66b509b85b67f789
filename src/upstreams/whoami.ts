/**
 * `builtin:whoami`: a tiny app that shows what it received — method, path and every request
 * header — so an operator sees exactly what their app would get through the gateway. It is a
 * real HTTP server on a loopback port that the gateway proxies to like any upstream, so the
 * page reflects the real forwarding path, identity headers included.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { escapeHtml } from '../lib/html.js';

export interface WhoamiReport {
  readonly method: string;
  readonly path: string;
  readonly http_version: string;
  readonly remote_address: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body_bytes: number;
}

function wantsJson(req: http.IncomingMessage): boolean {
  if (/[?&]format=json(?:&|$)/.test(req.url ?? '')) return true;
  const accept = req.headers.accept ?? '';
  return !accept.includes('text/html') && (accept.includes('application/json') || accept === '' || accept === '*/*');
}

function renderWhoamiHtml(report: WhoamiReport): string {
  const headerRows = Object.entries(report.headers)
    .map(([name, value]) => `<tr><th scope="row">${escapeHtml(name)}</th><td>${escapeHtml(Array.isArray(value) ? value.join(', ') : (value ?? ''))}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>whoami</title><link rel="stylesheet" href="/.gatehouse/assets/gatehouse.css"></head>
<body><main class="wide">
<h1>What the app receives</h1>
<p>This is the built-in <code>whoami</code> app. It shows the request exactly as an app behind the gateway gets it.</p>
<table>
<tr><th scope="row">Method</th><td>${escapeHtml(report.method)}</td></tr>
<tr><th scope="row">Path</th><td>${escapeHtml(report.path)}</td></tr>
<tr><th scope="row">HTTP version</th><td>${escapeHtml(report.http_version)}</td></tr>
<tr><th scope="row">Body bytes</th><td>${report.body_bytes}</td></tr>
</table>
<h2>Headers</h2>
<table>
${headerRows}
</table>
</main></body></html>
`;
}

function handleWhoamiRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
  let bodyBytes = 0;
  req.on('data', (chunk: Buffer) => {
    bodyBytes += chunk.length;
  });
  req.on('end', () => {
    const report: WhoamiReport = {
      method: req.method ?? '',
      path: req.url ?? '',
      http_version: req.httpVersion,
      remote_address: req.socket.remoteAddress ?? '',
      headers: req.headers,
      body_bytes: bodyBytes,
    };
    const json = wantsJson(req);
    const body = json ? `${JSON.stringify(report, null, 2)}\n` : renderWhoamiHtml(report);
    res.writeHead(200, {
      'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; style-src 'self'; frame-ancestors 'none'",
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}

export interface RunningBuiltinUpstream {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the whoami app on 127.0.0.1 at an ephemeral port. */
export async function startWhoamiServer(): Promise<RunningBuiltinUpstream> {
  const server = http.createServer(handleWhoamiRequest);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Exclusive: in a cluster worker, its own port, not one routed through the primary.
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
