import type { Logger } from '@alloquy/service-kit/log';
import type { Authorizer, ChannelRef } from '../authz/authorizer.js';
import type { AttachmentLinks } from '../downloads/links.js';
import type { AttachmentRecord } from '../store/attachment-store.js';
import { servingRule } from './content-type.js';
import { attachmentTags } from '@alloquy/protocol/irc';
import type { AttachmentView } from '@alloquy/protocol/http';

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

/** The JSON a client gets for an attachment (upload answer, GET /api/v1/attachments/{id}). */
export function describeAttachment(
  record: AttachmentRecord,
  ctx: { links: AttachmentLinks; origin: string; isPublic: boolean; nowSeconds: number },
): AttachmentView {
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
