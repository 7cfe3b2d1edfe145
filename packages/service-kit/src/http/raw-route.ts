/**
 * Mounting of raw routes: endpoints whose request or answer is not JSON the kit can read and
 * write (multipart and tus uploads, downloads with ranges, images). The caller is authenticated
 * as for JSON routes; the handler gets express's request and response and does the rest.
 */
import type { IRouter, NextFunction, Request, Response } from 'express';
import { credentialsFor, type RouteTableOptions } from './credentials.js';
import { expressPath, type RawRoute, type RawRouteContext } from './route.js';

/**
 * Mounts one raw route on `router` (the table's order is kept by `mountRoutes`, which hands raw
 * routes here). A `get` route answers HEAD too, as express does, unless a `head` route comes first.
 * Anything thrown goes to the shell's error handler; for a route that reads a body, a refusal
 * before the body has been read also closes the connection after the answer.
 */
export function mountRawRoute<Caller, E>(router: IRouter, route: RawRoute<Caller>, options: RouteTableOptions<Caller, E>): void {
  router[route.method](expressPath(route.path), async (req: Request, res: Response, next: NextFunction) => {
    try {
      const ctx: RawRouteContext = { req, res, params: req.params as Record<string, string> };
      const credentials = await credentialsFor(route.auth, req, options);
      // The caller's fields (or the token) sit beside the request's, as in a JSON route's context.
      await route.handler({ ...ctx, ...credentials } as RawRouteContext & Partial<Caller> & { token?: string });
    } catch (err) {
      if (route.body) closeAfterResponse(req, res);
      next(err);
    }
  });
}

/** What a client may still send after an early refusal before its connection is cut. */
const LINGER_BYTES = 8 * 1024 * 1024;
const LINGER_MS = 2000;

/**
 * For an answer sent before the request body was read (a refusal, or a repeated final answer):
 * the connection closes after the answer, and the rest of the body is read and dropped for a
 * moment first. Cutting the socket while the client is still sending makes many TCP stacks reset
 * the connection and throw away the answer the client has not read yet (lingering close, as every
 * HTTP server does it). Without this, Node would read a refused gigabyte to its end to keep the
 * connection alive. Nothing read here is kept.
 */
export function closeAfterResponse(req: Request, res: Response): void {
  if (req.complete || req.destroyed) return;
  if (!res.headersSent) res.setHeader('Connection', 'close');
  res.once('finish', () => {
    let drained = 0;
    const cut = () => req.socket.destroy();
    const timer = setTimeout(cut, LINGER_MS);
    timer.unref();
    req.on('data', (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > LINGER_BYTES) cut();
    });
    req.once('end', () => clearTimeout(timer));
    req.unpipe();
    req.resume();
  });
}
