import { ServiceError } from '@alloquy/service-kit/errors';

/**
 * The control server's one error type. Every failure a caller can act on carries a stable
 * machine-readable code; the HTTP layer maps it to `{"error":{"code","message"}}` and the
 * CLI prints the message. Anything else thrown is an internal error and its details are hidden.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_username: 400,
  weak_password: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  invalid_token: 401,
  account_disabled: 403,
  forbidden: 403,
  banned: 403,
  registration_closed: 403,
  invalid_invite: 403,
  not_found: 404,
  username_taken: 409,
  channel_taken: 409,
  role_taken: 409,
  certificate_taken: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_attempts: 429,
  internal: 500,
  voice_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ControlError extends ServiceError<ErrorCode> {
  override name = 'ControlError';
  constructor(code: ErrorCode, message: string, retryAfterSeconds?: number) {
    super(ERROR_STATUS, code, message, retryAfterSeconds);
  }
}
