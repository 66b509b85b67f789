/**
 * The admin listener (SPEC section 3): `/healthz` (the process is up), `/readyz` (200 only
 * when the config and the session store are usable, 503 while draining), `/metrics`
 * (Prometheus text), `/jwks.json` (the assertion's public keys, for apps that reach the admin
 * listener but not a route's host). It listens on loopback by default and never on the
 * guests' port.
 */
import express, { type Express, type Router } from 'express';

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves to '' when ready, or a short reason. */
  readonly check: () => Promise<string> | string;
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, string>>;
}

/** Runs every check; ready only when all pass. */
export async function evaluateReadiness(readinessChecks: readonly ReadinessCheck[]): Promise<Readiness> {
  const checks: Record<string, string> = {};
  let ready = true;
  for (const { name, check } of readinessChecks) {
    let problem: string;
    try {
      problem = await check();
    } catch (error) {
      problem = error instanceof Error ? error.message : 'failed';
    }
    checks[name] = problem || 'ok';
    if (problem) ready = false;
  }
  return { ready, checks };
}

export interface AdminAppDeps {
  /** Prometheus text of the metrics (one process, or every worker aggregated). */
  readonly metricsText: () => Promise<string>;
  readonly metricsContentType: string;
  readonly readiness: () => Promise<Readiness>;
  /** The admin API (`/api/…`, bearer token), where this process has a session store. */
  readonly api?: Router;
  /** The JSON Web Key Set of the identity assertion. */
  readonly jwks?: () => object;
}

/** How long apps may cache the JWKS: a rotated-in key is published a whole rotation ahead. */
export const JWKS_CACHE_CONTROL = 'public, max-age=300';

export function createAdminApp(deps: AdminAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req, res, next) => {
    res.setHeader('cache-control', 'no-store');
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const { ready, checks } = await deps.readiness();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });

  if (deps.jwks) {
    const jwks = deps.jwks;
    app.get('/jwks.json', (_req, res) => {
      res.setHeader('cache-control', JWKS_CACHE_CONTROL);
      res.setHeader('content-type', 'application/jwk-set+json');
      res.send(JSON.stringify(jwks()));
    });
  }

  app.get('/metrics', async (_req, res) => {
    try {
      const text = await deps.metricsText();
      res.setHeader('content-type', deps.metricsContentType);
      res.send(text);
    } catch {
      res.status(503).json({ error: 'metrics_unavailable' });
    }
  });

  if (deps.api) app.use('/api', deps.api);

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });
  return app;
}
