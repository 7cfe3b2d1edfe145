import type { Health } from '@alloquy/service-kit/health';
import { bearerApiHeaders, bearerFromHeader, createServiceApp } from '@alloquy/service-kit/http';
import type express from 'express';
import type { Request, Router } from 'express';
import type { Logger } from '@alloquy/service-kit/log';
import { SignallingError } from '../errors/signalling-error.js';
import type { SignallingMetrics } from '../metrics/metrics.js';

export interface SignallingAppDeps {
  routes: readonly Router[];
  health: Health;
  metrics: SignallingMetrics;
  log: Logger;
}

/** The bearer token of a request, or an `unauthorized` error. */
export function bearerToken(req: Request): string {
  const token = bearerFromHeader(req.headers.authorization);
  if (token === undefined) throw new SignallingError('unauthorized', 'an "Authorization: Bearer <access token>" header is required');
  return token;
}

/** HTTP side of the service: TURN credentials, health, metrics. The WebSocket is attached in server.ts. */
export function createSignallingApp(deps: SignallingAppDeps): express.Express {
  return createServiceApp({
    health: deps.health,
    metrics: deps.metrics,
    log: deps.log,
    // Answers carry credentials: never to be cached.
    before: [bearerApiHeaders({ methods: 'GET, OPTIONS', allowHeaders: 'Authorization', noStore: true })],
    mount(app) {
      for (const router of deps.routes) app.use(router);
    },
    toError: (err) => (err instanceof SignallingError ? err : new SignallingError('internal', 'internal error')),
    notFound: () => new SignallingError('not_found', 'no such endpoint'),
    // The path without its query string.
    logUrl: (req) => req.path,
  });
}
