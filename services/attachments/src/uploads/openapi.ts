import { ATTACHMENT_ERROR_STATUS, type AttachmentErrorCode } from '../errors/attachment-error.js';

/** OpenAPI pieces shared by the upload and download routes. */
const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', enum: Object.keys(ATTACHMENT_ERROR_STATUS) }, message: { type: 'string' } },
    },
  },
};

/** One error response with its own description (which codes, and when). */
export function errorResponse(description: string): Record<string, unknown> {
  return { description, content: { 'application/json': { schema: errorSchema } } };
}

/** `{status: {description, content: Error}}` for each status, with the codes that map to it. */
export function errorResponses(...statuses: number[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const status of statuses) {
    const codes = (Object.keys(ATTACHMENT_ERROR_STATUS) as AttachmentErrorCode[]).filter((c) => ATTACHMENT_ERROR_STATUS[c] === status);
    out[String(status)] = errorResponse(codes.join(', ') || 'error');
  }
  return out;
}

export const attachmentAnswerSchema = {
  type: 'object',
  required: ['id', 'url', 'url_expires_at', 'content_type', 'inline', 'size', 'sha256', 'filename', 'channel', 'kind', 'thumbnails', 'uploader', 'created_at', 'irc_text', 'irc_tags'],
  properties: {
    id: { type: 'string' },
    url: { type: 'string', format: 'uri', description: 'Download URL; signed and expiring for files in private channels' },
    url_expires_at: { type: ['string', 'null'], format: 'date-time' },
    content_type: { type: 'string', description: 'Sniffed from the bytes' },
    inline: { type: 'boolean', description: 'true for safe raster images (shown in place); everything else downloads' },
    size: { type: 'integer' },
    sha256: { type: 'string' },
    filename: { type: 'string', description: 'Sanitised' },
    channel: { type: 'string' },
    kind: { type: 'string', enum: ['image', 'video', 'audio', 'file'] },
    width: { type: 'integer' },
    height: { type: 'integer' },
    duration: { type: 'number', description: 'Seconds (audio, video)' },
    placeholder: { type: 'string', description: 'Small inline preview (thumbhash, base64)' },
    animated: { type: 'boolean', description: 'An image with several frames' },
    thumbnails: {
      type: 'array',
      items: {
        type: 'object',
        required: ['url', 'width', 'height', 'content_type'],
        properties: { url: { type: 'string', format: 'uri' }, width: { type: 'integer' }, height: { type: 'integer' }, content_type: { type: 'string' } },
      },
    },
    uploader: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    irc_text: { type: 'string', description: 'Message text: the plain URL' },
    irc_tags: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description: 'Client tags for the message (`+alloquy/attachment`: compact JSON), unescaped',
    },
  },
};
