import express from 'express';
import type { Authorizer } from '../authz/authorizer.js';
import { AttachmentError } from '../errors/attachment-error.js';
import { bearerToken, requestOrigin, type RouteModule } from '../http/app.js';
import { isContentAddress, type BlobStore } from '../storage/blob-store.js';
import { errorResponse } from '../uploads/openapi.js';
import { PREVIEW_PATH, toApiEmbed } from './embed.js';
import type { EmbedService } from './embed-service.js';
import type { EmbedStore } from './embed-store.js';

export interface EmbedRoutesOptions {
  embeds: Pick<EmbedService, 'lookup'>;
  /** Knows which blobs are embed previews (only those are served here). */
  store: EmbedStore;
  blobs: BlobStore;
  authorizer: Pick<Authorizer, 'identify'>;
  /** `http.publicUrl`; empty: derived from each request. */
  publicUrl?: string;
}

/**
 * `GET /api/v1/embeds?url=` (bearer token) answers a link's embed;
 * `GET /api/v1/embeds/previews/<sha256>.webp` serves its preview image without a token (an
 * `<img>` cannot send one, and a preview is a thumbnail of a public page's public image).
 */
export function embedRoutes(options: EmbedRoutesOptions): RouteModule {
  const { embeds, store, blobs, authorizer } = options;
  const router = express.Router();

  router.get('/api/v1/embeds', async (req, res) => {
    await authorizer.identify(bearerToken(req));
    const link = req.query.url;
    if (typeof link !== 'string' || link.trim() === '') throw new AttachmentError('invalid_request', 'the "url" query parameter (one link) is required');
    const embed = await embeds.lookup(link);
    res.setHeader('Cache-Control', 'private, max-age=300');
    res.json(toApiEmbed(embed, requestOrigin(req, options.publicUrl)));
  });

  router.get(`${PREVIEW_PATH}/:file`, async (req, res) => {
    const match = /^([0-9a-f]{64})\.webp$/.exec(req.params.file ?? '');
    const sha256 = match?.[1];
    const preview = sha256 && isContentAddress(sha256) ? store.preview(sha256) : undefined;
    if (!preview) throw new AttachmentError('not_found', 'no such preview image');
    const body = await blobs.open(preview.sha256);
    res.setHeader('Content-Type', preview.contentType);
    res.setHeader('Content-Length', String(preview.size));
    // Content-addressed: the bytes behind this URL never change.
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    res.setHeader('Content-Security-Policy', "default-src 'none'");
    body.on('error', (err) => res.destroy(err));
    body.pipe(res);
  });

  return { name: 'embeds', router, paths: OPENAPI_PATHS };
}

const OPENAPI_PATHS: Record<string, unknown> = {
  '/api/v1/embeds': {
    get: {
      summary: "A link's embed (OpenGraph, Twitter card, oEmbed, preview image)",
      description:
        'Fetches the page (cached for a day; refusals and failures for a shorter time). Private, loopback, link-local and other non-public addresses are refused unless the server allowlists them (`embeds.allow`), as are ports other than 80 and 443; every redirect is checked again.',
      security: [{ bearer: [] }],
      parameters: [{ name: 'url', in: 'query', required: true, schema: { type: 'string', format: 'uri', maxLength: 2048 } }],
      responses: {
        200: {
          description: 'The embed',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['url', 'title', 'description', 'site_name', 'image', 'type', 'provider', 'video'],
                properties: {
                  url: { type: 'string' },
                  title: { type: ['string', 'null'] },
                  description: { type: ['string', 'null'] },
                  site_name: { type: ['string', 'null'] },
                  image: {
                    oneOf: [
                      { type: 'null' },
                      {
                        type: 'object',
                        required: ['url', 'width', 'height', 'source_url', 'placeholder'],
                        properties: {
                          url: { type: 'string', description: 'The preview (WebP, at most 400×400, animated if the original is) served by this service' },
                          width: { type: 'integer' },
                          height: { type: 'integer' },
                          source_url: { type: 'string' },
                          placeholder: { type: 'string', description: 'ThumbHash, base64' },
                        },
                      },
                    ],
                  },
                  type: { type: 'string', description: '`og:type`, the oEmbed type, `image` for a direct image link, else `link`' },
                  provider: { type: ['string', 'null'] },
                  video: {
                    oneOf: [
                      { type: 'null' },
                      {
                        type: 'object',
                        properties: { url: { type: 'string' }, width: { type: ['integer', 'null'] }, height: { type: ['integer', 'null'] }, type: { type: ['string', 'null'] } },
                      },
                    ],
                  },
                },
              },
            },
          },
        },
        400: errorResponse('`invalid_request`: no link, not http(s), credentials in the link, too long'),
        401: errorResponse('`unauthorized` / `invalid_token`'),
        403: errorResponse('`forbidden`: the link (or a redirect) leads to a private or loopback address, or a port other than 80/443'),
        502: errorResponse('`bad_gateway`: unreachable, an error status, not a page or image, larger than the limit'),
        504: errorResponse('`gateway_timeout`: no complete answer within the time limit'),
      },
    },
  },
  [`${PREVIEW_PATH}/{file}`]: {
    get: {
      summary: "An embed's preview image",
      parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{64}\\.webp$' } }],
      responses: {
        200: { description: 'WebP image', content: { 'image/webp': {} } },
        404: errorResponse('`not_found`'),
      },
    },
  },
};
