import { createHmac } from 'node:crypto';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Access tokens an attacker could make: well-formed HS256 JWTs for a real account, signed with
 * a key that is not the server's, and the unsigned `alg: none` variant.
 */
export function forgedTokens(accountId: number, username: string): string[] {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub: String(accountId), name: username, pwv: 0, typ: 'access', iss: 'alloquy', iat: now, exp: now + 600 };
  const header = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64(payload);
  const signature = createHmac('sha256', 'not the server secret').update(`${header}.${body}`).digest('base64url');
  return [`${header}.${body}.${signature}`, `${b64({ alg: 'none', typ: 'JWT' })}.${body}.`, 'garbage'];
}
