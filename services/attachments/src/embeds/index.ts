import type Database from 'better-sqlite3';
import type { Logger } from '@alloquy/service-kit/log';
import type { AttachmentsConfig } from '../config/config.js';
import type { RouteModule } from '../http/app.js';
import type { AttachmentsMetrics } from '../metrics/metrics.js';
import type { BlobStore } from '../storage/blob-store.js';
import { EmbedService } from './embed-service.js';
import { EmbedStore } from './embed-store.js';
import { TargetPolicy } from './policy.js';
import { createPreviewImageProcessor, PreviewMaker } from './preview-image.js';
import { embedRoutes } from './routes.js';
import { SafeFetcher, type Resolver } from './safe-fetcher.js';
import { Unfurler } from './unfurler.js';

export interface EmbedsDeps {
  config: Pick<AttachmentsConfig, 'embeds' | 'limits' | 'http'>;
  /** The attachments database; the embed tables are migrated into it. */
  db: Database.Database;
  blobs: BlobStore;
  metrics?: AttachmentsMetrics;
  log?: Logger;
  /** Host name resolution (tests inject one); getaddrinfo by default. */
  resolver?: Resolver;
  /** Extra trusted CAs for fetched sites (tests, intranets). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Preview image download limit. Default 5 MiB. */
  maxImageBytes?: number;
}

export interface Embeds {
  routes: RouteModule;
  service: EmbedService;
  fetcher: SafeFetcher;
  store: EmbedStore;
}

/** Link embeds wired from the service config: SSRF-safe fetcher, unfurler, cache and routes. */
export function createEmbeds(deps: EmbedsDeps): Embeds {
  const { config } = deps;
  // A malformed allowlist entry stops start-up with the entry named.
  const policy = new TargetPolicy(config.embeds.allow);
  const fetcher = new SafeFetcher({
    policy,
    timeoutMs: config.embeds.timeoutMs,
    maxBytes: config.embeds.maxBytes,
    ...(deps.resolver ? { resolver: deps.resolver } : {}),
    ...(deps.ca ? { ca: deps.ca } : {}),
  });
  const store = new EmbedStore(deps.db);
  const previews = new PreviewMaker({ images: createPreviewImageProcessor(config.limits.maxImagePixels), blobs: deps.blobs, store });
  const unfurler = new Unfurler({
    fetcher,
    previews,
    timeoutMs: config.embeds.timeoutMs,
    maxPageBytes: config.embeds.maxBytes,
    maxImageBytes: deps.maxImageBytes ?? 5 * 1024 * 1024,
    ...(deps.log ? { log: deps.log } : {}),
  });
  const service = new EmbedService({
    unfurler,
    store,
    policyFingerprint: policy.fingerprint,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  });
  service.prune();
  const routes = embedRoutes({ embeds: service, store, blobs: deps.blobs, publicUrl: config.http.publicUrl });
  return { routes, service, fetcher, store };
}
