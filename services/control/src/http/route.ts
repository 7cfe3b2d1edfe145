import type { Request } from 'express';
import { z } from 'zod';
import type { Account } from '../accounts/account-service.js';

/**
 * One declaration per endpoint: its schemas validate the request and generate the OpenAPI
 * document, and its `auth` says who may call it, so authorization cannot be forgotten.
 */
export type Auth = 'none' | 'user' | 'admin';

export interface RouteContext<B, Q = unknown> {
  body: B;
  /** The query string, validated by the route's `query` schema (`{}` for a route without one). */
  query: Q;
  params: Record<string, string>;
  /** Set when `auth` is not 'none'. */
  account: Account;
  ip: string | undefined;
  req: Request;
}

export interface RouteResult {
  status: number;
  body?: unknown;
}

export interface Route<B extends z.ZodType = z.ZodType, Q extends z.ZodObject = z.ZodObject> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI style path: `/api/v1/accounts/{username}`. */
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  body?: B;
  /**
   * Query-string parameters: an object schema whose fields read strings (use `z.coerce` for
   * numbers). A query string it rejects is a 400 `invalid_request`; each field is documented as
   * an OpenAPI parameter, its `.describe()` text as the description.
   */
  query?: Q;
  /** Successful responses: status → schema (null for no body). */
  responses: Record<number, z.ZodType | null>;
  /** Error codes this route may answer, documented in OpenAPI. */
  errors?: number[];
  handler(ctx: RouteContext<z.infer<B>, z.infer<Q>>): Promise<RouteResult> | RouteResult;
}

export function route<B extends z.ZodType, Q extends z.ZodObject = z.ZodObject>(r: Route<B, Q>): Route {
  return r as unknown as Route;
}

/** `/api/v1/accounts/{username}` → `/api/v1/accounts/:username` for express. */
export function expressPath(path: string): string {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
}

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().describe('stable machine-readable code'),
      message: z.string().describe('human-readable explanation'),
    }),
  })
;
