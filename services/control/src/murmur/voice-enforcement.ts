import type { VoiceGrants } from './acl.js';
import type { OnlineUser } from './ice-client.js';

/**
 * What a new ACL means for people already in a voice channel, or in the root channel. Murmur
 * checks Enter only when someone moves and decides `suppress` (no Speak) only when someone enters
 * a channel: a user who loses CONNECT or SPEAK while inside would otherwise keep talking until
 * they leave, and whoever sat in the root channel before it became a silent lobby (acl.ts) would
 * keep talking there. The relay compares who is where with the ACLs it wrote and corrects it
 * through Ice. Pure.
 */

/** Grants of one voice channel as sets, for lookups. */
export interface VoiceGrantSets {
  connect: ReadonlySet<number>;
  speak: ReadonlySet<number>;
}

export function grantSets(grants: VoiceGrants): VoiceGrantSets {
  return { connect: new Set(grants.connect), speak: new Set(grants.speak) };
}

/** Murmur's root channel: where users without CONNECT go. */
export const ROOT_CHANNEL = 0;

export type VoiceCorrection =
  /** No CONNECT (or anonymous) in an Alloquy voice channel: back to the root channel. */
  | { kind: 'move'; session: number; name: string; from: number; to: typeof ROOT_CHANNEL }
  /** Suppress (no SPEAK, or in the silent root channel) or lift it (SPEAK back). */
  | { kind: 'suppress'; session: number; name: string; channelId: number; suppress: boolean };

/**
 * The corrections that make `users` match `grants` (Murmur channel id → grants; channels not in
 * the map are not Alloquy's and are left alone) and, once the root channel's ACL is the silent
 * lobby (`silentRoot`), suppress whoever is there unsuppressed; nobody's suppression there is
 * ever lifted. Murmur's SuperUser (user id 0) is never touched.
 */
export function planVoiceCorrections(users: readonly OnlineUser[], grants: ReadonlyMap<number, VoiceGrantSets>, silentRoot = false): VoiceCorrection[] {
  const out: VoiceCorrection[] = [];
  for (const u of users) {
    if (u.userId === 0) continue;
    if (silentRoot && u.channelId === ROOT_CHANNEL) {
      if (!u.suppress) out.push({ kind: 'suppress', session: u.session, name: u.name, channelId: ROOT_CHANNEL, suppress: true });
      continue;
    }
    const g = grants.get(u.channelId);
    if (!g) continue;
    if (u.userId < 0 || !g.connect.has(u.userId)) {
      out.push({ kind: 'move', session: u.session, name: u.name, from: u.channelId, to: ROOT_CHANNEL });
      continue;
    }
    const maySpeak = g.speak.has(u.userId);
    if (maySpeak === u.suppress) out.push({ kind: 'suppress', session: u.session, name: u.name, channelId: u.channelId, suppress: !maySpeak });
  }
  return out;
}

/** Whether `correction` still applies to the user's current state (read again just before acting). */
export function stillApplies(correction: VoiceCorrection, current: OnlineUser): boolean {
  if (correction.kind === 'move') return current.channelId === correction.from;
  return current.channelId === correction.channelId && current.suppress !== correction.suppress;
}
