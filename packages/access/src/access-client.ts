/**
 * A promise-based client of the control server's Access service, for the services that call it
 * (attachments, signalling). Every call carries a deadline; a failure is an AccessCallError
 * with the gRPC status code and the server's stable reason, for the caller to map to its own
 * error type.
 */
import * as grpc from '@grpc/grpc-js';
import {
  ERROR_REASON_KEY,
  accessService,
  type AuthorizeChannelRequest,
  type AuthorizeGuildRequest,
  type ChannelDecision,
  type ChannelInfo,
  type CheckAccountRequest,
  type ErrorReason,
  type GetChannelRequest,
  type GuildDecision,
  type IdentifyRequest,
  type IdentifyResponse,
  type LookupAccountsRequest,
  type LookupAccountsResponse,
} from './access-proto.js';

export interface AccessClientOptions {
  /** The control server's gRPC address, `host:port` (default port 50051, loopback). */
  address: string;
  /** Deadline of each call, in ms: a control server that does not answer by then counts as down. Default 3000. */
  timeoutMs?: number;
}

/** A call that failed: its gRPC status, the server's reason (when it gave one) and message. */
export class AccessCallError extends Error {
  override name = 'AccessCallError';
  constructor(
    readonly code: grpc.status,
    readonly reason: ErrorReason | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** What a failed Access call means to the calling service; each service's error type has these codes. */
export type AccessFailureCode = 'invalid_token' | 'forbidden' | 'not_found' | 'invalid_request' | 'control_unavailable' | 'bad_gateway';

/** gRPC status → failure code; anything else (INTERNAL, UNIMPLEMENTED, ...) is the control server's fault: `bad_gateway`. */
const STATUS_TO_FAILURE: ReadonlyMap<grpc.status, AccessFailureCode> = new Map([
  [grpc.status.UNAUTHENTICATED, 'invalid_token'],
  [grpc.status.PERMISSION_DENIED, 'forbidden'],
  [grpc.status.NOT_FOUND, 'not_found'],
  [grpc.status.INVALID_ARGUMENT, 'invalid_request'],
  [grpc.status.UNAVAILABLE, 'control_unavailable'],
  [grpc.status.DEADLINE_EXCEEDED, 'control_unavailable'],
  [grpc.status.CANCELLED, 'control_unavailable'],
  [grpc.status.RESOURCE_EXHAUSTED, 'control_unavailable'],
]);

/**
 * Turns a failed call into the caller's own error, built by `make`: a control server that is down
 * or late is `control_unavailable`, never a request let through by default.
 */
export function accessFailure<E>(err: AccessCallError, make: (code: AccessFailureCode, message: string) => E): E {
  const code = STATUS_TO_FAILURE.get(err.code) ?? 'bad_gateway';
  if (code === 'control_unavailable') {
    const why = err.code === grpc.status.DEADLINE_EXCEEDED ? 'did not answer in time' : 'cannot be reached';
    return make(code, `the control server ${why}; try again shortly`);
  }
  if (code === 'bad_gateway') return make(code, 'the control server could not answer the permission check');
  return make(code, err.message);
}

/** Runs one Access call, rethrowing its AccessCallError as the caller's own error (see accessFailure). */
export async function askAccess<T, E>(call: () => Promise<T>, make: (code: AccessFailureCode, message: string) => E): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof AccessCallError) throw accessFailure(err, make);
    throw err;
  }
}

type UnaryMethod = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<unknown>) => grpc.ClientUnaryCall;

export class AccessClient {
  readonly address: string;
  readonly timeoutMs: number;
  private readonly client: grpc.Client;

  constructor(options: AccessClientOptions) {
    this.address = options.address;
    this.timeoutMs = options.timeoutMs ?? 3000;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) throw new RangeError('timeoutMs must be a positive number of milliseconds');
    const Access = accessService();
    this.client = new Access(options.address, grpc.credentials.createInsecure(), {
      // The control server restarts in well under a second; reconnect soon after it is back.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
  }

  identify(request: IdentifyRequest): Promise<IdentifyResponse> {
    return this.call('Identify', request);
  }

  authorizeChannel(request: AuthorizeChannelRequest): Promise<ChannelDecision> {
    return this.call('AuthorizeChannel', request);
  }

  checkAccount(request: CheckAccountRequest): Promise<ChannelDecision> {
    return this.call('CheckAccount', request);
  }

  authorizeGuild(request: AuthorizeGuildRequest): Promise<GuildDecision> {
    return this.call('AuthorizeGuild', request);
  }

  getChannel(request: GetChannelRequest): Promise<ChannelInfo> {
    return this.call('GetChannel', request);
  }

  lookupAccounts(request: LookupAccountsRequest): Promise<LookupAccountsResponse> {
    return this.call('LookupAccounts', request);
  }

  close(): void {
    this.client.close();
  }

  private call<T>(method: string, request: unknown): Promise<T> {
    const fn = (this.client as unknown as Record<string, UnaryMethod>)[method]!;
    return new Promise<T>((resolve, reject) => {
      try {
        fn.call(this.client, request, new grpc.Metadata(), { deadline: Date.now() + this.timeoutMs }, (err, response) => {
          if (err) reject(toCallError(err));
          else resolve(response as T);
        });
      } catch (err) {
        // grpc-js throws synchronously on a closed client or a request it cannot serialize.
        reject(new AccessCallError(grpc.status.UNAVAILABLE, undefined, `cannot call the control server: ${(err as Error).message}`));
      }
    });
  }
}

function toCallError(err: grpc.ServiceError): AccessCallError {
  const reason = err.metadata?.get(ERROR_REASON_KEY)[0];
  return new AccessCallError(err.code, typeof reason === 'string' ? (reason as ErrorReason) : undefined, err.details || err.message);
}

/**
 * The environment with `ALLOQUY_CONTROL_GRPC_ADDRESS` filled in from `ALLOQUY_CONTROL_GRPC_PORT`
 * (loopback) when only the port is set: the supervisor pins the control server's port, and every
 * service that calls it reads the address.
 */
export function withControlGrpcAddress<E extends Record<string, string | undefined>>(env: E): E {
  if (env.ALLOQUY_CONTROL_GRPC_PORT && !env.ALLOQUY_CONTROL_GRPC_ADDRESS)
    return { ...env, ALLOQUY_CONTROL_GRPC_ADDRESS: `127.0.0.1:${env.ALLOQUY_CONTROL_GRPC_PORT}` };
  return env;
}
