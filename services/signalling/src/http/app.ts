import type { Health } from '@alloquy/service-kit/health';
import { bearerApiHeaders, buildOpenApi, createServiceApp, mountRoutes } from '@alloquy/service-kit/http';
import express from 'express';
import type { Logger } from '@alloquy/service-kit/log';
import type { VoiceAccess } from '../authz/voice-access.js';
import { SignallingError, signallingError } from '../errors/signalling-error.js';
import type { SignallingMetrics } from '../metrics/metrics.js';
import type { SignallingRouteTable } from './route.js';

export interface SignallingAppDeps {
  routes: SignallingRouteTable;
  /** Authenticates the callers of `auth: 'user'` routes. */
  access: Pick<VoiceAccess, 'identify'>;
  health: Health;
  metrics: SignallingMetrics;
  log: Logger;
  version: string;
}

/**
 * HTTP side of the service: TURN credentials from the route table, its OpenAPI document, health,
 * metrics. The WebSocket is attached in server.ts and documented in PROTOCOL.md.
 */
export function createSignallingApp(deps: SignallingAppDeps): express.Express {
  const openapi = buildOpenApi(deps.routes, { title: 'Alloquy signalling API', version: deps.version });
  return createServiceApp({
    health: deps.health,
    metrics: deps.metrics,
    log: deps.log,
    // Answers carry credentials: never to be cached.
    before: [bearerApiHeaders({ methods: 'GET, OPTIONS', allowHeaders: 'Authorization', noStore: true })],
    mount(app) {
      app.get('/api/v1/openapi.json', (_req, res) => {
        res.json(openapi);
      });
      // A router of its own: an OPTIONS request that is no preflight answers with the path's methods.
      const router = express.Router();
      mountRoutes(router, deps.routes, {
        authenticate: async (token) => ({ identity: await deps.access.identify(token) }),
        error: signallingError,
      });
      app.use(router);
    },
    toError: (err) => (err instanceof SignallingError ? err : new SignallingError('internal', 'internal error')),
    notFound: () => new SignallingError('not_found', 'no such endpoint'),
    // The path without its query string.
    logUrl: (req) => req.path,
  });
}
