import { randomInt } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A new invite code: 12 letters and digits (71 bits), like Discord's. Only letters and digits,
 * so a code never starts with `-` (which the CLI would read as an option) and survives being
 * pasted into a URL, a chat line or a shell unquoted.
 */
export function newInviteCode(length = 12): string {
  let code = '';
  for (let i = 0; i < length; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return code;
}
