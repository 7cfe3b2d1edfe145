import type { GuildView } from '@alloquy/protocol/http';
import type { GuildSnapshot } from '../../guild/model.js';
import { permissionSetView } from './permissions.js';

/** `member`: whether the caller is a member; `perms`: the caller's guild-wide permissions. */
export function guildView(snapshot: GuildSnapshot, member: boolean, perms: bigint): GuildView {
  const s = snapshot.settings;
  return {
    name: s.name,
    description: s.description,
    icon: s.icon,
    adhoc_channels: s.adhocChannels,
    owner: s.ownerId === null ? null : usernameOf(snapshot, Number(s.ownerId)),
    member,
    ...permissionSetView(perms),
  };
}

/** A member's username, or an outsider's (a kicked or banned account the guild still names). */
export function usernameOf(snapshot: GuildSnapshot, accountId: number): string | null {
  const member = snapshot.members.get(String(accountId));
  if (member) return member.username;
  return snapshot.outsiders.find((o) => o.accountId === accountId)?.username ?? null;
}
