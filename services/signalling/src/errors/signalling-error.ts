import { ServiceError } from '@alloquy/service-kit/errors';

/**
 * The one error type of the signalling service. Over HTTP it becomes a status and
 * `{"error":{"code","message"}}`; over the WebSocket an `error` message with the same code.
 * The message is safe to show to the end user.
 */
export type SignallingErrorCode =
  | 'unauthorized'
  | 'invalid_token'
  | 'forbidden'
  | 'not_found'
  | 'invalid_request'
  | 'invalid_message'
  | 'not_in_room'
  | 'unknown_peer'
  | 'rate_limited'
  | 'control_unavailable'
  | 'bad_gateway'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'internal';

const STATUS: Readonly<Record<SignallingErrorCode, number>> = {
  unauthorized: 401,
  invalid_token: 401,
  forbidden: 403,
  not_found: 404,
  invalid_request: 400,
  invalid_message: 400,
  not_in_room: 409,
  unknown_peer: 404,
  rate_limited: 429,
  control_unavailable: 503,
  bad_gateway: 502,
  // HTTP only: the common codes the shared route table may answer (no signalling route takes a body today).
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal: 500,
};

export class SignallingError extends ServiceError<SignallingErrorCode> {
  override name = 'SignallingError';
  constructor(code: SignallingErrorCode, message: string) {
    super(STATUS, code, message);
  }
}

/** Makes the service's error from a code and message, where shared code (the route table, the Access client) wants a function. */
export function signallingError(code: SignallingErrorCode, message: string): SignallingError {
  return new SignallingError(code, message);
}
