import { z } from 'zod';

/** A smaller rendition of an image or a video's first frame (WebP, never larger than the original). */
export const AttachmentThumbnailView = z.object({
  url: z.string().describe('signed and expiring like the file URL when the file is'),
  width: z.number().int(),
  height: z.number().int(),
  content_type: z.string(),
});
export type AttachmentThumbnailView = z.infer<typeof AttachmentThumbnailView>;

/**
 * A stored file: the answer to an upload (multipart, or the last PATCH of a resumable one) and to
 * `GET /api/v1/attachments/{id}`, which hands out fresh URLs.
 */
export const AttachmentView = z.object({
  id: z.string(),
  url: z.string().describe('where to download it; signed and expiring for files in private channels'),
  url_expires_at: z.string().nullable().describe('when `url` stops working (ISO 8601); null for the files of public channels'),
  content_type: z.string().describe('sniffed from the bytes'),
  inline: z.boolean().describe('true for safe raster images (shown in place); everything else downloads'),
  size: z.number().int(),
  sha256: z.string(),
  filename: z.string().describe('sanitised'),
  channel: z.string(),
  kind: z.enum(['image', 'video', 'audio', 'file']),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  duration: z.number().optional().describe('seconds (audio, video)'),
  placeholder: z.string().optional().describe('small inline preview (ThumbHash, base64)'),
  animated: z.boolean().optional().describe('an image with several frames'),
  thumbnails: z.array(AttachmentThumbnailView),
  uploader: z.string(),
  created_at: z.string().describe('ISO 8601'),
  irc_text: z.string().describe('the message text: the plain URL, readable in any IRC client'),
  irc_tags: z.record(z.string(), z.string()).describe('client tags to send with that message (`+alloquy/attachment`: compact JSON), unescaped'),
});
export type AttachmentView = z.infer<typeof AttachmentView>;

/** `GET /api/v1/uploads/{id}`: a resumable upload's progress, and its attachment once complete. */
export const UploadStatusView = z.object({
  id: z.string(),
  offset: z.number().int().describe('bytes received'),
  length: z.number().int().describe('bytes announced (Upload-Length)'),
  complete: z.boolean(),
  attachment: AttachmentView.nullable(),
});
export type UploadStatusView = z.infer<typeof UploadStatusView>;
