import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { Logger } from '@alloquy/service-kit/log';
import type { Authorizer } from '../authz/authorizer.js';
import { AttachmentError } from '../errors/attachment-error.js';
import type { RouteModule } from '../http/app.js';
import { CONTROL_UNAVAILABLE, rawRoute, UNAUTHORIZED } from '../http/route.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { AttachmentRecord, AttachmentStore } from '../store/attachment-store.js';
import { servingRule } from '../uploads/content-type.js';
import { contentDisposition } from '../uploads/filename.js';
import { parseRange } from './range.js';
import { EXPIRES_PARAM, SIGNATURE_PARAM, type UrlSigner } from './url-signer.js';

export interface DownloadRoutesDeps {
  store: AttachmentStore;
  blobs: BlobStore;
  authorizer: Authorizer;
  signer: UrlSigner;
  log: Logger;
  now?: () => number;
  /** How long a channel's public/private answer is reused (a burst of thumbnails asks once). */
  publicCacheMs?: number;
}

/** A year: the bytes behind a file URL never change (ids are never reused, blobs are content-addressed). */
const IMMUTABLE = 'public, max-age=31536000, immutable';

type Grant = { cacheControl: string };

/**
 * `GET /files/{id}/{filename}` and `GET /files/{id}/thumbnails/{w}x{h}.{ext}`: the stored bytes
 * with the type they may be served as, single byte ranges, and access control. A public
 * channel's files are open to anyone with the URL; a private channel's need a valid signature
 * (or a bearer token of someone who can read the channel).
 */
export function downloadRoutes(deps: DownloadRoutesDeps): RouteModule {
  const { store, blobs, authorizer, signer, log } = deps;
  const now = deps.now ?? Date.now;
  const publicCacheMs = deps.publicCacheMs ?? 5000;
  const publicChannels = new Map<string, { isPublic: boolean; at: number }>();

  async function channelIsPublic(channelId: string): Promise<boolean> {
    const cached = publicChannels.get(channelId);
    if (cached && now() - cached.at < publicCacheMs) return cached.isPublic;
    const isPublic = await authorizer.isPublicChannel({ id: channelId });
    if (publicChannels.size > 10_000) publicChannels.clear();
    publicChannels.set(channelId, { isPublic, at: now() });
    return isPublic;
  }

  async function authorize(req: Request, token: string | undefined, attachment: AttachmentRecord): Promise<Grant> {
    const nowSeconds = Math.floor(now() / 1000);
    const signature = req.query[SIGNATURE_PARAM];
    const verdict = signature === undefined ? 'none' : signer.verify(attachment.id, req.query[EXPIRES_PARAM], signature, nowSeconds);
    if (verdict === 'valid') {
      const remaining = Number(req.query[EXPIRES_PARAM]) - nowSeconds;
      return { cacheControl: `private, max-age=${Math.max(0, Math.min(remaining, 86_400))}` };
    }
    if (await channelIsPublic(attachment.channelId)) return { cacheControl: IMMUTABLE };
    if (token) {
      const principal = await authorizer.identify(token);
      if (await authorizer.canRead(principal.accountId, { id: attachment.channelId })) return { cacheControl: 'private, no-cache' };
    }
    if (verdict === 'expired') throw new AttachmentError('forbidden', 'this link has expired: ask for a fresh one (GET /api/v1/attachments/{id})');
    if (verdict === 'invalid') throw new AttachmentError('forbidden', 'this link is not valid');
    throw new AttachmentError('forbidden', 'this file was posted in a private channel: it needs a signed link');
  }

  /** Sends the bytes; a download the client drops is its choice, not a server fault (logged quietly). */
  async function send(req: Request, res: Response, blob: BlobResponse): Promise<void> {
    try {
      await sendBlob(req, res, blobs, blob);
    } catch (err) {
      if (!res.headersSent) throw err;
      log.debug({ err }, 'download ended early');
      res.destroy();
    }
  }

  const signedLink = z.object({
    [EXPIRES_PARAM]: z.string().regex(/^\d+$/).optional().describe('signed links: expiry (Unix seconds)'),
    [SIGNATURE_PARAM]: z.string().optional().describe('signed links: signature'),
  });
  const rangeHeaders = z.object({
    Range: z.string().optional().describe('one byte range: bytes=a-b, bytes=a-, bytes=-n'),
    'If-Range': z.string().optional().describe('the ETag the range is for'),
    'If-None-Match': z.string().optional().describe('ETags the client has'),
  });
  const fileResponses = {
    200: { description: 'The file', headers: { ETag: 'the content address', 'Content-Disposition': 'inline or attachment, with the file name' } },
    206: { description: 'The requested byte range', headers: { 'Content-Range': 'which bytes of how many' } },
    304: { description: 'Not modified (If-None-Match)' },
  };
  const fileErrors = {
    401: `${UNAUTHORIZED} (a token is only looked at for a private file without a valid signature)`,
    403: '`forbidden`: a private file without a valid signature or a token of someone who may read the channel',
    404: '`not_found`: no such file (or thumbnail)',
    416: '`range_not_satisfiable`: the range is past the end (Content-Range: bytes */size)',
    503: CONTROL_UNAVAILABLE,
  };

  const thumbnail = rawRoute({
    method: 'get',
    path: '/files/{id}/thumbnails/{size}',
    summary: "Download one of an image's thumbnails",
    tag: 'files',
    auth: 'optional-token',
    params: {
      size: z
        .string()
        .regex(/^\d+x\d+(\.[a-z0-9]+)?$/)
        .describe('<width>x<height>, e.g. 320x240.webp'),
    },
    query: signedLink,
    headers: rangeHeaders,
    responses: fileResponses,
    errors: fileErrors,
    async handler({ req, res, params, token }) {
      const attachment = findAttachment(store, params.id);
      const match = /^(\d{1,5})x(\d{1,5})(?:\.[a-z0-9]{1,5})?$/.exec(params.size);
      const thumbnail = match && attachment.thumbnails.find((t) => t.width === Number(match[1]) && t.height === Number(match[2]));
      if (!thumbnail) throw new AttachmentError('not_found', 'no such thumbnail');
      const grant = await authorize(req, token, attachment);
      const stem = attachment.filename.replace(/\.[^.]*$/, '');
      const size = thumbnail.size ?? (await blobs.stat(thumbnail.key))?.size;
      if (size === undefined) throw new AttachmentError('not_found', 'the thumbnail is no longer stored');
      await send(req, res, {
        sha256: thumbnail.key,
        size,
        contentType: thumbnail.contentType,
        filename: `${stem}-${thumbnail.width}x${thumbnail.height}.${thumbnail.contentType.split('/')[1] ?? 'bin'}`,
        cacheControl: grant.cacheControl,
      });
    },
  });

  const file = rawRoute({
    method: 'get',
    path: '/files/{id}/{filename}',
    summary: 'Download a file',
    description:
      'Safe raster images (png, jpeg, gif, webp, avif) are served inline with their type; audio and video with their type as attachments; everything else as application/octet-stream attachments. Public channels: anyone with the URL. Private channels: a signed URL (or a bearer token of a reader).',
    tag: 'files',
    auth: 'optional-token',
    query: signedLink,
    headers: rangeHeaders,
    responses: fileResponses,
    errors: fileErrors,
    async handler({ req, res, params, token }) {
      const attachment = findAttachment(store, params.id);
      const grant = await authorize(req, token, attachment);
      await send(req, res, {
        sha256: attachment.sha256,
        size: attachment.size,
        contentType: attachment.contentType,
        filename: attachment.filename,
        cacheControl: grant.cacheControl,
      });
    },
  });

  return { name: 'downloads', routes: [thumbnail, file] };
}

function findAttachment(store: AttachmentStore, id: string): AttachmentRecord {
  const attachment = store.get(id);
  if (!attachment) throw new AttachmentError('not_found', 'no such file');
  return attachment;
}

interface BlobResponse {
  sha256: string;
  size: number;
  /** The stored (sniffed) type; what is served is decided by servingRule. */
  contentType: string;
  filename: string;
  cacheControl: string;
}

async function sendBlob(req: Request, res: Response, blobs: BlobStore, blob: BlobResponse): Promise<void> {
  const etag = `"${blob.sha256}"`;
  const ifRange = req.headers['if-range'];
  const range = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, blob.size) : ({ kind: 'full' } as const);
  res.setHeader('Accept-Ranges', 'bytes');
  if (range.kind === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${blob.size}`);
    throw new AttachmentError('range_not_satisfiable', `the file has ${blob.size} bytes`);
  }
  const rule = servingRule(blob.contentType);
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', blob.cacheControl);
  res.setHeader('Content-Type', rule.contentType);
  res.setHeader('Content-Disposition', contentDisposition(rule.disposition, blob.filename));
  // Should a browser open a file anyway, it runs nothing and loads nothing.
  res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
  // The web client on the control server's origin embeds these.
  res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');

  if (req.headers['if-none-match']?.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
    res.status(304).end();
    return;
  }
  const partial = range.kind === 'partial' ? range.range : undefined;
  // Opened before the status is sent, so a missing blob is still a clean 404.
  const body = req.method === 'HEAD' || blob.size === 0 ? undefined : await blobs.open(blob.sha256, partial);
  if (partial) {
    res.status(206);
    res.setHeader('Content-Range', `bytes ${partial.start}-${partial.end}/${blob.size}`);
    res.setHeader('Content-Length', String(partial.end - partial.start + 1));
  } else {
    res.status(200);
    res.setHeader('Content-Length', String(blob.size));
  }
  if (!body) {
    res.end();
    return;
  }
  await pipeline(body, res);
}
