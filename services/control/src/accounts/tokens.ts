import { createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ControlError } from '../errors/control-error.js';

/** How many verified tokens AccessTokens remembers (a few MB at most). */
const MAX_VERIFIED = 10_000;

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
 *
 * The secret is held as a KeyObject: handed a string, jsonwebtoken first tries to parse it as a
 * PEM public key on every call (about 0.65 ms per verify, against about 15 µs with a KeyObject).
 * The key is the secret's UTF-8 bytes, the same key the library would derive from the string.
 */
export class AccessTokens {
  private readonly key: KeyObject;
  /**
   * Tokens that passed verification, with their expiry: a client sends the same token with every
   * request until it renews it, so a repeat costs a lookup instead of a decode and an HMAC. Only
   * a token's exact text finds its entry; a hit is still refused once the token expires.
   */
  private readonly verified = new Map<string, { claims: AccessClaims; exp: number }>();

  constructor(
    secret: string,
    private readonly issuer: string,
    readonly ttlSeconds: number,
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  mint(claims: AccessClaims): string {
    return jwt.sign({ name: claims.username, pwv: claims.passwordVersion, typ: 'access' }, this.key, {
      algorithm: 'HS256',
      issuer: this.issuer,
      subject: String(claims.accountId),
      expiresIn: this.ttlSeconds,
    });
  }

  /** Throws `invalid_token` for anything that is not a live token we minted. */
  verify(token: string): AccessClaims {
    const seen = this.verified.get(token);
    if (seen) {
      // jsonwebtoken's own test: expired from the second `exp` names.
      if (Math.floor(Date.now() / 1000) < seen.exp) return seen.claims;
      this.verified.delete(token);
      throw new ControlError('invalid_token', 'the access token has expired');
    }
    let payload: jwt.JwtPayload | string;
    try {
      payload = jwt.verify(token, this.key, { algorithms: ['HS256'], issuer: this.issuer });
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
    const claims: AccessClaims = Object.freeze({ accountId: Number(payload.sub), username: payload.name, passwordVersion: payload.pwv });
    if (typeof payload.exp === 'number') {
      // Bounded: the oldest entry goes first (a Map iterates in insertion order).
      if (this.verified.size >= MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, { claims, exp: payload.exp });
    }
    return claims;
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
