import type { ChannelView, OverwriteView } from '@alloquy/protocol/http';
import { Permission, hasAny, permissionNames, serializePermissions, type PermissionOverwrite } from '@alloquy/protocol/permissions';
import type { Channel, GuildSnapshot } from '../../guild/model.js';
import type { Actor, GuildService } from '../../guild/service.js';
import { usernameOf } from './guild.js';
import { permissionSetView } from './permissions.js';
import { isoTime } from './time.js';

/** `perms`: the caller's permissions in the channel; overwrites are shown only `withOverwrites`. */
export function channelView(snapshot: GuildSnapshot, c: Channel, perms: bigint, withOverwrites: boolean): ChannelView {
  const category = c.categoryId === null ? undefined : snapshot.categories.find((k) => k.id === c.categoryId);
  return {
    id: c.id,
    kind: c.kind,
    name: c.name,
    irc_name: c.kind === 'text' ? `#${c.name}` : null,
    topic: c.topic,
    position: c.position,
    category: category ? { id: category.id, name: category.name } : null,
    murmur_channel_id: c.murmurChannelId,
    created_at: isoTime(c.createdAt),
    ...permissionSetView(perms),
    ...(withOverwrites ? { overwrites: c.overwrites.map((o) => overwriteView(snapshot, o)) } : {}),
  };
}

/**
 * The channel as `actor` sees it: overwrites only for those who manage roles or channels there.
 * `perms`: the actor's permissions in the channel, when the caller has already computed them.
 */
export function channelViewFor(
  guild: Pick<GuildService, 'snapshot' | 'permissionsOf'>,
  actor: Actor,
  channel: Channel,
  perms = guild.permissionsOf(actor, channel),
): ChannelView {
  return channelView(guild.snapshot(), channel, perms, hasAny(perms, Permission.MANAGE_ROLES | Permission.MANAGE_CHANNELS));
}

function overwriteView(snapshot: GuildSnapshot, o: PermissionOverwrite): OverwriteView {
  return {
    type: o.type,
    id: o.id,
    name: o.type === 'role' ? (snapshot.roles.get(o.id)?.name ?? null) : usernameOf(snapshot, Number(o.id)),
    allow: serializePermissions(o.allow),
    allow_names: permissionNames(o.allow),
    deny: serializePermissions(o.deny),
    deny_names: permissionNames(o.deny),
  };
}
