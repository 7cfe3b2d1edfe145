import busboy from 'busboy';
import type { Request } from 'express';
import { z } from 'zod';
import { AttachmentView } from '@alloquy/protocol/http';
import type { Logger } from '@alloquy/service-kit/log';
import type { Authorizer, Principal, UploadGrant } from '../authz/authorizer.js';
import type { AttachmentLinks } from '../downloads/links.js';
import { AttachmentError } from '../errors/attachment-error.js';
import type { RouteModule } from '../http/app.js';
import { CONTROL_UNAVAILABLE, rawRoute, UNAUTHORIZED } from '../http/route.js';
import type { AttachmentStore } from '../store/attachment-store.js';
import { describeAttachment, isPublicChannel } from './answer.js';
import { normalizeChannel } from './channel.js';
import type { AttachmentIngest, StoredUpload, UploadTarget } from './ingest.js';

export interface AttachmentRoutesDeps {
  ingest: AttachmentIngest;
  store: AttachmentStore;
  authorizer: Authorizer;
  links: AttachmentLinks;
  log: Logger;
  /**
   * The limit while a file arrives before its `channel` field (the channel's own limit is not
   * known yet); the channel's limit is checked once the field arrives.
   */
  unknownChannelMaxBytes: number;
  now?: () => number;
}

const CHANNEL = z.string().describe('text channel name, without #');

/**
 * `POST /api/v1/attachments` (multipart: `file` and `channel`) and `GET /api/v1/attachments/{id}`.
 * The token is checked before the body is read; the bytes stream into the BlobStore as they
 * arrive and the upload stops at the caller's size limit.
 */
export function attachmentRoutes(deps: AttachmentRoutesDeps): RouteModule {
  const { ingest, store, authorizer, links, log } = deps;
  const now = deps.now ?? Date.now;

  const upload = rawRoute({
    method: 'post',
    path: '/api/v1/attachments',
    summary: 'Upload a file into a channel (multipart)',
    description:
      'Streams the file into storage; the type is sniffed from the bytes. Send `channel` before `file` (or as `?channel=`) so the size limit is enforced while the bytes arrive. For large files use the resumable protocol at /api/v1/uploads.',
    tag: 'attachments',
    // The upload permission question checks the token too: one call to the control server.
    auth: 'token',
    query: z.object({ channel: CHANNEL.optional().describe('text channel name without #; alternative to the form field') }),
    body: {
      content: {
        'multipart/form-data': z.object({ channel: CHANNEL.optional(), file: z.string().meta({ format: 'binary' }) }),
      },
    },
    responses: { 201: { description: 'Stored', content: { 'application/json': AttachmentView } } },
    errors: {
      400: '`invalid_request`: no file, no channel, more than one file, a malformed form or channel name',
      401: UNAUTHORIZED,
      403: '`forbidden`: not a member, or no ATTACH_FILES in the channel',
      404: '`not_found`: no such text channel',
      409: '`conflict`: an identical file was withdrawn at the same moment (upload again)',
      413: '`payload_too_large`: larger than your limit in this channel',
      415: '`unsupported_media_type`: not multipart/form-data',
      422: '`unprocessable_image`: an image that cannot be decoded, or over the pixel limit',
      429: '`too_many_requests`: too many images being processed',
      503: CONTROL_UNAVAILABLE,
    },
    async handler({ req, res, token }) {
      const queryChannel = req.query.channel === undefined ? undefined : normalizeChannel(req.query.channel);
      // Refuse a bad token or a forbidden channel before reading a byte of the body.
      const early = queryChannel !== undefined ? await authorizer.authorizeUpload(token, queryChannel) : await authorizer.identify(token);
      if (!req.is('multipart/form-data')) {
        throw new AttachmentError('unsupported_media_type', 'send multipart/form-data with the fields "file" and "channel"');
      }
      const received = await receiveMultipart(req, {
        token,
        authorizer,
        ingest,
        unknownChannelMaxBytes: deps.unknownChannelMaxBytes,
        ...(queryChannel !== undefined ? { channel: queryChannel, grant: early as UploadGrant } : {}),
      });
      // The ingest owns the stored bytes from here: it deletes them itself if it refuses.
      const attachment = await ingest.finish(received.stored, received.target);
      res
        .status(201)
        .json(describeAttachment(attachment, { links, origin: links.origin(req), isPublic: received.isPublic, nowSeconds: Math.floor(now() / 1000) }));
    },
  });

  const metadata = rawRoute({
    method: 'get',
    path: '/api/v1/attachments/{id}',
    summary: 'An attachment, with fresh (signed) URLs',
    tag: 'attachments',
    auth: 'user',
    responses: { 200: { description: 'The attachment', content: { 'application/json': AttachmentView } } },
    errors: { 401: UNAUTHORIZED, 404: '`not_found`: no such attachment, or in a channel you cannot read', 503: CONTROL_UNAVAILABLE },
    async handler({ req, res, params, principal }) {
      const attachment = store.get(params.id);
      if (!attachment || !(await authorizer.canRead(principal.accountId, { id: attachment.channelId }))) {
        throw new AttachmentError('not_found', 'no such attachment');
      }
      const isPublic = await isPublicChannel(authorizer, { id: attachment.channelId }, log);
      res.setHeader('Cache-Control', 'no-store');
      res.json(describeAttachment(attachment, { links, origin: links.origin(req), isPublic, nowSeconds: Math.floor(now() / 1000) }));
    },
  });

  return { name: 'attachments', routes: [upload, metadata] };
}

interface MultipartOptions {
  token: string;
  authorizer: Authorizer;
  ingest: AttachmentIngest;
  unknownChannelMaxBytes: number;
  /** Known from the query string (then already authorized). */
  channel?: string;
  grant?: UploadGrant;
}

/**
 * Reads the multipart body: `channel` may come before the file, after it, or in the query. The
 * file streams into the BlobStore as it arrives, counted against the channel's limit when the
 * channel is known by then (else `unknownChannelMaxBytes`, and the channel's limit afterwards).
 */
async function receiveMultipart(req: Request, options: MultipartOptions): Promise<{ stored: StoredUpload; target: UploadTarget; isPublic: boolean }> {
  const { token, authorizer, ingest } = options;
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: req.headers,
      // Browsers send file names as raw UTF-8 (busboy's default is latin1).
      defParamCharset: 'utf8',
      limits: { files: 1, fields: 8, fieldSize: 1024, parts: 16, headerPairs: 64 },
    });
  } catch (err) {
    throw new AttachmentError('invalid_request', `the multipart body cannot be read: ${(err as Error).message}`);
  }

  let channel = options.channel;
  let grant: Promise<UploadGrant> | undefined = options.grant ? Promise.resolve(options.grant) : undefined;
  let filename: string | undefined;
  let fileTask: Promise<StoredUpload> | undefined;
  let fail!: (err: unknown) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  const parsed = new Promise<void>((resolve) => bb.once('finish', resolve));

  bb.on('field', (name, value) => {
    if (name !== 'channel' || channel !== undefined) return;
    try {
      channel = normalizeChannel(value);
    } catch (err) {
      fail(err);
      return;
    }
    grant = authorizer.authorizeUpload(token, channel);
    grant.catch(fail);
  });
  bb.on('file', (name, stream, info) => {
    if (name !== 'file' || fileTask) {
      stream.resume();
      return;
    }
    filename = info.filename;
    fileTask = (async () => {
      const maxBytes = grant ? (await grant).maxBytes : options.unknownChannelMaxBytes;
      return ingest.receive(stream, maxBytes);
    })();
    fileTask.catch((err) => {
      stream.resume();
      fail(err);
    });
  });
  bb.on('filesLimit', () => fail(new AttachmentError('invalid_request', 'send one file per request')));
  bb.on('partsLimit', () => fail(new AttachmentError('invalid_request', 'too many parts in the form')));
  bb.on('fieldsLimit', () => fail(new AttachmentError('invalid_request', 'too many fields in the form')));
  bb.on('error', (err) =>
    fail(err instanceof AttachmentError ? err : new AttachmentError('invalid_request', `the multipart body cannot be read: ${(err as Error).message}`)),
  );
  // A client that goes away mid-upload: the file stream errors, the partial file is deleted.
  const onClose = () => {
    if (!req.complete) bb.destroy(new AttachmentError('invalid_request', 'the upload was interrupted'));
  };
  req.once('close', onClose);
  req.pipe(bb);

  try {
    await Promise.race([parsed, failed]);
    if (!fileTask) throw new AttachmentError('invalid_request', 'a "file" field is required');
    const stored = await Promise.race([fileTask, failed]);
    if (channel === undefined || !grant) throw new AttachmentError('invalid_request', 'a "channel" field (text channel name, without #) is required');
    const { maxBytes, account, accountId, channel: resolved } = await grant;
    if (stored.blob.size > maxBytes) {
      throw new AttachmentError('payload_too_large', `the file is larger than the ${maxBytes} bytes you may upload here`);
    }
    const principal: Principal = { account, accountId };
    return { stored, target: { principal, channel: { id: resolved.id, name: resolved.name }, filename }, isPublic: resolved.public };
  } catch (err) {
    req.unpipe(bb);
    bb.destroy();
    // The file may be stored, or about to be (destroying the parser ends its stream): undo it.
    const stored = await fileTask?.catch(() => undefined);
    if (stored) await ingest.abandon(stored);
    throw err;
  } finally {
    req.off('close', onClose);
  }
}
