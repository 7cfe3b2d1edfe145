import { ControlError } from '../errors/control-error.js';

/**
 * Usernames double as IRC nicks and Mumble user names, so they follow InspIRCd's nick rules
 * (a letter or one of []\`_^{|} first, then letters, digits, those, or '-'), at most 30
 * characters (InspIRCd's default maxnick).
 */
export const USERNAME_MAX = 30;
const NICK = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]*$/;

/** Names our own pseudo-clients use or that users would mistake for staff. */
const RESERVED = new Set(
  [
    'alloquy',
    'nickserv',
    'chanserv',
    'histserv',
    'operserv',
    'memoserv',
    'botserv',
    'hostserv',
    'saslserv',
    'global',
    'services',
    'admin',
    'root',
    'system',
    'everyone',
    'here',
  ].map(foldUsername),
);

/**
 * Folds a name with rfc1459 casemapping (A-Z plus []\~ fold to a-z plus {}|^). Debian's
 * InspIRCd uses plain ascii casemapping, which rfc1459 contains, so whichever mapping a network
 * uses, two names IRC would treat as one nick can never be two accounts.
 */
export function foldUsername(name: string): string {
  let out = '';
  for (const ch of name) {
    if (ch >= 'A' && ch <= 'Z') out += ch.toLowerCase();
    else if (ch === '[') out += '{';
    else if (ch === ']') out += '}';
    else if (ch === '\\') out += '|';
    else if (ch === '~') out += '^';
    else out += ch;
  }
  return out;
}

export function usernameProblem(name: string): string | null {
  if (name.length === 0) return 'a username is required';
  if (name.length > USERNAME_MAX) return `a username has at most ${USERNAME_MAX} characters`;
  if (!NICK.test(name)) {
    return 'a username starts with a letter or one of []\\`_^{|} and holds only letters, digits, those characters and -';
  }
  if (RESERVED.has(foldUsername(name))) return `the username "${name}" is reserved`;
  return null;
}

export function assertValidUsername(name: string): void {
  const problem = usernameProblem(name);
  if (problem) throw new ControlError('invalid_username', problem);
}
