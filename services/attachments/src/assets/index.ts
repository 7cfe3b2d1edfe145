import type Database from 'better-sqlite3';
import type { Logger } from '@alloquy/service-kit/log';
import type { Authorizer } from '../authz/authorizer.js';
import type { AttachmentsConfig } from '../config/config.js';
import type { RouteModule } from '../http/app.js';
import type { BlobStore } from '../storage/blob-store.js';
import { AssetStore } from './asset-store.js';
import { AssetImages } from './normalise.js';
import { assetRoutes } from './routes.js';

export interface AssetsDeps {
  config: Pick<AttachmentsConfig, 'limits' | 'http'>;
  /** The attachments database; the asset tables are migrated into it. */
  db: Database.Database;
  blobs: BlobStore;
  authorizer: Pick<Authorizer, 'authorizeGuildAction'>;
  log?: Logger;
  /** Largest image body (default 8 MiB). */
  maxBytes?: number;
}

export interface Assets {
  routes: RouteModule;
  store: AssetStore;
  images: AssetImages;
}

/** Avatars, banners, the guild icon and custom emoji, wired from the service config. */
export function createAssets(deps: AssetsDeps): Assets {
  const store = new AssetStore(deps.db);
  const images = new AssetImages({ maxImagePixels: deps.config.limits.maxImagePixels });
  const routes = assetRoutes({
    store,
    blobs: deps.blobs,
    images,
    authorizer: deps.authorizer,
    publicUrl: deps.config.http.publicUrl,
    ...(deps.maxBytes ? { maxBytes: deps.maxBytes } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  });
  return { routes, store, images };
}
