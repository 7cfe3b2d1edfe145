import { Readable } from 'node:stream';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AssetImageView, EmojiList, EmojiView } from '@alloquy/protocol/http';
import type { Logger } from '@alloquy/service-kit/log';
import type { Authorizer } from '../authz/authorizer.js';
import { AttachmentError } from '../errors/attachment-error.js';
import { requestOrigin, type RouteModule } from '../http/app.js';
import { rawRoute, route, UNAUTHORIZED, type AttachmentsRouteTable } from '../http/route.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { AccountAssetKind, AssetImage, AssetStore } from './asset-store.js';
import { AVATAR_SHAPE, BANNER_SHAPE, EMOJI_SHAPE, ICON_SHAPE, receiveImage, type AssetImages, type AssetShape, type NormalisedImage } from './normalise.js';

export const EMOJI_NAME = /^[a-z0-9_]{2,32}$/;

export interface AssetRoutesOptions {
  store: AssetStore;
  blobs: BlobStore;
  images: AssetImages;
  /** Asks whether the bearer may manage emoji or the server; callers of the other routes are authenticated by the app. */
  authorizer: Pick<Authorizer, 'authorizeGuildAction'>;
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

  /** Receives and normalises the body (a refusal before it was read closes the connection: the route declares a body). */
  async function normaliseBody(req: Request, shape: AssetShape): Promise<NormalisedImage> {
    const received = await receiveImage(req, maxBytes);
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

  const routes: AttachmentsRouteTable = [
    ...(['avatar', 'banner'] as const).flatMap((kind) => [
      rawRoute({
        method: 'put',
        path: `/api/v1/me/${kind}`,
        summary: `Set your ${kind} (normalised to a ${SIZES[kind]} cover-cropped WebP)`,
        tag: 'assets',
        auth: 'user',
        body: imageBody(`The ${kind}`),
        responses: { 200: storedImage },
        errors: uploadErrors,
        async handler({ req, res, principal }) {
          const image = await normaliseBody(req, ACCOUNT_SHAPES[kind]);
          const { record } = await putBlob(image);
          const previous = store.setAccountAsset(principal.account, kind, record);
          if (previous !== record.sha256) await release(previous);
          res.json(imageAnswer(`${requestOrigin(req, options.publicUrl)}/${kind}s/${encodeURIComponent(principal.account)}.webp`, record));
        },
      }),
      route({
        method: 'delete',
        path: `/api/v1/me/${kind}`,
        summary: `Remove your ${kind}`,
        tag: 'assets',
        auth: 'user',
        responses: { 204: null },
        errors: { 404: `\`not_found\`: you have no ${kind}` },
        async handler({ principal }) {
          const removed = store.deleteAccountAsset(principal.account, kind);
          if (!removed) throw new AttachmentError('not_found', `you have no ${kind}`);
          await release(removed);
          return { status: 204 };
        },
      }),
      rawRoute({
        method: 'get',
        path: `/${kind}s/{file}`,
        summary: `An account's ${kind}`,
        description: PUBLIC_IMAGE,
        tag: 'assets',
        auth: 'none',
        params: {
          file: z
            .string()
            .regex(/^.+\.webp$/)
            .describe('`<account>.webp`'),
        },
        responses: publicImageResponses,
        errors: { 404: `\`not_found\`: no such ${kind}` },
        async handler({ req, res, params }) {
          const account = /^(.+)\.webp$/.exec(params.file)?.[1];
          const asset = account ? store.accountAsset(account, kind) : undefined;
          if (!asset) throw new AttachmentError('not_found', `no such ${kind}`);
          await sendImage(req, res, blobs, asset.sha256, asset.contentType, asset.size);
        },
      }),
    ]),

    rawRoute({
      method: 'put',
      path: '/api/v1/guild/icon',
      summary: 'Set the server icon (256×256 WebP); needs MANAGE_GUILD',
      tag: 'assets',
      // The MANAGE_GUILD question checks the token too: one call to the control server.
      auth: 'token',
      body: imageBody('The icon'),
      responses: { 200: storedImage },
      errors: { ...uploadErrors, 403: '`forbidden`: no MANAGE_GUILD' },
      async handler({ req, res, token }) {
        const principal = await authorizer.authorizeGuildAction(token, 'manage_guild');
        const image = await normaliseBody(req, ICON_SHAPE);
        const { record } = await putBlob(image);
        const previous = store.setGuildIcon(record, principal.account);
        if (previous !== record.sha256) await release(previous);
        res.json(imageAnswer(`${requestOrigin(req, options.publicUrl)}/guild/icon.webp`, record));
      },
    }),
    rawRoute({
      method: 'delete',
      path: '/api/v1/guild/icon',
      summary: 'Remove the server icon; needs MANAGE_GUILD',
      tag: 'assets',
      auth: 'token',
      responses: { 204: { description: 'Removed' } },
      errors: { 401: UNAUTHORIZED, 403: '`forbidden`: no MANAGE_GUILD', 404: '`not_found`: no icon' },
      async handler({ res, token }) {
        await authorizer.authorizeGuildAction(token, 'manage_guild');
        const removed = store.deleteGuildIcon();
        if (!removed) throw new AttachmentError('not_found', 'the server has no icon');
        await release(removed);
        res.status(204).end();
      },
    }),
    rawRoute({
      method: 'get',
      path: '/guild/icon.webp',
      summary: 'The server icon',
      description: PUBLIC_IMAGE,
      tag: 'assets',
      auth: 'none',
      responses: publicImageResponses,
      errors: { 404: '`not_found`: the server has no icon' },
      async handler({ req, res }) {
        const icon = store.guildIcon();
        if (!icon) throw new AttachmentError('not_found', 'the server has no icon');
        await sendImage(req, res, blobs, icon.sha256, icon.contentType, icon.size);
      },
    }),

    rawRoute({
      method: 'post',
      path: '/api/v1/emoji',
      summary: 'Add a custom emoji (128×128 WebP, animation kept); needs MANAGE_EMOJIS',
      tag: 'assets',
      // The MANAGE_EMOJIS question checks the token too: one call to the control server.
      auth: 'token',
      query: z.object({ name: z.string().regex(EMOJI_NAME).describe('2–32 of a-z, 0-9 and _') }),
      body: imageBody('The emoji image'),
      responses: { 201: { description: 'Added', content: { 'application/json': EmojiView } } },
      errors: { ...uploadErrors, 403: '`forbidden`: no MANAGE_EMOJIS', 409: '`conflict`: the name is taken' },
      async handler({ req, res, token }) {
        const principal = await authorizer.authorizeGuildAction(token, 'manage_emojis');
        const raw = req.query.name;
        const name = typeof raw === 'string' ? raw.toLowerCase() : '';
        if (!EMOJI_NAME.test(name)) throw new AttachmentError('invalid_request', 'the "name" query parameter must be 2–32 of a-z, 0-9 and _');
        if (store.emoji(name)) throw new AttachmentError('conflict', `an emoji named "${name}" exists`);
        const image = await normaliseBody(req, EMOJI_SHAPE);
        const { record, created } = await putBlob(image);
        try {
          store.addEmoji({
            name,
            sha256: record.sha256,
            animated: image.animated,
            size: record.size,
            createdBy: principal.account,
            createdAt: record.updatedAt,
          });
        } catch (err) {
          // Someone took the name while this one was being processed.
          if (created) await release(record.sha256);
          throw err;
        }
        res.status(201).json(emojiAnswer(requestOrigin(req, options.publicUrl), { name, animated: image.animated, createdBy: principal.account }));
      },
    }),
    rawRoute({
      method: 'get',
      path: '/api/v1/emoji',
      summary: 'The custom emoji (any signed-in member). IRC users see `:name:` as text; rich clients show the image.',
      tag: 'assets',
      auth: 'user',
      responses: { 200: { description: 'Emoji by name', headers: { 'Cache-Control': 'private, max-age=60' }, content: { 'application/json': EmojiList } } },
      errors: { 401: UNAUTHORIZED },
      async handler({ req, res }) {
        const base = requestOrigin(req, options.publicUrl);
        res.setHeader('Cache-Control', 'private, max-age=60');
        res.json(store.listEmoji().map((emoji) => emojiAnswer(base, emoji)));
      },
    }),
    rawRoute({
      method: 'delete',
      path: '/api/v1/emoji/{name}',
      summary: 'Remove a custom emoji; needs MANAGE_EMOJIS',
      tag: 'assets',
      auth: 'token',
      responses: { 204: { description: 'Removed' } },
      errors: { 401: UNAUTHORIZED, 403: '`forbidden`: no MANAGE_EMOJIS', 404: '`not_found`: no such emoji' },
      async handler({ res, params, token }) {
        await authorizer.authorizeGuildAction(token, 'manage_emojis');
        const removed = store.deleteEmoji(params.name.toLowerCase());
        if (!removed) throw new AttachmentError('not_found', 'no such emoji');
        await release(removed);
        res.status(204).end();
      },
    }),
    rawRoute({
      method: 'get',
      path: '/emoji/{file}',
      summary: 'A custom emoji image',
      description: PUBLIC_IMAGE,
      tag: 'assets',
      auth: 'none',
      params: {
        file: z
          .string()
          .regex(/^[a-z0-9_]{2,32}\.webp$/)
          .describe('`<name>.webp`'),
      },
      responses: publicImageResponses,
      errors: { 404: '`not_found`: no such emoji' },
      async handler({ req, res, params }) {
        const name = /^([A-Za-z0-9_]{2,32})\.webp$/.exec(params.file)?.[1];
        const emoji = name ? store.emoji(name) : undefined;
        if (!emoji) throw new AttachmentError('not_found', 'no such emoji');
        await sendImage(req, res, blobs, emoji.sha256, 'image/webp', emoji.size);
      },
    }),
  ];

  return { name: 'assets', routes };
}

const SIZES: Record<AccountAssetKind, string> = { avatar: '256×256', banner: '960×540' };

const imageBody = (what: string) => ({
  description: `${what}: the raw image bytes (PNG, JPEG, GIF or WebP, detected from the bytes whatever the Content-Type), at most 8 MiB.`,
  content: { 'application/octet-stream': null, 'image/*': null },
});

const storedImage = { description: 'The stored image', content: { 'application/json': AssetImageView } };

const uploadErrors = {
  400: '`invalid_request`: empty body, bad emoji name',
  401: UNAUTHORIZED,
  413: '`payload_too_large`: more than 8 MiB',
  415: '`unsupported_media_type`: not PNG, JPEG, GIF or WebP',
  422: '`unprocessable_image`: undecodable, or over the pixel limit',
  429: '`too_many_requests`: too many images being processed',
};

const PUBLIC_IMAGE = 'No token needed. `Cache-Control: public, max-age=300`, `ETag` (conditional requests answer 304).';

const publicImageResponses = {
  200: { description: 'WebP image', headers: { ETag: 'the content address' }, content: { 'image/webp': null } },
  304: { description: 'Not modified' },
};

function imageAnswer(url: string, record: AssetImage): AssetImageView {
  // The version parameter changes with the image, so a client can cache the URL it was given for good.
  return { url: `${url}?v=${record.sha256.slice(0, 16)}`, width: record.width, height: record.height, content_type: record.contentType, size: record.size };
}

function emojiAnswer(base: string, emoji: { name: string; animated: boolean; createdBy: string }): EmojiView {
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
