/** The one error type the voice module throws, with the server's reasons kept as data. */

export type VoiceErrorCode =
  /** The TCP connection could not be made. */
  | 'connect_failed'
  /** The TLS handshake failed (untrusted certificate, wrong host name, ...). */
  | 'tls_failed'
  /** Murmur answered the login with a Reject message: see {@link VoiceRejectedError}. */
  | 'rejected'
  /** No answer in time. */
  | 'timeout'
  /** The connection ended while waiting for something. */
  | 'connection_closed'
  /** Murmur refused an action (PermissionDenied): see {@link VoicePermissionError}. */
  | 'permission_denied'
  | 'not_connected'
  | 'no_such_channel'
  | 'ambiguous_channel'
  | 'protocol_error';

export class VoiceError extends Error {
  constructor(
    readonly code: VoiceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VoiceError';
  }
}

/** Murmur's Reject.type values (Mumble.proto), by name. */
export const REJECT_TYPES = [
  'None',
  'WrongVersion',
  'InvalidUsername',
  'WrongUserPW',
  'WrongServerPW',
  'UsernameInUse',
  'ServerFull',
  'NoCertificate',
  'AuthenticatorFail',
] as const;

export type RejectType = (typeof REJECT_TYPES)[number] | 'Unknown';

/** Name of a Reject.type number. */
export function rejectTypeName(type: number | null | undefined): RejectType {
  return REJECT_TYPES[type ?? 0] ?? 'Unknown';
}

/** The server refused the login; `rejectType` and `reason` are what Murmur said. */
export class VoiceRejectedError extends VoiceError {
  constructor(
    readonly rejectType: RejectType,
    readonly reason: string,
  ) {
    super('rejected', `Murmur rejected the login: ${rejectType}${reason ? ` (${reason})` : ''}`);
    this.name = 'VoiceRejectedError';
  }

  /** The account password or the server password was wrong. */
  isWrongPassword(): boolean {
    return this.rejectType === 'WrongUserPW' || this.rejectType === 'WrongServerPW';
  }
}

/** Murmur refused an action with PermissionDenied; `deniedType` is its DenyType name. */
export class VoicePermissionError extends VoiceError {
  constructor(
    readonly deniedType: string,
    readonly detail: string | undefined,
    message: string,
  ) {
    super('permission_denied', message);
    this.name = 'VoicePermissionError';
  }
}
