/**
 * The HTTP shell shared by the control server and the services beside it (attachments,
 * signalling): route-labelled request timing, `/healthz`, `/metrics`, and the closing not-found and error
 * handlers that send every failure as the service's own error type. Requests for the JSON routes
 * of the route table take a direct path around express when they can (see route-dispatch.ts).
 */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Histogram, Registry } from 'prom-client';
import type { Health } from '../health/health.js';
import type { Logger } from '../log/logger.js';
import { nodeMiddleware, RouteDispatcher, type TimeRequest } from './route-dispatch.js';

export { nodeMiddleware };

/** What the shell needs of a service's error type. */
export interface ServiceHttpError {
  readonly code: string;
  readonly status: number;
  /** Sent as `Retry-After` (rate limits). */
  readonly retryAfterSeconds?: number;
  toJSON(): unknown;
}

export interface ServiceAppOptions {
  health: Health;
  metrics: { httpDuration: Histogram<'method' | 'route' | 'status'>; registry: Registry };
  log: Logger;
  /**
   * Run on every request before any route: response headers, CORS, body parsing. Mark each with
   * `nodeMiddleware` when it uses only node's request and response API: unmarked ones turn the
   * route table's direct path off.
   */
  before: readonly RequestHandler[];
  /**
   * The service's own endpoints, mounted after `/healthz` and `/metrics`. Mount the route table
   * (`mountRoutes`) first: only a table mounted before anything else takes the direct path.
   */
  mount(app: express.Express): void;
  /** Any thrown error as the service's error; code `internal` is logged. */
  toError(err: unknown): ServiceHttpError;
  /** The error for a path no route serves. */
  notFound(): ServiceHttpError;
  /** How a failed request's URL is logged (default: `req.originalUrl`). */
  logUrl?(req: Request): string;
}

const BEARER = /^Bearer ([^\s]+)$/i;

/** The bearer token of an `Authorization` header, or undefined. */
export function bearerFromHeader(header: string | undefined): string | undefined {
  const match = header ? BEARER.exec(header) : null;
  return match ? match[1] : undefined;
}

export interface BearerApiHeaderOptions {
  /** Methods a cross-origin page may use (`Access-Control-Allow-Methods`). */
  methods: string;
  /** Request headers it may send. */
  allowHeaders: string;
  /** Response headers its scripts may read. */
  exposeHeaders?: string;
  /** Answers carry credentials: `Cache-Control: no-store` on every response. */
  noStore?: boolean;
}

/**
 * The headers of an API that web clients call with a bearer token and never a cookie: nothing it
 * serves is to be content-sniffed, and any origin may call (a page without the token can do
 * nothing with it), so CORS is open and preflights are answered here.
 */
export function bearerApiHeaders(options: BearerApiHeaderOptions): RequestHandler {
  return nodeMiddleware((req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (options.noStore) res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (options.exposeHeaders) res.setHeader('Access-Control-Expose-Headers', options.exposeHeaders);
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.setHeader('Access-Control-Allow-Methods', options.methods);
      res.setHeader('Access-Control-Allow-Headers', options.allowHeaders);
      res.setHeader('Access-Control-Max-Age', '86400');
      res.statusCode = 204;
      res.end();
      return;
    }
    next();
  });
}

/** Starts `server` listening; resolves with the port bound (port 0 asks for a free one). */
export function listenHttp(server: HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops taking connections, cuts those still open (kept-alive ones too) and resolves once closed. */
export function closeHttp(server: HttpServer): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export function createServiceApp(options: ServiceAppOptions): express.Express {
  const { health, metrics, log } = options;
  const logUrl = options.logUrl ?? ((req: Request) => req.originalUrl);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const timeRequest: TimeRequest = (req, res, route) => {
    const end = metrics.httpDuration.startTimer();
    res.on('finish', () => {
      // The route pattern, not the raw URL, so label cardinality stays bounded.
      end({ method: req.method!, route: route() ?? 'unmatched', status: String(res.statusCode) });
    });
  };
  app.use((req, res, next) => {
    timeRequest(req, res, () => (req.route as { path?: string } | undefined)?.path);
    next();
  });
  for (const handler of options.before) app.use(handler);

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

  const onError = (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error = options.toError(err);
    if (error.code === 'internal') log.error({ err, method: req.method, url: logUrl(req) }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error.retryAfterSeconds) res.setHeader('Retry-After', String(error.retryAfterSeconds));
    res.status(error.status).json(error.toJSON());
  };
  const dispatcher = new RouteDispatcher({ app, timeRequest, before: options.before, onError });
  options.mount(app);

  app.use((_req, _res, next) => next(options.notFound()));
  // express recognises an error handler by its four parameters.
  app.use(onError);

  // Every request reaches express through app.handle (the app itself, a server, or a parent app
  // mounting it): the direct path goes first and leaves express whatever it does not serve.
  const handled = app as unknown as { handle(req: Request, res: Response, callback?: NextFunction): void };
  const expressHandle = handled.handle.bind(app);
  handled.handle = (req, res, callback) => {
    if (!dispatcher.serve(req, res)) expressHandle(req, res, callback);
  };
  return app;
}
