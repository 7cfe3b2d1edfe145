/**
 * The base of every service's one error type. A failure a caller can act on carries a stable
 * machine-readable code; each service names its codes and their HTTP statuses in one table and
 * extends this class with it. The HTTP shell sends it as `{"error":{"code","message"}}` (with
 * `Retry-After` when set); anything else thrown is an internal error whose details stay hidden.
 */
export class ServiceError<Code extends string = string> extends Error {
  override name = 'ServiceError';

  constructor(
    private readonly statusTable: Readonly<Record<Code, number>>,
    readonly code: Code,
    message: string,
    /** Seconds after which a retry may succeed (rate limits). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  get status(): number {
    return this.statusTable[this.code];
  }

  toJSON(): { error: { code: Code; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** The codes every service's table has, so shared code (HTTP shell, route table) can make errors. */
export type CommonErrorCode = 'invalid_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'payload_too_large' | 'unsupported_media_type' | 'internal';

/** Builds a service's own error from a common code. */
export type MakeError<E> = (code: CommonErrorCode, message: string) => E;

/**
 * Maps what body-parser, express and the route table throw to a service's own error; anything
 * unknown is `internal` (logged by the shell, never shown). `limit` names the body limit in the
 * `payload_too_large` message.
 */
export function requestError<E>(err: unknown, make: MakeError<E>, limit?: string): E {
  const e = err as { type?: string; status?: number } | null;
  if (e?.type === 'entity.too.large') return make('payload_too_large', limit ? `the request body is larger than ${limit}` : 'the request body is too large');
  if (e?.type === 'entity.parse.failed') return make('invalid_request', 'the request body is not valid JSON');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return make('unsupported_media_type', 'the request body must be UTF-8 JSON');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return make('invalid_request', 'the request could not be read');
  return make('internal', 'internal error');
}
