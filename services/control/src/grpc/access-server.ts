/**
 * The control server's gRPC endpoint for our HTTP services (attachments now, signalling later):
 * the Access service of `proto/alloquy/control/v1/access.proto`, on loopback only.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '@alloquy/service-kit/log';
import { Histogram, type Registry } from 'prom-client';
import { ERROR_REASON_KEY, accessService } from '@alloquy/access';
import { AccessFailure, AccessHandlers, type AccessHandlersDeps } from './access-handlers.js';

export interface AccessServerOptions extends AccessHandlersDeps {
  host: string;
  /** 0: any free port (tests); `port` on the result says which. */
  port: number;
  log: Logger;
  /** Where the per-call latency histogram goes (the control server's /metrics). */
  registry?: Registry;
}

export interface AccessServer {
  /** `host:port` as bound (IPv6 hosts in brackets). */
  readonly address: string;
  readonly port: number;
  /** Finishes calls in flight (up to `graceMs`), then cuts what is left. */
  stop(graceMs?: number): Promise<void>;
}

/** Requests are a token, a channel name and a few permission names: anything larger is not ours. */
const MAX_MESSAGE_BYTES = 64 * 1024;

type Handler = (request: never) => unknown;

export async function startAccessServer(options: AccessServerOptions): Promise<AccessServer> {
  const { log } = options;
  const handlers = new AccessHandlers(options);
  const duration = options.registry
    ? new Histogram({
        name: 'alloquy_grpc_request_duration_seconds',
        help: 'gRPC calls to the control server by method and status code (OK, UNAUTHENTICATED, NOT_FOUND, ...)',
        labelNames: ['method', 'code'] as const,
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
        registers: [options.registry],
      })
    : undefined;

  /** One unary method: the answer, or a status with a message for people and a reason for programs. */
  const unary =
    (method: string, handler: Handler): grpc.handleUnaryCall<unknown, unknown> =>
    (call, callback) => {
      const end = duration?.startTimer({ method });
      try {
        const answer = handler(call.request as never);
        end?.({ code: grpc.status[grpc.status.OK] });
        callback(null, answer);
      } catch (err) {
        const failure =
          err instanceof AccessFailure ? err : new AccessFailure(grpc.status.INTERNAL, 'internal', 'the control server failed to answer; see its log');
        if (!(err instanceof AccessFailure)) log.error({ err, method }, 'gRPC handler failed');
        end?.({ code: grpc.status[failure.code] });
        const metadata = new grpc.Metadata();
        metadata.set(ERROR_REASON_KEY, failure.reason);
        callback({ code: failure.code, details: failure.message, metadata }, null);
      }
    };

  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
  server.addService(accessService().service, {
    Identify: unary('Identify', (r) => handlers.identify(r)),
    AuthorizeChannel: unary('AuthorizeChannel', (r) => handlers.authorizeChannel(r)),
    CheckAccount: unary('CheckAccount', (r) => handlers.checkAccount(r)),
    AuthorizeGuild: unary('AuthorizeGuild', (r) => handlers.authorizeGuild(r)),
    GetChannel: unary('GetChannel', (r) => handlers.getChannel(r)),
    LookupAccounts: unary('LookupAccounts', (r) => handlers.lookupAccounts(r)),
  });

  const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(new Error(`cannot listen for gRPC on ${host}:${options.port}: ${err.message}`));
      else resolve(bound);
    });
  });
  const address = `${host}:${port}`;
  log.info({ grpc: address }, 'gRPC access service listening');

  let stopped: Promise<void> | undefined;
  return {
    address,
    port,
    stop(graceMs = 2000) {
      stopped ??= new Promise<void>((resolve) => {
        // A call still running after the grace period is cut; the stop never waits longer.
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return stopped;
    },
  };
}
