import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { SignallingError } from '../errors/signalling-error.js';
import type { Health } from '@alloquy/control/health/health.js';
import type { SignallingMetrics } from '../metrics/metrics.js';

export interface SignallingAppDeps {
  routes: readonly Router[];
  health: Health;
  metrics: SignallingMetrics;
  log: Logger;
}

const BEARER = /^Bearer ([^\s]+)$/i;

/** The bearer token of an `Authorization` header, or undefined. */
export function bearerFromHeader(header: string | undefined): string | undefined {
  const match = header ? BEARER.exec(header) : null;
  return match ? match[1] : undefined;
}

/** The bearer token of a request, or an `unauthorized` error. */
export function bearerToken(req: Request): string {
  const token = bearerFromHeader(req.headers.authorization);
  if (token === undefined) throw new SignallingError('unauthorized', 'an "Authorization: Bearer <access token>" header is required');
  return token;
}

/** HTTP side of the service: TURN credentials, health, metrics. The WebSocket is attached in server.ts. */
export function createSignallingApp(deps: SignallingAppDeps): express.Express {
  const { health, metrics, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => {
    const end = metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const routePath = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      end({ method: req.method, route: routePath, status: String(res.statusCode) });
    });
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Answers carry credentials: never to be cached.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  // Called from the web client's origin with a bearer token and never a cookie: any origin may call.
  app.use((req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.setHeader('Access-Control-Allow-Methods', 'GET, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization');
      res.setHeader('Access-Control-Max-Age', '86400');
      res.status(204).end();
      return;
    }
    next();
  });
  app.get('/healthz', (_req, res) => {
    const report = health.report();
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });
  app.get('/metrics', async (_req, res, next) => {
    try {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    } catch (err) {
      next(err);
    }
  });
  for (const router of deps.routes) app.use(router);

  app.use((_req, _res, next) => next(new SignallingError('not_found', 'no such endpoint')));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error = err instanceof SignallingError ? err : new SignallingError('internal', 'internal error');
    if (error.code === 'internal') log.error({ err, method: req.method, url: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(error.status).json(error.toJSON());
  });
  return app;
}
