import { ServiceError } from '@alloquy/service-kit/errors';

/**
 * The attachments service's one error type: a stable machine-readable code, mapped to an HTTP
 * status and sent as `{"error":{"code","message"}}`, like the control server's.
 */
export const ATTACHMENT_ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  invalid_token: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  unprocessable_image: 422,
  too_many_requests: 429,
  internal: 500,
  bad_gateway: 502,
  control_unavailable: 503,
  gateway_timeout: 504,
} as const;

export type AttachmentErrorCode = keyof typeof ATTACHMENT_ERROR_STATUS;

export class AttachmentError extends ServiceError<AttachmentErrorCode> {
  override name = 'AttachmentError';
  constructor(code: AttachmentErrorCode, message: string) {
    super(ATTACHMENT_ERROR_STATUS, code, message);
  }
}

/** Makes the service's error from a code and message, where shared code (the route table, the Access client) wants a function. */
export function attachmentError(code: AttachmentErrorCode, message: string): AttachmentError {
  return new AttachmentError(code, message);
}
