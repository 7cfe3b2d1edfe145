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

  /** The call never got an answer from a working control server (down, restarting, too slow). */
  get unavailable(): boolean {
    return this.code === grpc.status.UNAVAILABLE || this.code === grpc.status.DEADLINE_EXCEEDED || this.code === grpc.status.CANCELLED;
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
