import type { Request } from 'express';
import { requestOrigin } from '../http/app.js';
import type { AttachmentRecord, StoredThumbnail } from '../store/attachment-store.js';
import { EXPIRES_PARAM, SIGNATURE_PARAM, type UrlSigner } from './url-signer.js';

export interface LinkPolicy {
  /** Lifetime of the signed URLs handed to rich clients (upload answer, GET /api/v1/attachments/{id}). */
  signedUrlTtlSeconds: number;
  /**
   * Lifetime of the signed URL written into the IRC message of a private-channel file: stock
   * clients have no way to ask for a fresh one, so it lives longer.
   */
  messageUrlTtlSeconds: number;
}

export const DEFAULT_LINK_POLICY: LinkPolicy = { signedUrlTtlSeconds: 3600, messageUrlTtlSeconds: 7 * 24 * 3600 };

/** Either open (a public channel's file) or signed until `expiresAt` (Unix seconds). */
export type LinkAccess = { signed: false } | { signed: true; expiresAt: number };

const THUMBNAIL_EXTENSIONS: Record<string, string> = {
  'image/webp': 'webp',
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/avif': 'avif',
  'image/gif': 'gif',
};

/** The URLs of stored files: `/files/<id>/<name>` and `/files/<id>/thumbnails/<w>x<h>.<ext>`. */
export class AttachmentLinks {
  constructor(
    private readonly signer: UrlSigner,
    readonly policy: LinkPolicy,
    /** `http.publicUrl`; empty: derived from each request. */
    private readonly publicUrl: string,
  ) {}

  /** Scheme, host and port clients use to reach this service. */
  origin(req: Request): string {
    return requestOrigin(req, this.publicUrl);
  }

  access(isPublic: boolean, ttlSeconds: number, nowSeconds: number): LinkAccess {
    return isPublic ? { signed: false } : { signed: true, expiresAt: nowSeconds + ttlSeconds };
  }

  fileUrl(origin: string, record: Pick<AttachmentRecord, 'id' | 'filename'>, access: LinkAccess): string {
    return `${origin}/files/${record.id}/${encodeURIComponent(record.filename)}${this.query(record.id, access)}`;
  }

  thumbnailUrl(origin: string, record: Pick<AttachmentRecord, 'id'>, thumbnail: StoredThumbnail, access: LinkAccess): string {
    const ext = THUMBNAIL_EXTENSIONS[thumbnail.contentType] ?? 'bin';
    return `${origin}/files/${record.id}/thumbnails/${thumbnail.width}x${thumbnail.height}.${ext}${this.query(record.id, access)}`;
  }

  private query(id: string, access: LinkAccess): string {
    if (!access.signed) return '';
    return `?${EXPIRES_PARAM}=${access.expiresAt}&${SIGNATURE_PARAM}=${this.signer.sign(id, access.expiresAt)}`;
  }
}
