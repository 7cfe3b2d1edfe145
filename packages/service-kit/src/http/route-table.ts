import type express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import type { MakeError } from '../errors/service-error.js';
import { expressPath, type Route, type RouteContext } from './route.js';
import { bearerFromHeader } from './service-app.js';

export interface RouteTableOptions<Caller, E> {
  /** The caller a bearer token stands for; throws the service's error when the token is not valid. */
  authenticate(token: string, req: Request): Caller | Promise<Caller>;
  /** Whether the caller may use `auth: 'admin'` routes. */
  isAdmin?(caller: Caller): boolean;
  /** The service's own error for a common code. */
  error: MakeError<E>;
}

/**
 * Mounts every route of the table on `app`: the bearer token authenticated by `auth`, the body
 * (JSON only) and query string validated by the route's schemas, and the result sent as JSON.
 * Anything thrown goes to the shell's error handler, as the service's error type.
 */
export function mountRoutes<Caller, E>(app: express.Express, routes: readonly Route<Caller>[], options: RouteTableOptions<Caller, E>): void {
  const { error } = options;
  for (const r of routes) {
    app[r.method](expressPath(r.path), async (req: Request, res: Response, next: NextFunction) => {
      try {
        let caller: Caller | undefined;
        if (r.auth !== 'none') {
          const token = bearerFromHeader(req.headers.authorization);
          if (!token) throw error('unauthorized', 'an "Authorization: Bearer <access token>" header is required');
          caller = await options.authenticate(token, req);
          if (r.auth === 'admin' && !options.isAdmin?.(caller)) throw error('forbidden', 'only an admin may do this');
        }
        let body: unknown = undefined;
        if (r.body) {
          // No body (or an empty one: fetch sends Content-Length: 0) is an empty object, so a
          // route whose fields are all optional needs none, and one with required fields names them.
          const empty = req.headers['content-length'] === '0' || req.is('application/json') === null;
          if (!empty && !req.is('application/json')) throw error('unsupported_media_type', 'send the request body as application/json');
          const parsed = r.body.safeParse(empty ? {} : req.body);
          if (!parsed.success) throw error('invalid_request', `invalid request body: ${issues(parsed.error)}`);
          body = parsed.data;
        }
        let query: Record<string, unknown> = {};
        if (r.query) {
          // Spread: express hands over a null-prototype object.
          const parsed = r.query.safeParse({ ...(req.query as Record<string, unknown>) });
          if (!parsed.success) throw error('invalid_request', `invalid query string: ${issues(parsed.error)}`);
          query = parsed.data as Record<string, unknown>;
        }
        const ctx: RouteContext = { body, query, params: req.params as Record<string, string>, ip: req.socket.remoteAddress, req };
        // The caller's fields sit beside the request's (`{ body, account, actor }` for the control server).
        const result = await r.handler((caller === undefined ? ctx : { ...ctx, ...caller }) as RouteContext & Partial<Caller>);
        if (result.body === undefined) res.status(result.status).end();
        else res.status(result.status).json(result.body);
      } catch (err) {
        next(err);
      }
    });
  }
}

/** A validation failure in one line: `field: problem; other: problem`. */
export function issues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}
