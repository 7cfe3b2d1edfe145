import { createHmac, timingSafeEqual } from 'node:crypto';

/** Query parameters of a signed download URL. */
export const EXPIRES_PARAM = 'expires';
export const SIGNATURE_PARAM = 'sig';

/**
 * Signs download URLs for files in private channels: HMAC-SHA256 over the attachment id and the
 * expiry (Unix seconds), so one signature opens the file and its thumbnails until it expires and
 * nothing else. The secret lives in `signingSecretPath`; rotating it revokes every link.
 */
export class UrlSigner {
  constructor(private readonly secret: string) {
    if (secret.length < 16) throw new Error('the URL signing secret is too short');
  }

  sign(attachmentId: string, expiresAtSeconds: number): string {
    return createHmac('sha256', this.secret).update(`alloquy-file-v1\n${attachmentId}\n${expiresAtSeconds}`).digest('base64url');
  }

  /** 'valid', 'expired' (a genuine signature past its time) or 'invalid' (forged, altered, malformed). */
  verify(attachmentId: string, expires: unknown, signature: unknown, nowSeconds: number): 'valid' | 'expired' | 'invalid' {
    if (typeof expires !== 'string' || typeof signature !== 'string' || !/^\d{1,12}$/.test(expires)) return 'invalid';
    const expected = Buffer.from(this.sign(attachmentId, Number(expires)));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    return Number(expires) > nowSeconds ? 'valid' : 'expired';
  }
}
