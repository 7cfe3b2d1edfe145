import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from './layered-config.js';

/** Shorter than this is not a secret anyone should rely on (8 random bytes, hex). */
const MIN_SECRET_CHARS = 16;

/**
 * Returns the secret stored at `path`, creating it first (`bytes` random bytes, hex encoded,
 * mode 0600, in a 0700 folder) when it does not exist. The stack supervisor and the services it
 * starts may create the same file at the same moment, so creation is atomic: the secret is
 * written to a private temporary file and hard-linked into place, which fails instead of
 * overwriting when the other side won the race; both then read the winner's secret.
 *
 * Secrets written by others are read trimmed and made private; an empty or too short one is a
 * ConfigError. Secrets never reach a log.
 */
export function ensureSecret(path: string, bytes = 32): string {
  const existing = readSecret(path);
  if (existing !== undefined) return existing;

  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // No trailing newline: a reader that does not trim must see the same secret.
    writeFileSync(temporary, randomBytes(bytes).toString('hex'), { mode: 0o600, flag: 'wx' });
    try {
      linkSync(temporary, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  } finally {
    rmSync(temporary, { force: true });
  }
  const created = readSecret(path);
  if (created === undefined) throw new ConfigError(`secret file ${path} vanished while it was being created`);
  return created;
}

function readSecret(path: string): string | undefined {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const secret = content.trim();
  if (secret === '') throw new ConfigError(`secret file ${path} exists but is empty; delete it to have a new secret generated`);
  if (secret.length < MIN_SECRET_CHARS) throw new ConfigError(`secret ${path} is too short (need at least ${MIN_SECRET_CHARS} characters)`);
  // A secret that others can read is not secret; tighten rather than refuse.
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return secret;
}
