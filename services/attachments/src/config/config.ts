import { join, resolve } from 'node:path';
import { z } from 'zod';
import { withControlGrpcAddress } from '@alloquy/access';
import { loadLayeredConfig, logLevelSchema, portSchema as port, type Env } from '@alloquy/service-kit/config';

/**
 * The attachments service's configuration: defaults, then `$ALLOQUY_HOME/attachments.json`
 * (or `ALLOQUY_ATTACHMENTS_CONFIG`), then environment variables, like every Alloquy service.
 */
const bytes = z.coerce.number().int().min(1);

export const attachmentsConfigSchema = z.object({
  home: z.string(),
  http: z.object({
    host: z.string(),
    port,
    /** Where clients reach this service (absolute URLs in answers, e.g. `https://files.example.org`). Empty: derived from the request. */
    publicUrl: z.string(),
  }),
  database: z.object({ path: z.string() }),
  storage: z.object({
    /** Content-addressed file store on local disk. */
    dir: z.string(),
    /** Partial resumable uploads live here until complete or expired. */
    uploadsDir: z.string(),
  }),
  control: z.object({
    /** The control server's gRPC address (loopback). */
    grpcAddress: z.string(),
  }),
  limits: z.object({
    /** Upload size when no role says otherwise. */
    defaultMaxUploadBytes: bytes,
    /** Decoded pixels an image may have before it is refused (decompression bombs). */
    maxImagePixels: bytes,
  }),
  /** Secret that signs expiring download URLs for files in private channels. */
  signingSecretPath: z.string(),
  embeds: z.object({
    /** Hosts or CIDR ranges that may be fetched although private/loopback (tests, intranets). */
    allow: z.array(z.string()),
    timeoutMs: z.coerce.number().int().min(100),
    maxBytes: bytes,
  }),
  logLevel: logLevelSchema,
});

export type AttachmentsConfig = z.infer<typeof attachmentsConfigSchema>;

export const ATTACHMENTS_ENV_MAP: Record<string, string> = {
  ALLOQUY_ATTACHMENTS_HOST: 'http.host',
  ALLOQUY_ATTACHMENTS_PORT: 'http.port',
  ALLOQUY_ATTACHMENTS_PUBLIC_URL: 'http.publicUrl',
  ALLOQUY_ATTACHMENTS_DB_PATH: 'database.path',
  ALLOQUY_ATTACHMENTS_DIR: 'storage.dir',
  ALLOQUY_CONTROL_GRPC_ADDRESS: 'control.grpcAddress',
  ALLOQUY_MAX_UPLOAD_BYTES: 'limits.defaultMaxUploadBytes',
  ALLOQUY_MAX_IMAGE_PIXELS: 'limits.maxImagePixels',
  ALLOQUY_LOG_LEVEL: 'logLevel',
};

function defaults(home: string) {
  return {
    home,
    http: { host: '0.0.0.0', port: 8081, publicUrl: '' },
    database: { path: join(home, 'attachments.sqlite') },
    storage: { dir: join(home, 'files'), uploadsDir: join(home, 'files', 'partial') },
    control: { grpcAddress: '127.0.0.1:50051' },
    limits: { defaultMaxUploadBytes: 1024 * 1024 * 1024, maxImagePixels: 100_000_000 },
    signingSecretPath: join(home, 'secrets', 'attachments-signing.key'),
    embeds: { allow: [] as string[], timeoutMs: 5000, maxBytes: 2 * 1024 * 1024 },
    logLevel: 'info',
  };
}

export function loadAttachmentsConfig(env: Env = process.env, cwd = process.cwd()): AttachmentsConfig {
  const home = resolve(cwd, env.ALLOQUY_HOME ?? '.alloquy');
  env = withControlGrpcAddress(env);
  return loadLayeredConfig({
    schema: attachmentsConfigSchema,
    defaults: defaults(home),
    file: env.ALLOQUY_ATTACHMENTS_CONFIG ?? join(home, 'attachments.json'),
    fileVariable: 'ALLOQUY_ATTACHMENTS_CONFIG',
    envMap: ATTACHMENTS_ENV_MAP,
    env,
  });
}
