import { readdir, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { FileStore } from '@tus/file-store';
import { Metadata, Server as TusServer } from '@tus/server';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AttachmentView, UploadStatusView } from '@alloquy/protocol/http';
import { closeAfterResponse } from '@alloquy/service-kit/http';
import type { Logger } from '@alloquy/service-kit/log';
import type { Authorizer, ChannelSummary, Principal } from '../authz/authorizer.js';
import type { AttachmentLinks } from '../downloads/links.js';
import { AttachmentError } from '../errors/attachment-error.js';
import type { RouteModule } from '../http/app.js';
import { CONTROL_UNAVAILABLE, rawRoute, UNAUTHORIZED, type AttachmentsRouteTable } from '../http/route.js';
import type { AttachmentRecord, AttachmentStore, ResumableUpload } from '../store/attachment-store.js';
import { describeAttachment, isPublicChannel } from './answer.js';
import { normalizeChannel } from './channel.js';
import type { AttachmentIngest } from './ingest.js';

export const UPLOADS_PATH = '/api/v1/uploads';
const TUS_VERSION = '1.0.0';

export interface ResumableRoutesDeps {
  ingest: AttachmentIngest;
  store: AttachmentStore;
  authorizer: Authorizer;
  links: AttachmentLinks;
  log: Logger;
  /** `storage.uploadsDir`: partial uploads (tus FileStore), on the BlobStore's file system. */
  uploadsDir: string;
  /** An unfinished upload is deleted this long after it was created; a finished one's answer is kept as long. */
  expiryMs: number;
  /** `http.publicUrl` (absolute `Location` headers); empty: from the request's Host. */
  publicUrl: string;
  now?: () => number;
}

export interface ResumableRoutes extends RouteModule {
  /** Deletes expired partial uploads and forgets old finished ones. */
  sweep(): Promise<void>;
}

/** What the creation request established, for tus's hooks (which see only tus's view of the request). */
interface Creation {
  principal: Principal;
  channel: ChannelSummary;
  filename: string | undefined;
  length: number;
}

/**
 * Resumable uploads with the tus 1.0 protocol (creation, creation-with-upload, termination,
 * expiration) at /api/v1/uploads, over @tus/server with partial files in `storage.uploadsDir`.
 * Our own layer in front of it: a bearer token and upload permission for the channel named in
 * `Upload-Metadata` at creation, the size limit against `Upload-Length`, every later request
 * only by the account that created the upload. On the last byte the file moves into the
 * BlobStore and becomes an attachment exactly like a multipart upload; the final PATCH answers
 * the attachment JSON.
 */
export function resumableRoutes(deps: ResumableRoutesDeps): ResumableRoutes {
  const { ingest, store, authorizer, links, log } = deps;
  const now = deps.now ?? Date.now;
  // Expiry is ours (we know when each upload was created and whether it finished), not tus's:
  // tus's own check re-reads an upload after the finish hook has moved its file away.
  const datastore = new FileStore({ directory: deps.uploadsDir });
  const creations = new WeakMap<IncomingMessage, Creation>();
  /** Finishing (moving into the BlobStore, processing) takes a while; one run per upload. */
  const finishing = new Map<string, Promise<AttachmentRecord>>();

  const nodeRequest = (req: unknown): IncomingMessage | undefined => (req as { runtime?: { node?: { req?: IncomingMessage } } }).runtime?.node?.req;

  const tus = new TusServer({
    path: UPLOADS_PATH,
    datastore,
    respectForwardedHeaders: false,
    ...(deps.publicUrl ? { generateUrl: (_req, { path, id }) => `${deps.publicUrl.replace(/\/+$/, '')}${path}/${id}` } : {}),
    async onUploadCreate(req, upload) {
      const creation = nodeRequest(req) && creations.get(nodeRequest(req)!);
      if (!creation) throw new AttachmentError('internal', 'upload created without authorization');
      store.createUpload({
        id: upload.id,
        accountId: creation.principal.accountId,
        account: creation.principal.account,
        channel: creation.channel.name,
        channelId: creation.channel.id,
        filename: creation.filename ?? '',
        length: creation.length,
        createdAt: now(),
      });
      // Keep only what we use: client metadata is echoed on HEAD and must not carry anything else.
      return { metadata: { channel: creation.channel.name, ...(creation.filename !== undefined ? { filename: creation.filename } : {}) } };
    },
    async onUploadFinish(req, upload) {
      const attachment = await finish(upload.id);
      const answer = await answerFor(attachment, requestOrigin(nodeRequest(req)));
      return { status_code: 200, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: JSON.stringify(answer) };
    },
    onResponseError(_req, err) {
      if (err instanceof AttachmentError) return { status_code: err.status, body: JSON.stringify(err.toJSON()) };
      if (!('status_code' in err)) log.error({ err }, 'resumable upload failed');
      return undefined;
    },
  });

  function requestOrigin(req: IncomingMessage | undefined): string {
    return req ? links.origin(req as Request) : '';
  }

  async function answerFor(attachment: AttachmentRecord, origin: string): Promise<AttachmentView> {
    const isPublic = await isPublicChannel(authorizer, { id: attachment.channelId }, log);
    return describeAttachment(attachment, { links, origin, isPublic, nowSeconds: Math.floor(now() / 1000) });
  }

  function finish(id: string): Promise<AttachmentRecord> {
    let run = finishing.get(id);
    if (!run) {
      run = finishOnce(id).finally(() => finishing.delete(id));
      finishing.set(id, run);
    }
    return run;
  }

  async function finishOnce(id: string): Promise<AttachmentRecord> {
    const upload = store.getUpload(id);
    if (!upload) throw new AttachmentError('not_found', 'no such upload');
    if (upload.attachmentId) {
      const done = store.get(upload.attachmentId);
      if (done) return done;
      throw new AttachmentError('gone', 'the file of this upload has been deleted');
    }
    // If this fails (disk full), the partial file stays and an empty PATCH at the final offset retries.
    const stored = await ingest.receiveFile(join(deps.uploadsDir, id));
    await datastore.configstore.delete(id);
    try {
      return await ingest.finish(
        stored,
        {
          principal: { account: upload.account, accountId: upload.accountId },
          channel: { id: upload.channelId, name: upload.channel },
          filename: upload.filename || undefined,
        },
        (attachment) => store.completeUpload(id, attachment, now()),
      );
    } catch (err) {
      // Refused (a decompression bomb, say): the bytes are gone; so is the upload.
      store.deleteUpload(id);
      throw err;
    }
  }

  /**
   * The caller's upload, or `not_found` (also for someone else's: ids are not to be probed). The
   * caller is `principalFor(upload)`: sending bytes asks for upload permission still (a kick or a
   * role change stops an upload), the other requests only who the caller is.
   */
  async function ownUpload(res: Response, id: string, principalFor: (upload: ResumableUpload | undefined) => Promise<Principal>): Promise<ResumableUpload> {
    const upload = store.getUpload(id);
    const principal = await principalFor(upload);
    if (!upload || upload.accountId !== principal.accountId) throw new AttachmentError('not_found', 'no such upload');
    const expiresAt = upload.createdAt + deps.expiryMs;
    if (!upload.completedAt && !finishing.has(upload.id)) {
      if (now() >= expiresAt) throw new AttachmentError('gone', 'this upload has expired; start a new one');
      res.setHeader('Upload-Expires', new Date(expiresAt).toUTCString());
    }
    return upload;
  }

  /** An upload that is finished (or finishing): HEAD and PATCH answer from our record, not tus's. */
  async function settled(upload: ResumableUpload): Promise<AttachmentRecord | undefined> {
    const running = finishing.get(upload.id);
    if (running) return running;
    if (!upload.attachmentId) return undefined;
    const attachment = store.get(upload.attachmentId);
    if (!attachment) throw new AttachmentError('gone', 'the file of this upload has been deleted');
    return attachment;
  }

  const tusResumable = z.object({ 'Tus-Resumable': z.literal(TUS_VERSION) });
  const uploadPath = `${UPLOADS_PATH}/{id}` as const;

  const routes: AttachmentsRouteTable = [
    // tus discovery (versions, extensions); CORS preflights are answered by the app before this.
    rawRoute({
      method: 'options',
      path: UPLOADS_PATH,
      summary: 'tus discovery: versions, extensions, the largest size',
      tag: 'uploads',
      auth: 'none',
      responses: {
        204: {
          description: 'What this server offers',
          headers: {
            'Tus-Version': 'protocol versions',
            'Tus-Extension': 'creation, creation-with-upload, termination, expiration',
            'Tus-Max-Size': 'largest upload in bytes, when limited',
          },
        },
      },
      async handler({ req, res }) {
        await tus.handle(req, res);
      },
    }),
    rawRoute({
      method: 'post',
      path: UPLOADS_PATH,
      summary: 'Create a resumable upload (tus 1.0 creation)',
      description:
        'Upload-Length: the size in bytes (checked against your limit); Upload-Metadata: `channel` (required), `filename` (optional), base64 values. Answers 201 with Location. The body may carry the first bytes (creation-with-upload, Content-Type: application/offset+octet-stream).',
      tag: 'uploads',
      // The upload permission question checks the token too: one call to the control server.
      auth: 'token',
      headers: tusResumable.extend({
        'Upload-Length': z
          .string()
          .regex(/^\d{1,15}$/)
          .describe('the file size in bytes'),
        'Upload-Metadata': z.string().describe('`channel <base64>` (required), `filename <base64>` (optional), comma-separated'),
      }),
      body: { required: false, description: 'creation-with-upload: the first bytes', content: { 'application/offset+octet-stream': null } },
      responses: {
        201: {
          description: 'Created; Location names the upload',
          headers: { Location: 'the upload URL', 'Upload-Expires': 'when an unfinished upload is deleted' },
        },
        200: { description: 'Created and complete in one request', content: { 'application/json': AttachmentView } },
      },
      errors: {
        400: '`invalid_request`: no or malformed Upload-Length or Upload-Metadata, a deferred length or concatenation',
        401: UNAUTHORIZED,
        403: '`forbidden`: not a member, or no ATTACH_FILES in the channel',
        404: '`not_found`: no such text channel',
        413: '`payload_too_large`: Upload-Length is over your limit in this channel',
        422: '`unprocessable_image`: an image that cannot be decoded, or over the pixel limit',
        503: CONTROL_UNAVAILABLE,
      },
      async handler({ req, res, token }) {
        if (req.headers['upload-defer-length'] !== undefined || req.headers['upload-concat'] !== undefined) {
          throw new AttachmentError('invalid_request', 'give the size in Upload-Length (deferred lengths and concatenation are not offered)');
        }
        const lengthHeader = req.headers['upload-length'];
        if (typeof lengthHeader !== 'string' || !/^\d{1,15}$/.test(lengthHeader)) {
          throw new AttachmentError('invalid_request', 'Upload-Length (the file size in bytes) is required');
        }
        const length = Number(lengthHeader);
        const metadata = parseMetadata(req.headers['upload-metadata']);
        const channel = normalizeChannel(metadata.channel);
        const grant = await authorizer.authorizeUpload(token, channel);
        if (length > grant.maxBytes) throw new AttachmentError('payload_too_large', `the file is larger than the ${grant.maxBytes} bytes you may upload here`);
        creations.set(req, {
          principal: { account: grant.account, accountId: grant.accountId },
          channel: grant.channel,
          filename: metadata.filename ?? undefined,
          length,
        });
        res.setHeader('Upload-Expires', new Date(now() + deps.expiryMs).toUTCString());
        await tus.handle(req, res);
      },
    }),
    rawRoute({
      method: 'head',
      path: uploadPath,
      summary: 'How many bytes the server has (Upload-Offset)',
      tag: 'uploads',
      auth: 'user',
      headers: tusResumable,
      responses: {
        200: {
          description: "The upload's state",
          headers: { 'Upload-Offset': 'bytes received', 'Upload-Length': 'bytes announced', 'Upload-Expires': 'when it is deleted unless finished' },
        },
      },
      errors: { 401: UNAUTHORIZED, 404: '`not_found`: no such upload of yours', 410: '`gone`: expired, or its file has been deleted' },
      async handler({ req, res, params, principal }) {
        const upload = await ownUpload(res, params.id, async () => principal);
        const done = await settled(upload);
        if (done) {
          res.setHeader('Cache-Control', 'no-store');
          res.setHeader('Upload-Offset', String(upload.length));
          res.setHeader('Upload-Length', String(upload.length));
          res.status(200).end();
          return;
        }
        await tus.handle(req, res);
      },
    }),
    rawRoute({
      method: 'patch',
      path: uploadPath,
      summary: 'Send bytes from Upload-Offset (Content-Type: application/offset+octet-stream)',
      description: 'Answers 204 with the new Upload-Offset, or, for the last bytes, 200 with the attachment JSON (repeated if asked again).',
      tag: 'uploads',
      // Sending bytes asks for upload permission in the upload's channel, which checks the token too.
      auth: 'token',
      headers: tusResumable.extend({ 'Upload-Offset': z.string().regex(/^\d+$/).describe('where these bytes start') }),
      body: { content: { 'application/offset+octet-stream': null } },
      responses: {
        204: { description: 'Bytes stored', headers: { 'Upload-Offset': 'the new offset' } },
        200: { description: 'Upload complete', content: { 'application/json': AttachmentView } },
      },
      errors: {
        400: '`invalid_request`: a malformed Upload-Offset or Content-Type',
        401: UNAUTHORIZED,
        403: '`forbidden`: no ATTACH_FILES in the channel any more',
        404: '`not_found`: no such upload of yours',
        409: 'Upload-Offset is not where the upload stands',
        410: '`gone`: expired, or its file has been deleted',
        413: '`payload_too_large`: more bytes than announced',
        422: '`unprocessable_image`: an image that cannot be decoded, or over the pixel limit',
        503: CONTROL_UNAVAILABLE,
      },
      async handler({ req, res, params, token }) {
        const upload = await ownUpload(res, params.id, (found) => (found ? authorizer.authorizeUpload(token, found.channel) : authorizer.identify(token)));
        const done = await settled(upload);
        if (done) {
          // The last PATCH's answer was lost: repeat it.
          const answer = await answerFor(done, links.origin(req));
          res.setHeader('Upload-Offset', String(upload.length));
          closeAfterResponse(req, res);
          res.status(200).json(answer);
          return;
        }
        await tus.handle(req, res);
      },
    }),
    rawRoute({
      method: 'delete',
      path: uploadPath,
      summary: 'Abandon an upload (tus termination)',
      tag: 'uploads',
      auth: 'user',
      headers: tusResumable,
      responses: { 204: { description: "Deleted (a finished upload's attachment stays)" } },
      errors: { 401: UNAUTHORIZED, 404: '`not_found`: no such upload of yours' },
      async handler({ req, res, params, principal }) {
        const upload = await ownUpload(res, params.id, async () => principal);
        const done = await settled(upload);
        if (done) {
          // The attachment stays; only the upload is forgotten.
          store.deleteUpload(upload.id);
          res.status(204).end();
          return;
        }
        await tus.handle(req, res);
        if (res.statusCode === 204) store.deleteUpload(upload.id);
      },
    }),
    rawRoute({
      method: 'get',
      path: uploadPath,
      summary: "An upload's progress, and its attachment once complete",
      tag: 'uploads',
      auth: 'user',
      responses: { 200: { description: 'Progress', content: { 'application/json': UploadStatusView } } },
      errors: { 401: UNAUTHORIZED, 404: '`not_found`: no such upload of yours', 410: '`gone`: expired, or its file has been deleted' },
      async handler({ req, res, params, principal }) {
        const upload = await ownUpload(res, params.id, async () => principal);
        const done = await settled(upload);
        res.setHeader('Cache-Control', 'no-store');
        if (done) {
          res.json({
            id: upload.id,
            offset: upload.length,
            length: upload.length,
            complete: true,
            attachment: await answerFor(done, links.origin(req)),
          } satisfies UploadStatusView);
          return;
        }
        const partial = await datastore.getUpload(upload.id).catch(() => undefined);
        if (!partial) throw new AttachmentError('gone', 'this upload has expired');
        res.json({ id: upload.id, offset: partial.offset, length: upload.length, complete: false, attachment: null } satisfies UploadStatusView);
      },
    }),
  ];

  async function sweep(): Promise<void> {
    const cutoff = now() - deps.expiryMs;
    let deleted = 0;
    for (const upload of store.uploadsCreatedBefore(cutoff)) {
      if (finishing.has(upload.id)) continue;
      if (!upload.attachmentId) {
        await datastore.remove(upload.id).catch(() => undefined);
        deleted++;
      }
      // A finished upload's answer has been collected by now.
      store.deleteUpload(upload.id);
    }
    // Partial files whose upload is gone from the database (a crash between the two).
    for (const entry of await readdir(deps.uploadsDir).catch(() => [] as string[])) {
      const id = entry.replace(/\.json$/, '');
      if (store.getUpload(id) || finishing.has(id)) continue;
      const path = join(deps.uploadsDir, entry);
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile() && info.mtimeMs < cutoff) {
        await rm(path, { force: true });
        deleted++;
      }
    }
    if (deleted > 0) log.info({ deleted }, 'deleted expired partial uploads');
  }

  return {
    name: 'uploads',
    routes,
    // Every answer under the uploads path says which tus version it speaks, refusals and unknown paths too.
    before: {
      path: UPLOADS_PATH,
      handler: (_req, res, next) => {
        res.setHeader('Tus-Resumable', TUS_VERSION);
        next();
      },
    },
    sweep,
  };
}

function parseMetadata(header: string | string[] | undefined): Record<string, string | null> {
  if (typeof header !== 'string' || header.trim() === '') {
    throw new AttachmentError('invalid_request', 'Upload-Metadata must name the channel ("channel <base64>")');
  }
  try {
    return Metadata.parse(header);
  } catch {
    throw new AttachmentError('invalid_request', 'Upload-Metadata is not valid tus metadata (comma-separated "key base64value" pairs)');
  }
}
