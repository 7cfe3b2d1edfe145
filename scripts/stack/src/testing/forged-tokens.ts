import { createHmac } from 'node:crypto';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Access tokens an attacker could make from a genuine one: its claims, unchanged (so a right
 * password version and expiry cannot be what refuses them), signed with a key that is not the
 * server's; the same claims unsigned (`alg: none`); and garbage.
 */
export function forgedTokens(genuine: string): string[] {
  const body = genuine.split('.')[1];
  if (!body) throw new Error('forgedTokens needs a genuine JWT to copy the claims of');
  const header = b64({ alg: 'HS256', typ: 'JWT' });
  const signature = createHmac('sha256', 'not the server secret').update(`${header}.${body}`).digest('base64url');
  return [`${header}.${body}.${signature}`, `${b64({ alg: 'none', typ: 'JWT' })}.${body}.`, 'garbage'];
}
