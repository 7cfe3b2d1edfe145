import type { Logger } from '@alloquy/service-kit/log';
import type { Authorizer, ChannelRef } from '../authz/authorizer.js';
import type { AttachmentLinks } from '../downloads/links.js';
import type { AttachmentKind, AttachmentRecord } from '../store/attachment-store.js';
import { servingRule } from './content-type.js';
import { attachmentTags } from '@alloquy/protocol/irc';

/** The JSON a client gets for an attachment (upload answer, GET /api/v1/attachments/{id}). */
export interface AttachmentAnswer {
  id: string;
  /** Where to download it. Signed and expiring for files in private channels. */
  url: string;
  /** ISO time when `url` stops working; null for public channels' files. */
  url_expires_at: string | null;
  /** As sniffed from the bytes. */
  content_type: string;
  /** Whether downloads display in place (safe raster images) or are saved (everything else). */
  inline: boolean;
  size: number;
  sha256: string;
  filename: string;
  channel: string;
  kind: AttachmentKind;
  width?: number;
  height?: number;
  duration?: number;
  placeholder?: string;
  /** An image with several frames: clients may want to autoplay or badge it. */
  animated?: boolean;
  thumbnails: { url: string; width: number; height: number; content_type: string }[];
  uploader: string;
  created_at: string;
  /** What to send as the message text: the plain URL, readable in any IRC client. */
  irc_text: string;
  /** Client tags to send with that message (values unescaped; the IRC library escapes them). */
  irc_tags: Record<string, string>;
}

/**
 * Whether a channel's files may be served without a signature. When the control server cannot
 * say, the answer is signed URLs: they work for public files too.
 */
export async function isPublicChannel(authorizer: Authorizer, channel: ChannelRef, log: Logger): Promise<boolean> {
  try {
    return await authorizer.isPublicChannel(channel);
  } catch (err) {
    log.warn({ err, channel }, 'could not learn whether the channel is public; handing out signed URLs');
    return false;
  }
}

export function describeAttachment(
  record: AttachmentRecord,
  ctx: { links: AttachmentLinks; origin: string; isPublic: boolean; nowSeconds: number },
): AttachmentAnswer {
  const { links, origin, isPublic, nowSeconds } = ctx;
  const access = links.access(isPublic, links.policy.signedUrlTtlSeconds, nowSeconds);
  const messageAccess = links.access(isPublic, links.policy.messageUrlTtlSeconds, nowSeconds);
  return {
    id: record.id,
    url: links.fileUrl(origin, record, access),
    url_expires_at: access.signed ? new Date(access.expiresAt * 1000).toISOString() : null,
    content_type: record.contentType,
    inline: servingRule(record.contentType).disposition === 'inline',
    size: record.size,
    sha256: record.sha256,
    filename: record.filename,
    channel: record.channel,
    kind: record.kind,
    ...(record.width !== undefined ? { width: record.width } : {}),
    ...(record.height !== undefined ? { height: record.height } : {}),
    ...(record.durationSeconds !== undefined ? { duration: record.durationSeconds } : {}),
    ...(record.placeholder !== undefined ? { placeholder: record.placeholder } : {}),
    ...(record.animated ? { animated: true } : {}),
    thumbnails: record.thumbnails.map((t) => ({
      url: links.thumbnailUrl(origin, record, t, access),
      width: t.width,
      height: t.height,
      content_type: t.contentType,
    })),
    uploader: record.uploader,
    created_at: new Date(record.createdAt).toISOString(),
    irc_text: links.fileUrl(origin, record, messageAccess),
    irc_tags: attachmentTags(record),
  };
}
