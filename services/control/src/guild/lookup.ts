/**
 * Finding what a request names (by id or by name) in a snapshot, or `not_found`. Pure: every
 * part of the guild resolves references the same way.
 */
import { foldCase } from '@alloquy/protocol/irc';
import { ControlError } from '../errors/control-error.js';
import { memberByUsername, type Category, type Channel, type ChannelKind, type GuildSnapshot, type Member, type Role } from './model.js';

/** A channel by id or name (`general`, `#general`, `General` for voice). */
export function findChannel(snapshot: GuildSnapshot, ref: string, kind?: ChannelKind): Channel | undefined {
  const byId = snapshot.channels.find((c) => c.id === ref && (!kind || c.kind === kind));
  if (byId) return byId;
  const textName = foldCase(ref.replace(/^#/, ''));
  const voiceName = ref.toLowerCase();
  const matches = snapshot.channels.filter((c) => (!kind || c.kind === kind) && (c.kind === 'text' ? c.name === textName : c.name.toLowerCase() === voiceName));
  // `general` and `General` are both a text and a voice channel name: the exact spelling picks.
  return matches.find((c) => c.name === ref) ?? matches[0];
}

export function requireChannel(snapshot: GuildSnapshot, ref: string, kind?: ChannelKind): Channel {
  const found = findChannel(snapshot, ref, kind);
  if (!found) throw new ControlError('not_found', `no ${kind ?? ''}${kind ? ' ' : ''}channel "${ref}"`);
  return found;
}

/** A role by id or name (any case). */
export function requireRole(snapshot: GuildSnapshot, ref: string): Role {
  const found = snapshot.roles.get(ref) ?? [...snapshot.roles.values()].find((r) => r.name.toLowerCase() === ref.toLowerCase());
  if (!found) throw new ControlError('not_found', `no role "${ref}"`);
  return found;
}

/** A category by id or name (any case). */
export function requireCategory(snapshot: GuildSnapshot, ref: string): Category {
  const found = snapshot.categories.find((c) => c.id === ref) ?? snapshot.categories.find((c) => c.name.toLowerCase() === ref.toLowerCase());
  if (!found) throw new ControlError('not_found', `no category "${ref}"`);
  return found;
}

/** A current member by account name (any case). */
export function requireMember(snapshot: GuildSnapshot, username: string): Member {
  const member = memberByUsername(snapshot, username);
  if (!member) throw new ControlError('not_found', `${username} is not a member of this server`);
  return member;
}
