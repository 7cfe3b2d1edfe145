import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { AccountService } from '../accounts/account-service.js';
import { ControlError } from '../errors/control-error.js';
import type { Health } from '../health/health.js';
import type { ControlMetrics } from '../metrics/metrics.js';
import { buildOpenApi } from './openapi.js';
import { expressPath, type Route } from './route.js';
import { bearerFromHeader, createServiceApp } from './service-app.js';

export interface HttpAppDeps {
  routes: readonly Route[];
  accounts: AccountService;
  health: Health;
  metrics: ControlMetrics;
  log: Logger;
  version: string;
}

/** Largest JSON body any endpoint accepts: credentials and settings are small. */
const JSON_LIMIT = '64kb';

function bearer(req: Request): string {
  const token = bearerFromHeader(req.headers.authorization);
  if (!token) throw new ControlError('unauthorized', 'an "Authorization: Bearer <access token>" header is required');
  return token;
}

/**
 * The HTTP API. Every route comes from the route table, validated by its schemas, and every
 * failure leaves as `{"error":{"code","message"}}` with a stable code.
 */
export function createHttpApp(deps: HttpAppDeps): express.Express {
  const { routes, accounts, health, metrics, log } = deps;
  const openapi = buildOpenApi(routes, { title: 'Alloquy control API', version: deps.version });
  return createServiceApp({
    health,
    metrics,
    log,
    before: [express.json({ limit: JSON_LIMIT, strict: true })],
    toError: toControlError,
    notFound: () => new ControlError('not_found', 'no such endpoint'),
    mount(app) {
      app.get('/api/v1/openapi.json', (_req, res) => {
        res.json(openapi);
      });
      mountRoutes(app, routes, accounts);
    },
  });
}

/** Every route of the table, validated by its schemas and authorized by its `auth`. */
function mountRoutes(app: express.Express, routes: readonly Route[], accounts: AccountService): void {
  for (const r of routes) {
    app[r.method](expressPath(r.path), async (req: Request, res: Response, next: NextFunction) => {
      try {
        let account = undefined as unknown as ReturnType<AccountService['authenticateAccessToken']>;
        if (r.auth !== 'none') {
          account = accounts.authenticateAccessToken(bearer(req));
          if (r.auth === 'admin' && !account.isAdmin) throw new ControlError('forbidden', 'only an admin may do this');
        }
        let body: unknown = undefined;
        if (r.body) {
          // No body (or an empty one: fetch sends Content-Length: 0) is an empty object, so a
          // route whose fields are all optional needs none, and one with required fields names them.
          const empty = req.headers['content-length'] === '0' || req.is('application/json') === null;
          if (!empty && !req.is('application/json')) {
            throw new ControlError('unsupported_media_type', 'send the request body as application/json');
          }
          const parsed = r.body.safeParse(empty ? {} : req.body);
          if (!parsed.success) throw new ControlError('invalid_request', `invalid request body: ${issues(parsed.error)}`);
          body = parsed.data;
        }
        let query: Record<string, unknown> = {};
        if (r.query) {
          // Spread: express hands over a null-prototype object.
          const parsed = r.query.safeParse({ ...(req.query as Record<string, unknown>) });
          if (!parsed.success) throw new ControlError('invalid_request', `invalid query string: ${issues(parsed.error)}`);
          query = parsed.data as Record<string, unknown>;
        }
        const result = await r.handler({ body, query, params: req.params as Record<string, string>, account, ip: req.socket.remoteAddress, req });
        if (result.body === undefined) res.status(result.status).end();
        else res.status(result.status).json(result.body);
      } catch (err) {
        next(err);
      }
    });
  }

}

/** A validation failure in one line: `field: problem; other: problem`. */
function issues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/** Maps body-parser and other thrown errors onto our codes; hides internals. */
function toControlError(err: unknown): ControlError {
  if (err instanceof ControlError) return err;
  const e = err as { type?: string; status?: number };
  if (e?.type === 'entity.too.large') return new ControlError('payload_too_large', `the request body is larger than ${JSON_LIMIT}`);
  if (e?.type === 'entity.parse.failed') return new ControlError('invalid_request', 'the request body is not valid JSON');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return new ControlError('unsupported_media_type', 'the request body must be UTF-8 JSON');
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new ControlError('invalid_request', 'the request could not be read');
  }
  return new ControlError('internal', 'internal error');
}
