import type { Request, Response } from 'express';
import type { z } from 'zod';

/**
 * One declaration per endpoint: its schemas validate the request and generate the OpenAPI
 * document, and its `auth` says who may call it, so authorization cannot be forgotten.
 *
 * `none`: anyone; `user`: a valid bearer token (the service's `authenticate` turns it into the
 * caller); `admin`: a caller the service's `isAdmin` accepts.
 */
export type Auth = 'none' | 'user' | 'admin';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

type ParamNames<Path extends string> = Path extends `${string}{${infer Name}}${infer Rest}` ? Name | ParamNames<Rest> : never;

/** `/api/v1/channels/{channel}/overwrites/{type}` → `{ channel: string; type: string }`. */
export type PathParams<Path extends string> = { [Name in ParamNames<Path>]: string };

export interface RouteContext<B = unknown, Q = unknown, P = Record<string, string>> {
  body: B;
  /** The query string, validated by the route's `query` schema (`{}` for a route without one). */
  query: Q;
  params: P;
  ip: string | undefined;
  req: Request;
}

/** What a route that needs a caller gets besides the request: the service's own caller fields. */
export type CallerContext<A extends Auth, Caller> = A extends 'none' ? Partial<Record<keyof Caller, never>> : Caller;

export interface RouteResult {
  status: number;
  body?: unknown;
}

/** What every route declares, for the table, the mounter and the OpenAPI generator. */
export interface RouteDescription {
  method: HttpMethod;
  /** OpenAPI style path: `/api/v1/accounts/{username}`. */
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  body?: z.ZodType;
  /**
   * Query-string parameters: an object schema whose fields read strings (use `z.coerce` for
   * numbers). A query string it rejects is a 400 `invalid_request`; each field is documented as
   * an OpenAPI parameter, its `.describe()` text as the description.
   */
  query?: z.ZodObject;
  /** Successful responses: status → schema (null for no body). */
  responses: Record<number, z.ZodType | null>;
  /** Error statuses this route may answer, documented in OpenAPI: the statuses, or status → when (which codes, and why). */
  errors?: RouteErrors;
}

/** `[404, 409]`, or status → when, where the cause is worth telling: `{ 403: 'no MANAGE_EMOJIS' }`. */
export type RouteErrors = readonly number[] | Readonly<Record<number, string>>;

export interface RouteSpec<Caller, A extends Auth, Path extends string, B extends z.ZodType, Q extends z.ZodObject> extends RouteDescription {
  path: Path;
  auth: A;
  body?: B;
  query?: Q;
  handler(ctx: RouteContext<z.infer<B>, z.infer<Q>, PathParams<Path>> & CallerContext<A, Caller>): Promise<RouteResult> | RouteResult;
}

/** A route as the table holds it: the handler's context is checked where the route is declared. */
export interface Route<Caller = unknown> extends RouteDescription {
  handler(ctx: RouteContext & Partial<Caller>): Promise<RouteResult> | RouteResult;
}

/**
 * The `route` declaration function of a service whose authenticated callers look like `Caller`
 * (the control server's: the account and its guild actor). Each handler's context is typed from
 * its own declaration: body and query from their schemas, params from the path, the caller's
 * fields only where `auth` requires a caller.
 */
export function routeDeclarer<Caller>() {
  return function route<const A extends Auth, const Path extends string, B extends z.ZodType = z.ZodType, Q extends z.ZodObject = z.ZodObject>(
    spec: RouteSpec<Caller, A, Path, B, Q>,
  ): Route<Caller> {
    return spec as unknown as Route<Caller>;
  };
}

// ---- Raw routes -------------------------------------------------------------------------------

/**
 * Who may call a raw route: the JSON routes' levels, and two for routes whose own question to the
 * service's authority checks the token anyway (may this bearer upload here? manage emoji?), where
 * authenticating it first would ask twice:
 * `token`: a bearer token is required (401 without one) and handed to the handler unverified, as `token`;
 * `optional-token`: anyone may call; a bearer token, when sent, is handed over as `token` (a signed
 * link or a public file needs none, a private one may be opened by a reader's token).
 */
export type RawAuth = Auth | 'token' | 'optional-token';

/** Raw routes also serve tus's HEAD (offset) and OPTIONS (discovery). */
export type RawHttpMethod = HttpMethod | 'head' | 'options';

/**
 * A request body the handler reads itself, as OpenAPI describes it: content type → schema of what
 * it carries (multipart fields, say), or null for bytes of any shape (a file, an image).
 */
export interface RawRequestBody {
  description?: string;
  /** Default true. */
  required?: boolean;
  content: Record<string, z.ZodType | null>;
}

/** One documented answer of a raw route. */
export interface RawResponse {
  description: string;
  /** Content type → schema of the body: zod for JSON answers, null for bytes (a file, an image). None: an empty body. */
  content?: Record<string, z.ZodType | null>;
  /** Response headers a client reads (`Location`, `Upload-Offset`, `Content-Range`): name → what it says. */
  headers?: Record<string, string>;
}

/**
 * What a raw route declares, for the table, the mounter and the OpenAPI generator. The kit
 * authenticates the caller as it does for JSON routes and leaves the request and the response to
 * the handler: its query, headers and body are documented here, not validated, because the
 * handler reads them itself (a streamed multipart or tus body, a `Range` header) and answers
 * anything wrong with its own error.
 */
export interface RawRouteDescription {
  kind: 'raw';
  method: RawHttpMethod;
  /** OpenAPI style path: `/files/{id}/{filename}`. */
  path: string;
  summary: string;
  /** Longer OpenAPI text: protocol notes, what is refused and why. */
  description?: string;
  tag: string;
  auth: RawAuth;
  /** Path parameters worth more than "a string": their pattern or description. */
  params?: Record<string, z.ZodType>;
  /** Query-string parameters the handler reads; each field becomes an OpenAPI parameter, as for JSON routes. */
  query?: z.ZodObject;
  /** Request headers the handler reads (`Upload-Offset`, `Range`), documented like `query`. */
  headers?: z.ZodObject;
  /**
   * The body the handler reads itself. A route with one is refused politely before its body has
   * been read: the answer goes out, the connection closes after a short drain (`closeAfterResponse`).
   */
  body?: RawRequestBody;
  /** Every answer that is not an error: status → description, content and headers. */
  responses: Record<number, RawResponse>;
  /** Error statuses this route may answer, or status → when (401 is added for routes that need a token). */
  errors?: RouteErrors;
}

/** The request and response of a raw route, its path parameters typed from its path. */
export interface RawRouteContext<P = Record<string, string>> {
  req: Request;
  res: Response;
  params: P;
}

/** What the handler gets besides the request: the caller (`user`, `admin`) or the bearer token (`token`, `optional-token`). */
export type RawCallerContext<A extends RawAuth, Caller> = A extends 'token'
  ? { token: string }
  : A extends 'optional-token'
    ? { token: string | undefined }
    : CallerContext<Extract<A, Auth>, Caller>;

export interface RawRouteSpec<Caller, A extends RawAuth, Path extends string> extends Omit<RawRouteDescription, 'kind' | 'params'> {
  path: Path;
  auth: A;
  params?: { [Name in ParamNames<Path>]?: z.ZodType };
  /** Answers through `res` (or throws the service's error, sent by the shell's error handler). */
  handler(ctx: RawRouteContext<PathParams<Path>> & RawCallerContext<A, Caller>): Promise<void> | void;
}

/** A raw route as the table holds it. */
export interface RawRoute<Caller = unknown> extends RawRouteDescription {
  handler(ctx: RawRouteContext & Partial<Caller> & { token?: string }): Promise<void> | void;
}

/** A service's endpoints, JSON and raw, in the order they are matched: one table serves them and documents them. */
export type RouteTable<Caller> = readonly (Route<Caller> | RawRoute<Caller>)[];

/** Whether a route of the table is raw (declared with a `rawRouteDeclarer`) rather than JSON. */
export function isRawRoute<R extends RouteDescription | RawRouteDescription>(route: R): route is Extract<R, RawRouteDescription> {
  return 'kind' in route && route.kind === 'raw';
}

/**
 * The `rawRoute` declaration function of a service whose authenticated callers look like
 * `Caller`, beside `routeDeclarer`: the handler's context is typed from the declaration (path
 * parameters from the path, the caller or the token from `auth`).
 */
export function rawRouteDeclarer<Caller>() {
  return function rawRoute<const A extends RawAuth, const Path extends string>(spec: RawRouteSpec<Caller, A, Path>): RawRoute<Caller> {
    return { ...spec, kind: 'raw' } as unknown as RawRoute<Caller>;
  };
}

/** `/api/v1/accounts/{username}` → `/api/v1/accounts/:username` for express. */
export function expressPath(path: string): string {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
}
