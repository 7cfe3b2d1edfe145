import type { IncomingMessage } from 'node:http';
import type { MakeError } from '../errors/service-error.js';
import type { RawAuth } from './route.js';
import { bearerFromHeader } from './service-app.js';

/** How a service mounts its route table: who a bearer token stands for, who is an admin, its errors. */
export interface RouteTableOptions<Caller, E> {
  /**
   * The caller a bearer token stands for; throws the service's error when the token is not valid.
   * It gets node's request (express's for raw routes): the direct path never sets up express's.
   */
  authenticate(token: string, req: IncomingMessage): Caller | Promise<Caller>;
  /** Whether the caller may use `auth: 'admin'` routes. */
  isAdmin?(caller: Caller): boolean;
  /** The service's own error for a common code. */
  error: MakeError<E>;
}

/**
 * What a route's `auth` gives its handler, for JSON and raw routes alike: the caller's fields
 * (`user`, `admin`), the bearer token (`token`, `optional-token`), or nothing (`none`); a missing
 * token, a refused one or a caller who is no admin is the service's error.
 */
export async function credentialsFor<Caller, E>(
  auth: RawAuth,
  req: IncomingMessage,
  options: RouteTableOptions<Caller, E>,
): Promise<Partial<Caller> | { token?: string }> {
  if (auth === 'none') return {};
  const token = bearerFromHeader(req.headers.authorization);
  if (auth === 'optional-token') return token === undefined ? {} : { token };
  if (!token) throw options.error('unauthorized', 'an "Authorization: Bearer <access token>" header is required');
  if (auth === 'token') return { token };
  const caller = await options.authenticate(token, req);
  if (auth === 'admin' && !options.isAdmin?.(caller)) throw options.error('forbidden', 'only an admin may do this');
  return caller as Partial<Caller>;
}
