import { join, resolve } from 'node:path';
import { z } from 'zod';
import { withControlGrpcAddress } from '@alloquy/access';
import { loadLayeredConfig, logLevelSchema, portSchema as port, type Env } from '@alloquy/service-kit/config';

/**
 * The signalling service's configuration: defaults, then `$ALLOQUY_HOME/signalling.json`
 * (or `ALLOQUY_SIGNALLING_CONFIG`), then environment variables, like every Alloquy service.
 */
const positive = z.coerce.number().int().min(1);

/** `ALLOQUY_TURN_URLS` is one string: URLs separated by commas or spaces. */
const urlList = z.preprocess(
  (value) => (typeof value === 'string' ? value.split(/[\s,]+/).filter((u) => u !== '') : value),
  z.array(z.string().regex(/^turns?:[^\s]+$|^stun:[^\s]+$/, 'must be a turn:, turns: or stun: URL')),
);

export const signallingConfigSchema = z.object({
  home: z.string(),
  http: z.object({ host: z.string(), port }),
  control: z.object({
    /** The control server's gRPC address (loopback). */
    grpcAddress: z.string(),
    /** Deadline of each permission check, ms. */
    timeoutMs: positive,
  }),
  turn: z.object({
    /** What clients put in `RTCConfiguration.iceServers[].urls`. */
    urls: urlList,
    /** Lifetime of minted TURN credentials, seconds. */
    ttlSeconds: z.coerce.number().int().min(60).max(86_400),
    /** Shared with coturn's `static-auth-secret` (TURN REST API authentication). */
    secretPath: z.string(),
  }),
  limits: z.object({
    /** Largest WebSocket message accepted; bigger ones close the connection (1009). */
    maxMessageBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024),
    /** Sustained messages per second per connection ... */
    messagesPerSecond: positive,
    /** ... with bursts up to this many. */
    messageBurst: positive,
    /** A connection that has not said `hello` by then is closed. */
    helloTimeoutMs: positive,
  }),
  logLevel: logLevelSchema,
});

export type SignallingConfig = z.infer<typeof signallingConfigSchema>;

export const SIGNALLING_ENV_MAP: Record<string, string> = {
  ALLOQUY_SIGNALLING_HOST: 'http.host',
  ALLOQUY_SIGNALLING_PORT: 'http.port',
  ALLOQUY_CONTROL_GRPC_ADDRESS: 'control.grpcAddress',
  ALLOQUY_TURN_URLS: 'turn.urls',
  ALLOQUY_TURN_TTL_SECONDS: 'turn.ttlSeconds',
  ALLOQUY_TURN_SECRET_PATH: 'turn.secretPath',
  ALLOQUY_LOG_LEVEL: 'logLevel',
};

function defaults(home: string) {
  return {
    home,
    http: { host: '0.0.0.0', port: 8082 },
    control: { grpcAddress: '127.0.0.1:50051', timeoutMs: 3000 },
    turn: {
      urls: ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp'],
      ttlSeconds: 600,
      secretPath: join(home, 'secrets', 'turn.key'),
    },
    limits: { maxMessageBytes: 64 * 1024, messagesPerSecond: 50, messageBurst: 200, helloTimeoutMs: 10_000 },
    logLevel: 'info',
  };
}

export function loadSignallingConfig(env: Env = process.env, cwd = process.cwd()): SignallingConfig {
  const home = resolve(cwd, env.ALLOQUY_HOME ?? '.alloquy');
  env = withControlGrpcAddress(env);
  return loadLayeredConfig({
    schema: signallingConfigSchema,
    defaults: defaults(home),
    file: env.ALLOQUY_SIGNALLING_CONFIG ?? join(home, 'signalling.json'),
    fileVariable: 'ALLOQUY_SIGNALLING_CONFIG',
    envMap: SIGNALLING_ENV_MAP,
    env,
  });
}
