import { Readable } from 'node:stream';
import express, { type Request, type Response } from 'express';
import type { Logger } from '@alloquy/service-kit/log';
import type { Authorizer } from '../authz/authorizer.js';
import { AttachmentError } from '../errors/attachment-error.js';
import { bearerToken, requestOrigin, type RouteModule } from '../http/app.js';
import type { BlobStore } from '../storage/blob-store.js';
import { closeAfterResponse } from '../uploads/early-response.js';
import type { AccountAssetKind, AssetImage, AssetStore } from './asset-store.js';
import { ASSETS_OPENAPI_PATHS } from './openapi.js';
import { AVATAR_SHAPE, BANNER_SHAPE, EMOJI_SHAPE, ICON_SHAPE, receiveImage, type AssetImages, type AssetShape, type NormalisedImage } from './normalise.js';

export const EMOJI_NAME = /^[a-z0-9_]{2,32}$/;

export interface AssetRoutesOptions {
  store: AssetStore;
  blobs: BlobStore;
  images: AssetImages;
  authorizer: Pick<Authorizer, 'identify' | 'authorizeGuildAction'>;
  /** `http.publicUrl`; empty: derived from each request. */
  publicUrl?: string;
  maxBytes?: number;
  log?: Logger;
  now?: () => number;
}

const ACCOUNT_SHAPES: Record<AccountAssetKind, AssetShape> = { avatar: AVATAR_SHAPE, banner: BANNER_SHAPE };
/** The public URLs are stable per account / name, so caches revalidate (ETag) after a short while. */
const PUBLIC_CACHE = 'public, max-age=300, must-revalidate';

/**
 * Avatars and banners (`/api/v1/me/{avatar,banner}`), the guild icon (`/api/v1/guild/icon`) and
 * custom emoji (`/api/v1/emoji`): the body is the raw image; it is sniffed, checked against the
 * pixel limit, normalised to WebP and stored in the BlobStore. The images are served without a
 * token (an `<img>` cannot send one; they are public by nature).
 */
export function assetRoutes(options: AssetRoutesOptions): RouteModule {
  const { store, blobs, images, authorizer } = options;
  const now = options.now ?? Date.now;
  const maxBytes = options.maxBytes;
  const router = express.Router();

  /** Receives and normalises the body; refusals made before it was read close the connection politely. */
  async function normaliseBody(req: Request, res: Response, shape: AssetShape): Promise<NormalisedImage> {
    let received;
    try {
      received = await receiveImage(req, maxBytes);
    } catch (err) {
      closeAfterResponse(req, res);
      throw err;
    }
    try {
      return await images.normalise(received, shape);
    } finally {
      await received.dispose();
    }
  }

  async function putBlob(image: NormalisedImage): Promise<{ record: AssetImage; created: boolean }> {
    const stored = await blobs.put(Readable.from([image.data]));
    return {
      record: { sha256: stored.sha256, contentType: image.contentType, width: image.width, height: image.height, size: stored.size, updatedAt: now() },
      created: stored.created,
    };
  }

  /** Drops a blob no record uses any more (the BlobStore is shared with uploads and embeds). */
  async function release(sha256: string | undefined): Promise<void> {
    if (!sha256 || store.blobInUse(sha256)) return;
    await blobs.delete(sha256).catch((err: unknown) => options.log?.warn({ err, sha256 }, 'could not delete an unused asset blob'));
  }

  /** Refuses before the body is read (auth, bad name): the connection closes after the answer. */
  async function early<T>(req: Request, res: Response, check: () => Promise<T> | T): Promise<T> {
    try {
      return await check();
    } catch (err) {
      closeAfterResponse(req, res);
      throw err;
    }
  }

  for (const kind of ['avatar', 'banner'] as const) {
    router.put(`/api/v1/me/${kind}`, async (req, res) => {
      const principal = await early(req, res, () => authorizer.identify(bearerToken(req)));
      const image = await normaliseBody(req, res, ACCOUNT_SHAPES[kind]);
      const { record } = await putBlob(image);
      const previous = store.setAccountAsset(principal.account, kind, record);
      if (previous !== record.sha256) await release(previous);
      res.json(imageAnswer(`${requestOrigin(req, options.publicUrl)}/${kind}s/${encodeURIComponent(principal.account)}.webp`, record));
    });

    router.delete(`/api/v1/me/${kind}`, async (req, res) => {
      const principal = await authorizer.identify(bearerToken(req));
      const removed = store.deleteAccountAsset(principal.account, kind);
      if (!removed) throw new AttachmentError('not_found', `you have no ${kind}`);
      await release(removed);
      res.status(204).end();
    });

    router.get(`/${kind}s/:file`, async (req, res) => {
      const account = /^(.+)\.webp$/.exec(req.params.file ?? '')?.[1];
      const asset = account ? store.accountAsset(account, kind) : undefined;
      if (!asset) throw new AttachmentError('not_found', `no such ${kind}`);
      await sendImage(req, res, blobs, asset.sha256, asset.contentType, asset.size);
    });
  }

  router.put('/api/v1/guild/icon', async (req, res) => {
    const principal = await early(req, res, () => authorizer.authorizeGuildAction(bearerToken(req), 'manage_guild'));
    const image = await normaliseBody(req, res, ICON_SHAPE);
    const { record } = await putBlob(image);
    const previous = store.setGuildIcon(record, principal.account);
    if (previous !== record.sha256) await release(previous);
    res.json(imageAnswer(`${requestOrigin(req, options.publicUrl)}/guild/icon.webp`, record));
  });

  router.delete('/api/v1/guild/icon', async (req, res) => {
    await authorizer.authorizeGuildAction(bearerToken(req), 'manage_guild');
    const removed = store.deleteGuildIcon();
    if (!removed) throw new AttachmentError('not_found', 'the server has no icon');
    await release(removed);
    res.status(204).end();
  });

  router.get('/guild/icon.webp', async (req, res) => {
    const icon = store.guildIcon();
    if (!icon) throw new AttachmentError('not_found', 'the server has no icon');
    await sendImage(req, res, blobs, icon.sha256, icon.contentType, icon.size);
  });

  router.post('/api/v1/emoji', async (req, res) => {
    const { principal, name } = await early(req, res, async () => {
      const principal = await authorizer.authorizeGuildAction(bearerToken(req), 'manage_emojis');
      const raw = req.query.name;
      const name = typeof raw === 'string' ? raw.toLowerCase() : '';
      if (!EMOJI_NAME.test(name)) throw new AttachmentError('invalid_request', 'the "name" query parameter must be 2–32 of a-z, 0-9 and _');
      if (store.emoji(name)) throw new AttachmentError('conflict', `an emoji named "${name}" exists`);
      return { principal, name };
    });
    const image = await normaliseBody(req, res, EMOJI_SHAPE);
    const { record, created } = await putBlob(image);
    try {
      store.addEmoji({ name, sha256: record.sha256, animated: image.animated, size: record.size, createdBy: principal.account, createdAt: record.updatedAt });
    } catch (err) {
      // Someone took the name while this one was being processed.
      if (created) await release(record.sha256);
      throw err;
    }
    res.status(201).json(emojiAnswer(requestOrigin(req, options.publicUrl), { name, animated: image.animated, createdBy: principal.account }));
  });

  router.get('/api/v1/emoji', async (req, res) => {
    await authorizer.identify(bearerToken(req));
    const base = requestOrigin(req, options.publicUrl);
    res.setHeader('Cache-Control', 'private, max-age=60');
    res.json(store.listEmoji().map((emoji) => emojiAnswer(base, emoji)));
  });

  router.delete('/api/v1/emoji/:name', async (req, res) => {
    await authorizer.authorizeGuildAction(bearerToken(req), 'manage_emojis');
    const removed = store.deleteEmoji((req.params.name ?? '').toLowerCase());
    if (!removed) throw new AttachmentError('not_found', 'no such emoji');
    await release(removed);
    res.status(204).end();
  });

  router.get('/emoji/:file', async (req, res) => {
    const name = /^([A-Za-z0-9_]{2,32})\.webp$/.exec(req.params.file ?? '')?.[1];
    const emoji = name ? store.emoji(name) : undefined;
    if (!emoji) throw new AttachmentError('not_found', 'no such emoji');
    await sendImage(req, res, blobs, emoji.sha256, 'image/webp', emoji.size);
  });

  return { name: 'assets', router, paths: ASSETS_OPENAPI_PATHS };
}

function imageAnswer(url: string, record: AssetImage) {
  // The version parameter changes with the image, so a client can cache the URL it was given for good.
  return { url: `${url}?v=${record.sha256.slice(0, 16)}`, width: record.width, height: record.height, content_type: record.contentType, size: record.size };
}

function emojiAnswer(base: string, emoji: { name: string; animated: boolean; createdBy: string }) {
  return { name: emoji.name, url: `${base}/emoji/${emoji.name}.webp`, animated: emoji.animated, created_by: emoji.createdBy };
}

/** Serves a stored WebP with an ETag (its content address): a changed avatar is seen after revalidation. */
async function sendImage(req: Request, res: Response, blobs: BlobStore, sha256: string, contentType: string, size: number): Promise<void> {
  const etag = `"${sha256}"`;
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', PUBLIC_CACHE);
  res.setHeader('Content-Security-Policy', "default-src 'none'");
  if (req.headers['if-none-match']?.split(/\s*,\s*/).includes(etag)) {
    res.status(304).end();
    return;
  }
  const body = await blobs.open(sha256);
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', String(size));
  if (req.method === 'HEAD') {
    body.destroy();
    res.end();
    return;
  }
  body.on('error', (err) => res.destroy(err));
  body.pipe(res);
}
