import { Algorithm, hash, verify } from '@node-rs/argon2';
import { ControlError } from '../errors/control-error.js';

/**
 * argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 16 ms per
 * verification on this class of machine, memory-hard against GPU guessing.
 */
const PARAMS = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 8;
/** Bounded so a huge body cannot make hashing the attack. */
export const PASSWORD_MAX = 1024;

export function assertAcceptablePassword(password: string): void {
  if (password.length < PASSWORD_MIN) {
    throw new ControlError('weak_password', `a password has at least ${PASSWORD_MIN} characters`);
  }
  if (password.length > PASSWORD_MAX) {
    throw new ControlError('weak_password', `a password has at most ${PASSWORD_MAX} characters`);
  }
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  if (password.length > PASSWORD_MAX) return false;
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let decoy: Promise<string> | undefined;
/**
 * Spends the same time as a real verification, so "no such account" is not faster than
 * "wrong password" and account names cannot be probed by timing.
 */
export async function verifyDecoy(password: string): Promise<false> {
  decoy ??= hashPassword('decoy password that never matches');
  await verifyPassword(await decoy, password);
  return false;
}
