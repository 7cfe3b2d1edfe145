import { requestError } from '@alloquy/service-kit/errors';
import type { Health } from '@alloquy/service-kit/health';
import { bearerApiHeaders, buildOpenApi, createServiceApp, mountRoutes } from '@alloquy/service-kit/http';
import express, { type Request, type RequestHandler } from 'express';
import type { Logger } from '@alloquy/service-kit/log';
import type { Authorizer } from '../authz/authorizer.js';
import { AttachmentError, attachmentError } from '../errors/attachment-error.js';
import type { AttachmentsMetrics } from '../metrics/metrics.js';
import type { AttachmentsRouteTable } from './route.js';

/**
 * One feature's HTTP surface: its route table (paths are absolute, `/api/v1/...`), which serves its
 * requests and writes its part of the OpenAPI document.
 */
export interface RouteModule {
  name: string;
  routes: AttachmentsRouteTable;
  /** Run for every request under `path` before the routes, whichever of them answers (or none). */
  before?: { path: string; handler: RequestHandler };
}

export interface AttachmentsAppDeps {
  modules: readonly RouteModule[];
  /** Authenticates the callers of `auth: 'user'` routes. */
  authorizer: Pick<Authorizer, 'identify'>;
  health: Health;
  metrics: AttachmentsMetrics;
  log: Logger;
  version: string;
}

/** Request headers browsers may send: ours, ranges, and the tus protocol's. */
const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Range',
  'If-Range',
  'If-None-Match',
  'Tus-Resumable',
  'Upload-Length',
  'Upload-Metadata',
  'Upload-Offset',
  'X-Requested-With',
].join(', ');
/** Response headers scripts may read (upload progress, ranges, file names). */
const CORS_EXPOSED_HEADERS = [
  'Location',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Metadata',
  'Upload-Expires',
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Extension',
  'Tus-Max-Size',
  'Content-Range',
  'Content-Length',
  'Content-Disposition',
  'Accept-Ranges',
  'ETag',
].join(', ');

/**
 * Scheme, host and port clients reach this service at, for absolute URLs in answers:
 * `http.publicUrl` when set, else the request's own.
 */
export function requestOrigin(req: Request, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, '');
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

/**
 * The HTTP API: every feature's route table, each mounted on a router of its own (an OPTIONS
 * request that no preflight is answers with the methods of its feature's path), and the OpenAPI
 * document generated from the same tables.
 */
export function createAttachmentsApp(deps: AttachmentsAppDeps): express.Express {
  const { modules, authorizer } = deps;
  const openapi = buildOpenApi(
    modules.flatMap((m) => m.routes),
    { title: 'Alloquy attachments API', version: deps.version },
  );
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
      const options = {
        authenticate: async (token: string) => ({ principal: await authorizer.identify(token) }),
        error: attachmentError,
      };
      for (const module of modules) {
        const router = express.Router();
        if (module.before) router.use(module.before.path, module.before.handler);
        mountRoutes(router, module.routes, options);
        app.use(router);
      }
    },
    toError: toAttachmentError,
    notFound: () => new AttachmentError('not_found', 'no such endpoint'),
  });
}

function toAttachmentError(err: unknown): AttachmentError {
  return err instanceof AttachmentError ? err : requestError(err, attachmentError);
}
