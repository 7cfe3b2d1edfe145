import { Permission, type AclEntry, type ChannelAcl } from './ice-client.js';

/**
 * The one place that maps who may do what in a voice channel onto Murmur ACLs.
 *
 * Murmur evaluates a channel's ACL entries in order, later ones overriding earlier ones, and
 * knows the built-in groups `all` (everyone connected) and `auth` (every registered user, which
 * for Alloquy means every enabled account: the relay registers exactly those). A channel gets:
 * deny Enter and Speak to `all`, then allow Enter to each group in `enter` and Speak to each
 * group in `speak`. Everything else (traverse, text, admin rights) is inherited from the root
 * channel. Until roles exist, both lists are `auth`: every account may enter and speak.
 */
export interface VoicePolicy {
  enter: readonly string[];
  speak: readonly string[];
}

export const DEFAULT_VOICE_POLICY: VoicePolicy = { enter: ['auth'], speak: ['auth'] };

function entry(group: string, allow: number, deny: number): AclEntry {
  return { applyHere: true, applySubs: true, inherited: false, userId: -1, group, allow, deny };
}

export function voiceChannelAcl(policy: VoicePolicy = DEFAULT_VOICE_POLICY): ChannelAcl {
  const acls: AclEntry[] = [entry('all', 0, Permission.Enter | Permission.Speak)];
  const allow = new Map<string, number>();
  for (const group of policy.enter) allow.set(group, (allow.get(group) ?? 0) | Permission.Enter);
  for (const group of policy.speak) allow.set(group, (allow.get(group) ?? 0) | Permission.Speak);
  for (const [group, bits] of allow) acls.push(entry(group, bits, 0));
  return { acls, groups: [], inherit: true };
}

/** Whether a channel's own (non-inherited) ACL is what `wanted` says. */
export function aclMatches(actual: ChannelAcl, wanted: ChannelAcl): boolean {
  if (actual.inherit !== wanted.inherit) return false;
  const own = (acl: ChannelAcl) =>
    acl.acls
      .filter((a) => !a.inherited)
      .map((a) => [a.applyHere, a.applySubs, a.userId, a.group, a.allow, a.deny].join('|'));
  const groups = (acl: ChannelAcl) =>
    acl.groups
      .filter((g) => !g.inherited)
      .map((g) => [g.name, g.inherit, g.inheritable, [...g.add].sort().join(','), [...g.remove].sort().join(',')].join('|'));
  const a = own(actual);
  const w = own(wanted);
  const ga = groups(actual);
  const gw = groups(wanted);
  return a.length === w.length && a.every((x, i) => x === w[i]) && ga.length === gw.length && ga.every((x, i) => x === gw[i]);
}
