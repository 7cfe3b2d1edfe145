import { accessSync, constants, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { closeHttp, listenHttp } from '@alloquy/service-kit/http';
import type { Logger } from '@alloquy/service-kit/log';
import type { Authorizer } from './authz/authorizer.js';
import type { AttachmentsConfig } from './config/config.js';
import { downloadRoutes } from './downloads/download-routes.js';
import { AttachmentLinks, DEFAULT_LINK_POLICY, type LinkPolicy } from './downloads/links.js';
import { UrlSigner } from './downloads/url-signer.js';
import { Health } from '@alloquy/service-kit/health';
import { createAttachmentsApp, type RouteModule } from './http/app.js';
import { AttachmentsMetrics } from './metrics/metrics.js';
import type { BlobStore } from './storage/blob-store.js';
import { LocalBlobStore } from './storage/local-blob-store.js';
import { AttachmentStore } from './store/attachment-store.js';
import { attachmentRoutes } from './uploads/attachment-routes.js';
import { AttachmentIngest } from './uploads/ingest.js';
import type { MediaProcessor } from './uploads/media-processor.js';
import { resumableRoutes } from './uploads/resumable-routes.js';
import { ensureSecret } from '@alloquy/service-kit/config';

export const VERSION = '0.1.0';

/** The service's parts other features build on (emoji, avatars, embeds get these). */
export interface AttachmentsCore {
  config: AttachmentsConfig;
  log: Logger;
  authorizer: Authorizer;
  blobs: BlobStore;
  store: AttachmentStore;
  metrics: AttachmentsMetrics;
  health: Health;
  signer: UrlSigner;
  links: AttachmentLinks;
}

export interface AttachmentsServerDeps {
  authorizer: Authorizer;
  /** Dimensions, thumbnails, durations. Without it files are stored without media info. */
  mediaProcessor?: MediaProcessor | ((core: AttachmentsCore) => MediaProcessor);
  /** Further features, mounted after uploads and downloads. */
  extraModules?: readonly RouteModule[] | ((core: AttachmentsCore) => readonly RouteModule[]);
  /** Defaults to a LocalBlobStore in `storage.dir`; an S3-compatible store goes here. */
  blobs?: BlobStore;
  links?: Partial<LinkPolicy>;
  /** Unfinished resumable uploads are deleted this long after creation (default 24 h). */
  resumableExpiryMs?: number;
  /** Injectable clock (ms), for tests of expiry. */
  now?: () => number;
}

export interface AttachmentsServer extends AttachmentsCore {
  /** The HTTP port actually bound (differs from config when it asked for 0). */
  httpPort: number;
  /** Deletes expired partial uploads now (it also runs every 10 minutes). */
  sweepUploads(): Promise<void>;
  stop(): Promise<void>;
}

const DEFAULT_RESUMABLE_EXPIRY_MS = 24 * 3600 * 1000;
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;

/**
 * Starts the attachments service: metadata database, blob store, uploads (multipart and tus),
 * downloads, and whatever `extraModules` add, on `config.http.host:port`.
 */
export async function startAttachmentsServer(config: AttachmentsConfig, log: Logger, deps: AttachmentsServerDeps): Promise<AttachmentsServer> {
  const now = deps.now ?? Date.now;
  mkdirSync(config.storage.uploadsDir, { recursive: true, mode: 0o750 });
  const blobs = deps.blobs ?? (await LocalBlobStore.open(config.storage.dir));
  const store = AttachmentStore.open(config.database.path);
  const metrics = new AttachmentsMetrics();
  const health = new Health();
  health.register('database', () => {
    store.db.prepare('SELECT 1').get();
    return { status: 'up' };
  });
  health.register('storage', () => {
    // Uploads need to write both folders; a read-only or vanished mount is an outage.
    if (!deps.blobs) accessSync(config.storage.dir, constants.W_OK);
    accessSync(config.storage.uploadsDir, constants.W_OK);
    return { status: 'up' };
  });
  const signer = new UrlSigner(ensureSecret(config.signingSecretPath));
  const links = new AttachmentLinks(signer, { ...DEFAULT_LINK_POLICY, ...deps.links }, config.http.publicUrl);
  const core: AttachmentsCore = { config, log, authorizer: deps.authorizer, blobs, store, metrics, health, signer, links };

  const mediaProcessor = typeof deps.mediaProcessor === 'function' ? deps.mediaProcessor(core) : deps.mediaProcessor;
  const ingest = new AttachmentIngest({ store, blobs, metrics, log: log.child({ component: 'uploads' }), now, ...(mediaProcessor ? { mediaProcessor } : {}) });
  const resumable = resumableRoutes({
    ingest,
    store,
    authorizer: deps.authorizer,
    links,
    log: log.child({ component: 'resumable' }),
    uploadsDir: config.storage.uploadsDir,
    expiryMs: deps.resumableExpiryMs ?? DEFAULT_RESUMABLE_EXPIRY_MS,
    publicUrl: config.http.publicUrl,
    now,
  });
  const extra = typeof deps.extraModules === 'function' ? deps.extraModules(core) : (deps.extraModules ?? []);
  const app = createAttachmentsApp({
    modules: [
      attachmentRoutes({
        ingest,
        store,
        authorizer: deps.authorizer,
        links,
        log: log.child({ component: 'uploads' }),
        unknownChannelMaxBytes: config.limits.defaultMaxUploadBytes,
        now,
      }),
      resumable,
      downloadRoutes({ store, blobs, authorizer: deps.authorizer, signer, log: log.child({ component: 'downloads' }), now }),
      ...extra,
    ],
    authorizer: deps.authorizer,
    health,
    metrics,
    log: log.child({ component: 'http' }),
    version: VERSION,
  });

  const http = createServer(app);
  // A 1 GB multipart upload on a slow link takes longer than Node's default 5-minute request
  // limit; slow or stalled clients are still cut by the header timeout and the idle timeout.
  http.requestTimeout = 0;
  http.timeout = 120_000;
  http.keepAliveTimeout = 5000;
  const httpPort = await listenHttp(http, config.http.port, config.http.host);

  const sweeper = setInterval(() => {
    resumable.sweep().catch((err: unknown) => log.warn({ err }, 'sweeping resumable uploads failed'));
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();
  void resumable.sweep().catch((err: unknown) => log.warn({ err }, 'sweeping resumable uploads failed'));

  log.info({ http: `${config.http.host}:${httpPort}`, storage: config.storage.dir }, 'attachments service started');

  return {
    ...core,
    httpPort,
    sweepUploads: () => resumable.sweep(),
    async stop() {
      clearInterval(sweeper);
      await closeHttp(http);
      store.close();
    },
  };
}
