import { join, resolve } from 'node:path';
import { isLoopbackHost, loadLayeredConfig, logLevelSchema, portSchema as port, type Env, type PlainObject } from '@alloquy/service-kit/config';
import { z } from 'zod';

/**
 * The control server's configuration: built-in defaults, deep-merged with an optional JSON
 * file (`ALLOQUY_CONTROL_CONFIG`, default `$ALLOQUY_HOME/control.json`), then environment
 * variables. Env wins because that is how the supervisor and tests pin ports.
 */

export const configSchema = z.object({
  home: z.string(),
  http: z.object({ host: z.string(), port }),
  database: z.object({ path: z.string() }),
  registration: z.enum(['open', 'invite', 'closed']),
  auth: z.object({
    jwtSecretPath: z.string(),
    issuer: z.string(),
    accessTokenTtlSeconds: z.coerce.number().int().min(30),
    refreshTokenTtlSeconds: z.coerce.number().int().min(60),
    /** Failed logins allowed per account, and per source address, inside the window. */
    maxFailuresPerAccount: z.coerce.number().int().min(1),
    maxFailuresPerAddress: z.coerce.number().int().min(1),
    failureWindowSeconds: z.coerce.number().int().min(1),
  }),
  irc: z.object({
    enabled: z.boolean(),
    linkHost: z.string(),
    linkPort: port,
    linkPasswordPath: z.string(),
    serverName: z.string(),
    servicesName: z.string(),
    servicesSid: z.string().regex(/^[0-9][0-9A-Z]{2}$/, 'a SID is a digit and two letters or digits'),
    network: z.string(),
  }),
  murmur: z.object({
    /** Drive Murmur (voice) over Ice. Off: no voice relay, no `murmur` health component. */
    enabled: z.boolean(),
    iceHost: z.string(),
    icePort: port,
    /** Murmur's `icesecretwrite`; created (random) when missing, like every other secret. */
    iceSecretPath: z.string(),
    /** Murmur's virtual server id (1 for a single-server Murmur). */
    serverId: z.coerce.number().int().min(1),
    /** How often presence is polled (it is promised fresh within 2 s). */
    pollIntervalMs: z.coerce.number().int().min(100).max(2000),
  }),
  grpc: z.object({
    /**
     * Where the gRPC API for our HTTP services (proto/alloquy/control/v1/access.proto) listens. Its
     * callers are not authenticated, so only a loopback address is accepted.
     */
    host: z.string().refine(isLoopbackHost, 'the gRPC API has no caller authentication: use a loopback address (127.0.0.1, ::1, localhost)'),
    port,
  }),
  attachments: z.object({
    /** The upload limit of a member none of whose roles sets one (the gRPC API answers it). */
    defaultMaxUploadBytes: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  }),
  operatorSocketPath: z.string(),
  logLevel: logLevelSchema,
});

export type ControlConfig = z.infer<typeof configSchema>;

function defaults(home: string): PlainObject {
  return {
    home,
    http: { host: '0.0.0.0', port: 8080 },
    database: { path: join(home, 'control.sqlite') },
    registration: 'open',
    auth: {
      jwtSecretPath: join(home, 'secrets', 'jwt.key'),
      issuer: 'alloquy',
      accessTokenTtlSeconds: 15 * 60,
      refreshTokenTtlSeconds: 30 * 24 * 3600,
      maxFailuresPerAccount: 10,
      maxFailuresPerAddress: 30,
      failureWindowSeconds: 300,
    },
    irc: {
      enabled: true,
      linkHost: '127.0.0.1',
      linkPort: 7000,
      linkPasswordPath: join(home, 'secrets', 'irc-link.key'),
      serverName: 'irc.alloquy.local',
      servicesName: 'services.alloquy.local',
      servicesSid: '0AS',
      network: 'Alloquy',
    },
    murmur: {
      enabled: true,
      iceHost: '127.0.0.1',
      icePort: 6502,
      iceSecretPath: join(home, 'secrets', 'murmur-ice.key'),
      serverId: 1,
      pollIntervalMs: 1000,
    },
    grpc: { host: '127.0.0.1', port: 50051 },
    attachments: { defaultMaxUploadBytes: 1024 ** 3 },
    operatorSocketPath: join(home, 'run', 'control.sock'),
    logLevel: 'info',
  };
}

/** Environment variable → config path. One table so the README can list them. */
export const ENV_MAP: Record<string, string> = {
  ALLOQUY_HTTP_HOST: 'http.host',
  ALLOQUY_HTTP_PORT: 'http.port',
  ALLOQUY_DB_PATH: 'database.path',
  ALLOQUY_REGISTRATION: 'registration',
  ALLOQUY_JWT_SECRET_PATH: 'auth.jwtSecretPath',
  ALLOQUY_ACCESS_TOKEN_TTL: 'auth.accessTokenTtlSeconds',
  ALLOQUY_REFRESH_TOKEN_TTL: 'auth.refreshTokenTtlSeconds',
  ALLOQUY_LOGIN_MAX_FAILURES_ACCOUNT: 'auth.maxFailuresPerAccount',
  ALLOQUY_LOGIN_MAX_FAILURES_ADDRESS: 'auth.maxFailuresPerAddress',
  ALLOQUY_LOGIN_FAILURE_WINDOW: 'auth.failureWindowSeconds',
  ALLOQUY_IRC_LINK_HOST: 'irc.linkHost',
  ALLOQUY_IRC_LINK_PORT: 'irc.linkPort',
  ALLOQUY_IRC_LINK_PASSWORD_PATH: 'irc.linkPasswordPath',
  ALLOQUY_IRC_SERVER_NAME: 'irc.serverName',
  ALLOQUY_IRC_SERVICES_NAME: 'irc.servicesName',
  ALLOQUY_IRC_SERVICES_SID: 'irc.servicesSid',
  ALLOQUY_IRC_NETWORK: 'irc.network',
  ALLOQUY_IRC_LINK: 'irc.enabled',
  ALLOQUY_MURMUR: 'murmur.enabled',
  ALLOQUY_MURMUR_ICE_HOST: 'murmur.iceHost',
  ALLOQUY_MUMBLE_ICE_PORT: 'murmur.icePort',
  ALLOQUY_MURMUR_ICE_SECRET_PATH: 'murmur.iceSecretPath',
  ALLOQUY_MURMUR_SERVER_ID: 'murmur.serverId',
  ALLOQUY_CONTROL_GRPC_HOST: 'grpc.host',
  ALLOQUY_CONTROL_GRPC_PORT: 'grpc.port',
  ALLOQUY_MAX_UPLOAD_BYTES: 'attachments.defaultMaxUploadBytes',
  ALLOQUY_OPERATOR_SOCKET: 'operatorSocketPath',
  ALLOQUY_LOG_LEVEL: 'logLevel',
};

const BOOLEAN_SETTINGS: Record<string, string> = { 'irc.enabled': 'ALLOQUY_IRC_LINK', 'murmur.enabled': 'ALLOQUY_MURMUR' };

export function loadConfig(env: Env = process.env, cwd = process.cwd()): ControlConfig {
  const home = resolve(cwd, env.ALLOQUY_HOME ?? '.alloquy');
  const base = defaults(home);
  // A server told to take any free HTTP port is a throwaway one (a test): its gRPC port follows,
  // so two of them, or one beside a running stack, never fight over 50051.
  if (env.ALLOQUY_HTTP_PORT === '0') base.grpc = { host: '127.0.0.1', port: 0 };
  return loadLayeredConfig({
    schema: configSchema,
    defaults: base,
    file: env.ALLOQUY_CONTROL_CONFIG ?? join(home, 'control.json'),
    fileVariable: 'ALLOQUY_CONTROL_CONFIG',
    envMap: ENV_MAP,
    booleans: BOOLEAN_SETTINGS,
    env,
  });
}
