import { ServiceError, type CommonErrorCode } from '../../src/errors/service-error.js';

/** The error table of the kit's test services: the common codes, a bad token and a rate limit. */
const STATUS: Record<CommonErrorCode | 'invalid_token' | 'rate_limited', number> = {
  invalid_request: 400,
  unauthorized: 401,
  invalid_token: 401,
  forbidden: 403,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
};

export type TestErrorCode = keyof typeof STATUS;

/** A test service's one error type, as a real service extends ServiceError with its own table. */
export class TestError extends ServiceError<TestErrorCode> {
  override name = 'TestError';
}

export function testError(code: TestErrorCode, message: string, retryAfterSeconds?: number): TestError {
  return new TestError(STATUS, code, message, retryAfterSeconds);
}
