/**
 * Pure pieces of InspIRCd's spanning-tree protocol 1205 (InspIRCd 3) that the services
 * link needs: CAPAB mode descriptors, the challenge/response link password, identifier
 * shapes, safe free text and mask matching. No I/O here.
 */
import { createHmac, randomBytes } from 'node:crypto';

import { modeKindsByLetter, type ModeInfo, type ModeKinds } from './modes.js';

/** The spanning-tree protocol version spoken by InspIRCd 3.x. */
export const PROTOCOL_VERSION = 1205;

/** Parse one CAPAB mode token (`type:name=letter`, `prefix:rank:name=symbolletter`). Returns null when malformed. */
export function parseModeToken(token: string): ModeInfo | null {
  const colon = token.indexOf(':');
  if (colon <= 0) return null;
  const type = token.slice(0, colon);
  let rest = token.slice(colon + 1);
  let rank: number | undefined;
  if (type === 'prefix') {
    const next = rest.indexOf(':');
    if (next <= 0) return null;
    const rankText = rest.slice(0, next);
    if (!/^[0-9]+$/.test(rankText)) return null;
    rank = Number(rankText);
    rest = rest.slice(next + 1);
  }
  const eq = rest.lastIndexOf('=');
  if (eq <= 0) return null;
  const name = rest.slice(0, eq);
  const chars = rest.slice(eq + 1);
  if (type === 'prefix' && chars.length === 2) {
    return { type, name, symbol: chars[0]!, letter: chars[1]!, rank: rank ?? 0 };
  }
  if (chars.length !== 1 || !/^[A-Za-z]$/.test(chars)) return null;
  return rank === undefined ? { type, name, letter: chars } : { type, name, letter: chars, rank };
}

/** What the hub told us about itself during CAPAB negotiation. */
export class HubCapabilities {
  protocol = 0;
  readonly modules: string[] = [];
  readonly optionalModules: string[] = [];
  /** Mode name → descriptor, so callers ask for `op` or `servprotect`, never hardcode letters. */
  readonly channelModes = new Map<string, ModeInfo>();
  readonly userModes = new Map<string, ModeInfo>();
  /** CAPAB CAPABILITIES key=value pairs (NICKMAX, CASEMAPPING, CHALLENGE, ...). */
  readonly capabilities = new Map<string, string>();
  /** True once CAPAB END arrived. */
  complete = false;
  private channelKinds: ModeKinds | null = null;

  /** Consume the parameters of one CAPAB line. Returns false when the line is not usable. */
  accept(params: readonly string[]): boolean {
    const [sub, value] = params;
    switch (sub) {
      case 'START': {
        const version = value !== undefined && /^[0-9]{1,6}$/.test(value) ? Number(value) : 0;
        this.protocol = version;
        return true;
      }
      case 'MODULES':
        if (value === undefined) return false;
        this.modules.push(...splitWords(value));
        return true;
      case 'MODSUPPORT':
        if (value === undefined) return false;
        this.optionalModules.push(...splitWords(value));
        return true;
      case 'CHANMODES':
        this.channelKinds = null;
        return value !== undefined && fillModes(this.channelModes, value);
      case 'USERMODES':
        return value !== undefined && fillModes(this.userModes, value);
      case 'CAPABILITIES':
        if (value === undefined) return false;
        for (const word of splitWords(value)) {
          const eq = word.indexOf('=');
          if (eq > 0) this.capabilities.set(word.slice(0, eq), word.slice(eq + 1));
        }
        return true;
      case 'END':
        this.complete = true;
        return true;
      default:
        return false;
    }
  }

  userModeLetter(name: string): string | undefined {
    return this.userModes.get(name)?.letter;
  }

  channelModeLetter(name: string): string | undefined {
    return this.channelModes.get(name)?.letter;
  }

  /** Channel mode letter → kind (which letters take parameters), from CAPAB CHANMODES. */
  channelModeKinds(): ModeKinds {
    this.channelKinds ??= modeKindsByLetter(this.channelModes.values());
    return this.channelKinds;
  }

  /** A positive integer CAPAB CAPABILITIES value (e.g. MAXQUIT), or the fallback. */
  limit(key: string, fallback: number): number {
    const raw = this.capabilities.get(key);
    if (raw === undefined || !/^[0-9]{1,9}$/.test(raw)) return fallback;
    const value = Number(raw);
    return value > 0 ? value : fallback;
  }
}

function splitWords(text: string): string[] {
  return text.split(' ').filter((word) => word.length > 0);
}

function fillModes(target: Map<string, ModeInfo>, text: string): boolean {
  for (const token of splitWords(text)) {
    const mode = parseModeToken(token);
    if (mode) target.set(mode.name, mode);
  }
  return true;
}

/**
 * The password field of our SERVER line. When the hub sent a CHALLENGE (it has sha256),
 * and we sent ours, InspIRCd expects `AUTH:` + base64(HMAC-SHA256(key=password, challenge))
 * without '=' padding; otherwise the plaintext password.
 */
export function linkPassword(password: string, theirChallenge: string | undefined): string {
  if (!theirChallenge) return password;
  const mac = createHmac('sha256', password).update(theirChallenge).digest('base64');
  return `AUTH:${mac.replace(/=+$/, '')}`;
}

/** A challenge for CAPAB CAPABILITIES: no spaces, no '=' (it is a key=value token). */
export function newChallenge(): string {
  return randomBytes(15).toString('base64').replace(/[+/=]/g, 'x');
}

/** Compare two strings in constant time (for link passwords). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) return false;
  let diff = 0;
  for (let i = 0; i < left.length; i++) diff |= left[i]! ^ right[i]!;
  return diff === 0;
}

/** InspIRCd server id: a digit followed by two of [A-Z0-9]. */
export function isSid(text: string): boolean {
  return /^[0-9][A-Z0-9]{2}$/.test(text);
}

/** InspIRCd user id: the server's SID followed by six of [A-Z0-9]. */
export function isUid(text: string): boolean {
  return /^[0-9][A-Z0-9]{2}[A-Z0-9]{6}$/.test(text);
}

/** A server name as InspIRCd accepts it: has a dot, no spaces. */
export function isServerName(text: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9_.-]*\.[A-Za-z0-9_.-]*$/.test(text) && text.length <= 64;
}

/** A timestamp parameter (seconds since the epoch). */
export function parseTimestamp(text: string | undefined): number | null {
  if (text === undefined || !/^[0-9]{1,12}$/.test(text)) return null;
  return Number(text);
}

/**
 * Make free text (a KILL, KICK or SQUIT reason, a topic) safe as a trailing parameter of at
 * most `maxBytes`: NUL, CR and LF become spaces, and it is cut on a character boundary.
 */
export function sanitizeText(text: string, maxBytes: number): string {
  // A UTF-16 unit is at least one UTF-8 byte, so this cut never removes too much.
  let clean = text.replace(/[\0\r\n]/g, ' ').slice(0, maxBytes);
  while (Buffer.byteLength(clean, 'utf8') > maxBytes) clean = clean.slice(0, -1);
  // Do not leave half a surrogate pair behind.
  if (/[\uD800-\uDBFF]$/.test(clean)) clean = clean.slice(0, -1);
  return clean;
}

/** Case-insensitive `*`/`?` glob match, as InspIRCd matches ENCAP targets. */
export function globMatch(mask: string, text: string): boolean {
  const m = mask.toLowerCase();
  const t = text.toLowerCase();
  let mi = 0;
  let ti = 0;
  let starMi = -1;
  let starTi = 0;
  while (ti < t.length) {
    if (mi < m.length && (m[mi] === '?' || m[mi] === t[ti])) {
      mi++;
      ti++;
    } else if (mi < m.length && m[mi] === '*') {
      starMi = mi++;
      starTi = ti;
    } else if (starMi !== -1) {
      mi = starMi + 1;
      ti = ++starTi;
    } else {
      return false;
    }
  }
  while (mi < m.length && m[mi] === '*') mi++;
  return mi === m.length;
}

/** Generates UIDs for our pseudo-clients: SID + six characters, AAAAAA, AAAAAB, ... */
export class UidGenerator {
  private next = 0;
  constructor(private readonly sid: string) {}

  allocate(): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    let n = this.next++;
    let suffix = '';
    for (let i = 0; i < 6; i++) {
      suffix = alphabet[n % alphabet.length]! + suffix;
      n = Math.floor(n / alphabet.length);
    }
    return this.sid + suffix;
  }
}
