import type express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import { credentialsFor, type RouteTableOptions } from './credentials.js';
import { mountRawRoute } from './raw-route.js';
import { directDispatcher, type RoutedRequest, type ServeJson } from './route-dispatch.js';
import { expressPath, isRawRoute, type Route, type RouteContext, type RouteResult, type RouteTable } from './route.js';

export type { RouteTableOptions };

/**
 * Mounts every route of the table on `app`: the bearer token authenticated by `auth`, the body
 * (JSON only) and query string validated by the route's schemas, and the result sent as JSON.
 * Anything thrown goes to the shell's error handler, as the service's error type.
 *
 * On an app of `createServiceApp`, a table mounted before anything else also serves its JSON
 * routes on the shell's direct path, around express (see route-dispatch.ts); express keeps
 * every route too, for the requests the direct path leaves to it.
 */
export function mountRoutes<Caller, E>(app: express.IRouter, routes: RouteTable<Caller>, options: RouteTableOptions<Caller, E>): void {
  const dispatcher = directDispatcher(app);
  dispatcher?.beginTable();
  for (const r of routes) {
    const path = expressPath(r.path);
    if (isRawRoute(r)) {
      mountRawRoute(app, r, options);
      dispatcher?.add(r.method, r.path, { path }, undefined);
      continue;
    }
    const serve = jsonRoute(r, options);
    app[r.method](path, async (req: Request, res: Response, next: NextFunction) => {
      try {
        const result = await serve({
          req,
          params: req.params as Record<string, string>,
          query: () => req.query as Record<string, unknown>,
          expressRequest: () => req,
        });
        if (result.body === undefined) res.status(result.status).end();
        else res.status(result.status).json(result.body);
      } catch (err) {
        next(err);
      }
    });
    dispatcher?.add(r.method, r.path, { path }, serve);
  }
}

/** What a JSON route answers a routed request: authenticated, validated, handled. */
function jsonRoute<Caller, E>(r: Route<Caller>, options: RouteTableOptions<Caller, E>): ServeJson {
  const { error } = options;
  return async (request: RoutedRequest): Promise<RouteResult> => {
    const { req } = request;
    const caller = await credentialsFor(r.auth, req, options);
    let body: unknown = undefined;
    if (r.body) {
      const is = (type: string) => request.expressRequest().is(type);
      // No body (or an empty one: fetch sends Content-Length: 0) is an empty object, so a
      // route whose fields are all optional needs none, and one with required fields names them.
      const empty = req.headers['content-length'] === '0' || is('application/json') === null;
      if (!empty && !is('application/json')) throw error('unsupported_media_type', 'send the request body as application/json');
      const parsed = r.body.safeParse(empty ? {} : req.body);
      if (!parsed.success) throw error('invalid_request', `invalid request body: ${issues(parsed.error)}`);
      body = parsed.data;
    }
    let query: Record<string, unknown> = {};
    if (r.query) {
      // Spread: the query parser hands over a null-prototype object.
      const parsed = r.query.safeParse({ ...request.query() });
      if (!parsed.success) throw error('invalid_request', `invalid query string: ${issues(parsed.error)}`);
      query = parsed.data as Record<string, unknown>;
    }
    // The caller's fields sit beside the request's (`{ body, account, actor }` for the control
    // server), and win as in `{ ...ctx, ...caller }`. `req` is express's request, set up only
    // for a handler that reads it.
    const ctx = { body, query, params: request.params, ip: req.socket.remoteAddress } as RouteContext;
    Object.assign(ctx, caller);
    if (!Object.hasOwn(ctx, 'req')) {
      Object.defineProperty(ctx, 'req', { get: request.expressRequest, enumerable: true, configurable: true });
    }
    return r.handler(ctx as RouteContext & Partial<Caller>);
  };
}

/** A validation failure in one line: `field: problem; other: problem`. */
export function issues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}
