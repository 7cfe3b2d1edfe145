import { createHash, randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ControlError } from '../errors/control-error.js';

/** What an access token says about its bearer. */
export interface AccessClaims {
  accountId: number;
  username: string;
  /** The account's password_changed_at when the token was minted: a password change voids older tokens. */
  passwordVersion: number;
}

/**
 * Short-lived HS256 access tokens. The algorithm is pinned on verification, so a token
 * claiming `alg: none` or an RSA key confusion is refused.
 */
export class AccessTokens {
  constructor(
    private readonly secret: string,
    private readonly issuer: string,
    readonly ttlSeconds: number,
  ) {}

  mint(claims: AccessClaims): string {
    return jwt.sign({ name: claims.username, pwv: claims.passwordVersion, typ: 'access' }, this.secret, {
      algorithm: 'HS256',
      issuer: this.issuer,
      subject: String(claims.accountId),
      expiresIn: this.ttlSeconds,
    });
  }

  /** Throws `invalid_token` for anything that is not a live token we minted. */
  verify(token: string): AccessClaims {
    let payload: jwt.JwtPayload | string;
    try {
      payload = jwt.verify(token, this.secret, { algorithms: ['HS256'], issuer: this.issuer });
    } catch (err) {
      const expired = err instanceof jwt.TokenExpiredError;
      throw new ControlError('invalid_token', expired ? 'the access token has expired' : 'the access token is not valid');
    }
    if (
      typeof payload === 'string' ||
      payload.typ !== 'access' ||
      typeof payload.sub !== 'string' ||
      !/^\d+$/.test(payload.sub) ||
      typeof payload.name !== 'string' ||
      typeof payload.pwv !== 'number'
    ) {
      throw new ControlError('invalid_token', 'the access token is not valid');
    }
    return { accountId: Number(payload.sub), username: payload.name, passwordVersion: payload.pwv };
  }

  /** Cheap shape test, so SASL only tries token verification on things that look like JWTs. */
  static looksLikeJwt(s: string): boolean {
    return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(s);
  }
}

/** Refresh tokens are opaque random strings; only their SHA-256 is stored. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
