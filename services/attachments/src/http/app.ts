import { requestError } from '@alloquy/service-kit/errors';
import type { Health } from '@alloquy/service-kit/health';
import { bearerApiHeaders, bearerFromHeader, createServiceApp } from '@alloquy/service-kit/http';
import type express from 'express';
import type { Request, Router } from 'express';
import type { Logger } from '@alloquy/service-kit/log';
import { AttachmentError } from '../errors/attachment-error.js';
import type { AttachmentsMetrics } from '../metrics/metrics.js';

/**
 * One feature's HTTP surface: its router (mounted at the root; paths are absolute, `/api/v1/...`)
 * and its part of the OpenAPI document.
 */
export interface RouteModule {
  name: string;
  router: Router;
  /** OpenAPI 3.1 `paths` entries. */
  paths: Record<string, unknown>;
}

export interface AttachmentsAppDeps {
  modules: readonly RouteModule[];
  health: Health;
  metrics: AttachmentsMetrics;
  log: Logger;
  version: string;
}

/** Request headers browsers may send: ours, ranges, and the tus protocol's. */
const CORS_ALLOWED_HEADERS = [
  'Authorization', 'Content-Type', 'Range', 'If-Range', 'If-None-Match',
  'Tus-Resumable', 'Upload-Length', 'Upload-Metadata', 'Upload-Offset', 'X-Requested-With',
].join(', ');
/** Response headers scripts may read (upload progress, ranges, file names). */
const CORS_EXPOSED_HEADERS = [
  'Location', 'Upload-Offset', 'Upload-Length', 'Upload-Metadata', 'Upload-Expires', 'Tus-Resumable', 'Tus-Version',
  'Tus-Extension', 'Tus-Max-Size', 'Content-Range', 'Content-Length', 'Content-Disposition', 'Accept-Ranges', 'ETag',
].join(', ');

/** The bearer token of a request, or an `unauthorized` error. */
export function bearerToken(req: Request): string {
  const token = bearerFromHeader(req.headers.authorization);
  if (token === undefined) throw new AttachmentError('unauthorized', 'an "Authorization: Bearer <access token>" header is required');
  return token;
}

/**
 * Scheme, host and port clients reach this service at, for absolute URLs in answers:
 * `http.publicUrl` when set, else the request's own.
 */
export function requestOrigin(req: Request, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, '');
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

export function createAttachmentsApp(deps: AttachmentsAppDeps): express.Express {
  const { modules } = deps;
  const openapi = {
    openapi: '3.1.0',
    info: { title: 'Alloquy attachments API', version: deps.version },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths: Object.assign({}, ...modules.map((m) => m.paths)) as Record<string, unknown>,
  };
  return createServiceApp({
    health: deps.health,
    metrics: deps.metrics,
    log: deps.log,
    // The web client calls from the control server's origin, with a bearer token.
    before: [bearerApiHeaders({ methods: 'GET, HEAD, POST, PATCH, DELETE, OPTIONS', allowHeaders: CORS_ALLOWED_HEADERS, exposeHeaders: CORS_EXPOSED_HEADERS })],
    mount(app) {
      app.get('/api/v1/openapi.json', (_req, res) => {
        res.json(openapi);
      });
      for (const module of modules) app.use(module.router);
    },
    toError: toAttachmentError,
    notFound: () => new AttachmentError('not_found', 'no such endpoint'),
  });
}

function toAttachmentError(err: unknown): AttachmentError {
  return err instanceof AttachmentError ? err : requestError(err, (code, message) => new AttachmentError(code, message));
}
