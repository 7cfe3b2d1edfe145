import type { Request } from 'express';
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
  /** Error statuses this route may answer, documented in OpenAPI. */
  errors?: number[];
}

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

/** `/api/v1/accounts/{username}` → `/api/v1/accounts/:username` for express. */
export function expressPath(path: string): string {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
}
