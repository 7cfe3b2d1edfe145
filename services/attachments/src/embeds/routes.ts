import { z } from 'zod';
import { EmbedView } from '@alloquy/protocol/http';
import { AttachmentError } from '../errors/attachment-error.js';
import { requestOrigin, type RouteModule } from '../http/app.js';
import { rawRoute, UNAUTHORIZED } from '../http/route.js';
import { isContentAddress, type BlobStore } from '../storage/blob-store.js';
import { PREVIEW_PATH, toApiEmbed } from './embed.js';
import type { EmbedService } from './embed-service.js';
import type { EmbedStore } from './embed-store.js';

export interface EmbedRoutesOptions {
  embeds: Pick<EmbedService, 'lookup'>;
  /** Knows which blobs are embed previews (only those are served here). */
  store: EmbedStore;
  blobs: BlobStore;
  /** `http.publicUrl`; empty: derived from each request. */
  publicUrl?: string;
}

/**
 * `GET /api/v1/embeds?url=` (bearer token) answers a link's embed;
 * `GET /api/v1/embeds/previews/<sha256>.webp` serves its preview image without a token (an
 * `<img>` cannot send one, and a preview is a thumbnail of a public page's public image).
 */
export function embedRoutes(options: EmbedRoutesOptions): RouteModule {
  const { embeds, store, blobs } = options;

  const embed = rawRoute({
    method: 'get',
    path: '/api/v1/embeds',
    summary: "A link's embed (OpenGraph, Twitter card, oEmbed, preview image)",
    description:
      'Fetches the page (cached for a day; refusals and failures for a shorter time). Private, loopback, link-local and other non-public addresses are refused unless the server allowlists them (`embeds.allow`), as are ports other than 80 and 443; every redirect is checked again.',
    tag: 'embeds',
    auth: 'user',
    query: z.object({ url: z.string().max(2048).meta({ format: 'uri' }).describe('the link (http or https)') }),
    responses: { 200: { description: 'The embed', headers: { 'Cache-Control': 'private, max-age=300' }, content: { 'application/json': EmbedView } } },
    errors: {
      400: '`invalid_request`: no link, not http(s), credentials in the link, too long',
      401: UNAUTHORIZED,
      403: '`forbidden`: the link (or a redirect) leads to a private or loopback address, or a port other than 80/443',
      502: '`bad_gateway`: unreachable, an error status, not a page or image, larger than the limit',
      504: '`gateway_timeout`: no complete answer within the time limit',
    },
    async handler({ req, res }) {
      const link = req.query.url;
      if (typeof link !== 'string' || link.trim() === '') throw new AttachmentError('invalid_request', 'the "url" query parameter (one link) is required');
      const found = await embeds.lookup(link);
      res.setHeader('Cache-Control', 'private, max-age=300');
      res.json(toApiEmbed(found, requestOrigin(req, options.publicUrl)));
    },
  });

  const preview = rawRoute({
    method: 'get',
    path: `${PREVIEW_PATH}/{file}`,
    summary: "An embed's preview image",
    tag: 'embeds',
    auth: 'none',
    params: {
      file: z
        .string()
        .regex(/^[0-9a-f]{64}\.webp$/)
        .describe('<sha256>.webp'),
    },
    responses: { 200: { description: 'WebP image, cached for good (content-addressed)', content: { 'image/webp': null } } },
    errors: { 404: '`not_found`: no such preview image' },
    async handler({ res, params }) {
      const match = /^([0-9a-f]{64})\.webp$/.exec(params.file);
      const sha256 = match?.[1];
      const image = sha256 && isContentAddress(sha256) ? store.preview(sha256) : undefined;
      if (!image) throw new AttachmentError('not_found', 'no such preview image');
      const body = await blobs.open(image.sha256);
      res.setHeader('Content-Type', image.contentType);
      res.setHeader('Content-Length', String(image.size));
      // Content-addressed: the bytes behind this URL never change.
      res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      res.setHeader('Content-Security-Policy', "default-src 'none'");
      body.on('error', (err) => res.destroy(err));
      body.pipe(res);
    },
  });

  return { name: 'embeds', routes: [embed, preview] };
}
