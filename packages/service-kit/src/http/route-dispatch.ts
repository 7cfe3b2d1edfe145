/**
 * The direct path of the service shell: a request for a JSON route of the route table is served
 * without going through express, answering exactly what express would have answered.
 *
 * Why: express re-prototypes every request and response (`Object.setPrototypeOf`), and after
 * that node:http's own code reads and ends them through slow property lookups. Under load that
 * costs several times what a route like `GET /api/v1/me` needs for itself (measured with
 * scripts/bench/http: about 60 µs a request for the request's prototype alone). Here both stay
 * node's: the response is written with node's API into the same bytes `res.json()` would send,
 * the query string is parsed by express's default ('simple') parser, and a handler that reads
 * `ctx.req` (or a body route, which asks `req.is()`) gets express's request, set up on first use.
 *
 * The direct path takes a request only when it can tell express would dispatch it to the same
 * route with the same parameters, and hands everything else to express:
 * - the table was mounted first (nothing but the shell's own layers before it), on the app of
 *   `createServiceApp`, whose `before` middleware is all `nodeMiddleware` (node API only);
 * - the method is one of the table's (not HEAD, not OPTIONS), the target is origin-form without
 *   percent-escapes, a fragment or spaces, and the path has no trailing slash; static segments
 *   match without regard to ASCII case, as express's default routing does;
 * - the first route of the table that matches is a JSON route (a raw route there: express);
 * - the app's routing, query, ETag, JSON and X-Powered-By settings are express's defaults or the
 *   shell's.
 * A `PreparedJson` body goes out as its bytes. Whatever it cannot write the way express does
 * (a conditional request that express may answer 304, a header set beforehand that `res.json()`
 * would keep or adjust, a 204/205/304 with a body) it writes through express's response after
 * all, and every error goes to the shell's own error handler with express's request and
 * response, as before.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { PreparedJson } from './prepared-json.js';

/** The metric label and `req.route.path` of a route: its express path. */
export interface RouteInfo {
  path: string;
}

/** A routed request as a JSON route reads it, on either path. */
export interface RoutedRequest {
  /** node's request: headers, socket, and `body` once the body parser has run. */
  req: IncomingMessage & { body?: unknown };
  params: Record<string, string>;
  /** The query string as express's `req.query` reads it. */
  query(): Record<string, unknown>;
  /** The same request as express's (set up on the first call on the direct path). */
  expressRequest(): Request;
}

/** A JSON route's work once the request is routed: what to answer (the caller sends it). */
export type ServeJson = (request: RoutedRequest) => Promise<{ status: number; body?: unknown }>;

/** Times a request into the shell's histogram; `route` names its route pattern once known (else `unmatched`). */
export type TimeRequest = (req: IncomingMessage, res: Response, route: () => string | undefined) => void;

interface Entry {
  /** Lower-case static segments, null where a parameter goes (segment 0 is the empty one before the first slash). */
  segments: (string | null)[];
  /** Parameter names, in path order. */
  names: string[];
  route: RouteInfo;
  /** Undefined for a route that only express serves (a raw route): a request it matches goes to express. */
  serve: ServeJson | undefined;
}

export interface DispatcherParts {
  app: express.Express;
  /** The shell's request timing. */
  timeRequest: TimeRequest;
  before: readonly RequestHandler[];
  /** The shell's error handler (the one express calls with four arguments). */
  onError(err: unknown, req: Request, res: Response, next: NextFunction): void;
}

const NODE_MIDDLEWARE = Symbol('alloquy.nodeMiddleware');

/**
 * Marks a middleware that uses only node:http's request and response API (request headers and
 * body stream, `setHeader`, `statusCode`, `end`), so the shell may run it on requests it serves
 * without express. `before` middleware without the mark turns the direct path off.
 */
export function nodeMiddleware<H extends RequestHandler>(handler: H): H {
  (handler as H & { [NODE_MIDDLEWARE]?: true })[NODE_MIDDLEWARE] = true;
  return handler;
}

function isNodeMiddleware(handler: RequestHandler): boolean {
  return (handler as RequestHandler & { [NODE_MIDDLEWARE]?: true })[NODE_MIDDLEWARE] === true;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** What a static segment may hold for the matcher to reason about it; anything else leaves the table to express. */
const PLAIN_SEGMENT = /^[A-Za-z0-9._~-]+$/;
const PARAM_SEGMENT = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
/** Targets parseurl reads with its fast parser (origin-form, no fragment or whitespace) and that need no decoding. */
const UNSAFE_TARGET = /[%#\s\u00a0\ufeff]/;
const JSON_TYPE = 'application/json; charset=utf-8';

const dispatchers = new WeakMap<express.Express, RouteDispatcher>();

/** The app's direct path, when the route table mounted now may use it (see the module comment). */
export function directDispatcher(app: unknown): RouteDispatcher | undefined {
  const dispatcher = dispatchers.get(app as express.Express);
  return dispatcher?.acceptsTable() ? dispatcher : undefined;
}

export class RouteDispatcher {
  /** By method, then by segment count: entries in table order. */
  private readonly entries = new Map<string, Map<number, Entry[]>>();
  private readonly shellLayers: number;
  private readonly nodeBefore: boolean;
  private tables = 0;
  /** False once the table holds a path the matcher cannot reason about: express serves everything. */
  private usable = true;

  constructor(private readonly parts: DispatcherParts) {
    this.shellLayers = layerCount(parts.app);
    this.nodeBefore = parts.before.every(isNodeMiddleware);
    dispatchers.set(parts.app, this);
  }

  /** True while no layer has been added after the shell's own and no table taken. */
  acceptsTable(): boolean {
    return this.tables === 0 && layerCount(this.parts.app) === this.shellLayers;
  }

  /** Starts the table: from now on every route is added in its order. */
  beginTable(): void {
    this.tables++;
    const router = this.parts.app.router as unknown as { caseSensitive?: boolean; strict?: boolean };
    if (router.caseSensitive || router.strict) this.usable = false;
  }

  /** A route of the table, in table order; `serve` undefined for one only express serves. */
  add(method: string, path: string, route: RouteInfo, serve: ServeJson | undefined): void {
    const segments: (string | null)[] = [];
    const names: string[] = [];
    const parts = path.split('/');
    if (parts[0] !== '') this.usable = false;
    segments.push('');
    for (const part of parts.slice(1)) {
      const param = PARAM_SEGMENT.exec(part);
      if (param) {
        segments.push(null);
        names.push(param[1]!);
      } else if (PLAIN_SEGMENT.test(part)) {
        segments.push(part.toLowerCase());
      } else {
        this.usable = false;
      }
    }
    const upper = method.toUpperCase();
    // A GET route answers HEAD in express: HEAD is never taken here, so only the method itself counts.
    let byCount = this.entries.get(upper);
    if (!byCount) this.entries.set(upper, (byCount = new Map()));
    let list = byCount.get(segments.length);
    if (!list) byCount.set(segments.length, (list = []));
    list.push({ segments, names, route, serve });
  }

  /**
   * Serves `req` when it is a request for a JSON route of the table that express would give the
   * same route; returns false, having touched nothing, when express should handle it.
   */
  serve(req: Request, res: Response): boolean {
    if (!this.usable || !this.nodeBefore || this.tables === 0) return false;
    const method = req.method;
    const url = req.url;
    if (!METHODS.has(method) || url.charCodeAt(0) !== 47 /* / */ || UNSAFE_TARGET.test(url)) return false;
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    if (pathname.length > 1 && pathname.charCodeAt(pathname.length - 1) === 47) return false;
    if (!this.defaultSettings()) return false;
    const candidates = this.entries.get(method)?.get(countSegments(pathname));
    if (!candidates) return false;
    const segments = pathname.split('/');
    for (const entry of candidates) {
      const params = matchSegments(entry, segments);
      if (params === undefined) continue;
      if (!entry.serve) return false;
      this.run(entry, entry.serve, params, req, res);
      return true;
    }
    return false;
  }

  /** express's defaults (or the shell's) for every setting that changes what a JSON route answers. */
  private defaultSettings(): boolean {
    const settings = this.parts.app.settings as Record<string, unknown>;
    return (
      settings['query parser fn'] === parseQuery &&
      !settings['x-powered-by'] &&
      !settings['etag fn'] &&
      settings['json escape'] === undefined &&
      settings['json replacer'] === undefined &&
      settings['json spaces'] === undefined
    );
  }

  private run(entry: Entry, serve: ServeJson, params: Record<string, string>, req: Request, res: Response): void {
    const { app, timeRequest, before } = this.parts;
    let routed = false;
    timeRequest(req, res, () => (routed ? entry.route.path : undefined));
    let upgraded = false;
    /** What express's app.handle and router set up for a request, done when someone needs it. */
    const expressRequest = (): Request => {
      if (!upgraded) {
        upgraded = true;
        Object.setPrototypeOf(req, app.request);
        req.res = res;
        req.originalUrl = req.url;
        req.baseUrl = '';
        req.params = params;
        if (routed) (req as { route?: RouteInfo }).route = entry.route;
      }
      return req;
    };
    const fail = (err: unknown) => this.fail(err, expressRequest(), res);
    const url = req.url;
    const q = url.indexOf('?');
    const routedRequest: RoutedRequest = {
      req,
      params,
      query: () => parseQuery(q === -1 ? '' : url.slice(q + 1)) as Record<string, unknown>,
      expressRequest,
    };
    let index = 0;
    const next = (err?: unknown): void => {
      if (err !== undefined && err !== null && err !== 'route') {
        fail(err);
        return;
      }
      const middleware = before[index++];
      if (middleware) {
        try {
          const result: unknown = middleware(req, res, next);
          if (result instanceof Promise) result.catch(fail);
        } catch (thrown) {
          fail(thrown);
        }
        return;
      }
      routed = true;
      if (upgraded) (req as { route?: RouteInfo }).route = entry.route;
      serve(routedRequest).then((result) => {
        try {
          sendResult(req, res, result, () => expressResponse(app, expressRequest(), res));
        } catch (thrown) {
          fail(thrown);
        }
      }, fail);
    };
    next();
  }

  /** The shell's error handler, with the request and response express would have handed it. */
  private fail(err: unknown, req: Request, res: Response): void {
    expressResponse(this.parts.app, req, res);
    this.parts.onError(err, req, res, () => undefined);
  }
}

/** The number of layers the app's router holds (0 before its first). */
function layerCount(app: express.Express): number {
  const stack = (app.router as unknown as { stack?: unknown[] }).stack;
  return Array.isArray(stack) ? stack.length : Number.NaN;
}

function countSegments(pathname: string): number {
  let count = 0;
  for (let i = 0; i < pathname.length; i++) if (pathname.charCodeAt(i) === 47) count++;
  return count + 1;
}

/** The route's parameters when `segments` (the request path split at `/`) match it, else undefined. */
function matchSegments(entry: Entry, segments: string[]): Record<string, string> | undefined {
  let names = 0;
  const params: Record<string, string> = {};
  for (let i = 1; i < segments.length; i++) {
    const expected = entry.segments[i]!;
    const actual = segments[i]!;
    if (expected === null) {
      if (actual.length === 0) return undefined;
      params[entry.names[names++]!] = actual;
    } else if (!asciiCaseEqual(actual, expected)) {
      return undefined;
    }
  }
  return params;
}

/** `actual` equals the lower-case `expected` when ASCII letters are folded, and only those (as a case-insensitive RegExp without `u` compares them). */
function asciiCaseEqual(actual: string, expected: string): boolean {
  if (actual.length !== expected.length) return false;
  for (let i = 0; i < actual.length; i++) {
    let c = actual.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== expected.charCodeAt(i)) return false;
  }
  return true;
}

/** `res` with express's prototype, set up as express's app.handle does. */
function expressResponse(app: express.Express, req: Request, res: Response): Response {
  if (Object.getPrototypeOf(res) !== app.response) {
    Object.setPrototypeOf(res, app.response);
    res.req = req;
    res.locals ??= Object.create(null) as Record<string, unknown>;
  }
  return res;
}

/**
 * Sends a route's result as `res.status(status).json(body)` (or `.end()` without a body) would:
 * the same status, headers and bytes, written with node's API when nothing calls for express's
 * (`viaExpress` sets up express's request and response and returns the response).
 */
function sendResult(req: IncomingMessage, res: Response, result: { status: number; body?: unknown }, viaExpress: () => Response): void {
  const { status, body } = result;
  if (body === undefined) {
    // res.status() checks the code (and throws as node would not); for a valid one it is this.
    if (Number.isInteger(status) && status >= 100 && status <= 999) {
      res.statusCode = status;
      res.end();
    } else {
      viaExpress().status(status).end();
    }
    return;
  }
  const plain = plainJson(req, res, status);
  if (plain && body instanceof PreparedJson) {
    res.statusCode = status;
    res.setHeader('Content-Type', JSON_TYPE);
    res.setHeader('Content-Length', String(body.bytes.length));
    res.end(body.bytes);
    return;
  }
  const json = plain ? JSON.stringify(body) : undefined;
  if (json === undefined) {
    viaExpress().status(status).json(body);
    return;
  }
  res.statusCode = status;
  res.setHeader('Content-Type', JSON_TYPE);
  res.setHeader('Content-Length', String(Buffer.byteLength(json)));
  res.end(json);
}

/** False where express's `res.json()` does more than set the type and length and send the text. */
function plainJson(req: IncomingMessage, res: Response, status: number): boolean {
  return (
    Number.isInteger(status) &&
    status >= 200 &&
    status <= 999 &&
    status !== 204 &&
    status !== 205 &&
    status !== 304 &&
    req.headers['if-none-match'] === undefined &&
    req.headers['if-modified-since'] === undefined &&
    !res.hasHeader('Content-Type') &&
    !res.hasHeader('Transfer-Encoding') &&
    !res.hasHeader('ETag')
  );
}
