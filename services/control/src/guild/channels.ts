/**
 * Text and voice channels, the categories that group them, and their permission overwrites.
 * A text channel's history belongs to history/ (see ChannelHistory): a rename or a deletion
 * reaches it through that interface, inside the same transaction.
 */
import { Permission, canSetOverwrite, has, isValidPermissions, permissionNames, serializePermissions, type OverwriteType } from '@alloquy/protocol/permissions';
import { ControlError } from '../errors/control-error.js';
import type { Json } from './audit.js';
import type { Actor } from './authority.js';
import type { GuildContext } from './context.js';
import { findChannel, requireCategory, requireChannel, requireRole } from './lookup.js';
import { ircChannelName, type Category, type Channel, type ChannelKind } from './model.js';
import { assertDisplayName, assertTopic, normalizeChannelName } from './names.js';

/** Channels the actor can see (all of them for the operator), in display order, with the actor's permissions in each. */
export function channelsInView(ctx: GuildContext, actor: Actor): { channel: Channel; permissions: bigint }[] {
  const who = ctx.authority.of(actor);
  return ctx.snapshot().channels.flatMap((channel) => {
    const permissions = ctx.authority.permissions(who, channel);
    return has(permissions, Permission.VIEW_CHANNEL) ? [{ channel, permissions }] : [];
  });
}

/** Every category, for members. */
export function listCategories(ctx: GuildContext, actor: Actor): Category[] {
  ctx.authority.require(actor, 0n);
  return [...ctx.snapshot().categories];
}

export function createChannel(
  ctx: GuildContext,
  actor: Actor,
  input: { kind: ChannelKind; name: string; topic?: string; categoryId?: string | null; position?: number },
): Channel {
  const who = ctx.authority.require(actor, Permission.MANAGE_CHANNELS);
  const name = normalizeChannelName(input.kind, input.name);
  if (input.topic !== undefined) assertTopic(input.topic);
  const categoryId = input.categoryId ? Number(requireCategory(ctx.snapshot(), input.categoryId).id) : null;
  if (findChannel(ctx.snapshot(), name, input.kind)) throw new ControlError('channel_taken', `a ${input.kind} channel named "${name}" exists`);
  let id = 0;
  ctx.audit.write(
    who,
    { action: 'channel.create', targetType: 'channel', targetName: name, changes: { kind: input.kind, topic: input.topic ?? '' } },
    (entry) => {
      const position =
        input.position ?? (ctx.sql('SELECT COALESCE(MAX(position), -1) + 1 FROM guild_channels WHERE kind = ?').pluck().get(input.kind) as number);
      const info = ctx
        .sql('INSERT INTO guild_channels (kind, name, name_folded, topic, position, category_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(input.kind, name, name.toLowerCase(), input.topic ?? '', position, categoryId, who.accountId, ctx.now());
      id = Number(info.lastInsertRowid);
      entry.targetId = String(id);
    },
  );
  return requireChannel(ctx.snapshot(), String(id));
}

export function updateChannel(
  ctx: GuildContext,
  actor: Actor,
  ref: string,
  patch: { name?: string; topic?: string; position?: number; categoryId?: string | null },
): Channel {
  const channel = requireChannel(ctx.snapshot(), ref);
  const who = ctx.authority.require(actor, Permission.MANAGE_CHANNELS, channel);
  const changes: Json = {};
  let name = channel.name;
  if (patch.name !== undefined) {
    name = normalizeChannelName(channel.kind, patch.name);
    const clash = findChannel(ctx.snapshot(), name, channel.kind);
    if (clash && clash.id !== channel.id) throw new ControlError('channel_taken', `a ${channel.kind} channel named "${name}" exists`);
    if (name !== channel.name) changes.name = { from: channel.name, to: name };
  }
  if (patch.topic !== undefined) {
    assertTopic(patch.topic);
    if (patch.topic !== channel.topic) changes.topic = { from: channel.topic, to: patch.topic };
  }
  if (patch.position !== undefined && patch.position !== channel.position) changes.position = { from: channel.position, to: patch.position };
  let categoryId = channel.categoryId === null ? null : Number(channel.categoryId);
  if (patch.categoryId !== undefined) {
    categoryId = patch.categoryId === null ? null : Number(requireCategory(ctx.snapshot(), patch.categoryId).id);
    if (String(categoryId) !== String(channel.categoryId)) changes.category = { from: channel.categoryId, to: categoryId === null ? null : String(categoryId) };
  }
  if (Object.keys(changes).length === 0) return channel;
  ctx.audit.write(who, { action: 'channel.update', targetType: 'channel', targetId: channel.id, targetName: channel.name, changes }, () => {
    ctx
      .sql('UPDATE guild_channels SET name = ?, name_folded = ?, topic = ?, position = ?, category_id = ? WHERE id = ?')
      .run(name, name.toLowerCase(), patch.topic ?? channel.topic, patch.position ?? channel.position, categoryId, Number(channel.id));
    // A renamed text channel is a new IRC channel: its history and read markers follow it.
    if (channel.kind === 'text' && name !== channel.name) ctx.history.renameChannel(ircChannelName(channel), ircChannelName({ ...channel, name }));
  });
  return requireChannel(ctx.snapshot(), channel.id);
}

export function deleteChannel(ctx: GuildContext, actor: Actor, ref: string): void {
  const channel = requireChannel(ctx.snapshot(), ref);
  const who = ctx.authority.require(actor, Permission.MANAGE_CHANNELS, channel);
  ctx.audit.write(
    who,
    { action: 'channel.delete', targetType: 'channel', targetId: channel.id, targetName: channel.name, changes: { kind: channel.kind } },
    () => {
      ctx.sql('DELETE FROM guild_channels WHERE id = ?').run(Number(channel.id));
      // Like Discord, a deleted channel takes its messages with it: a new channel of the same
      // name must not show the old one's (perhaps private) history.
      if (channel.kind === 'text') ctx.history.forgetChannel(ircChannelName(channel));
    },
  );
}

export function createCategory(ctx: GuildContext, actor: Actor, input: { name: string; position?: number }): Category {
  const who = ctx.authority.require(actor, Permission.MANAGE_CHANNELS);
  assertDisplayName('category', input.name);
  let id = 0;
  ctx.audit.write(who, { action: 'category.create', targetType: 'category', targetName: input.name }, (entry) => {
    const position = input.position ?? (ctx.sql('SELECT COALESCE(MAX(position), -1) + 1 FROM guild_categories').pluck().get() as number);
    id = Number(ctx.sql('INSERT INTO guild_categories (name, position, created_at) VALUES (?, ?, ?)').run(input.name, position, ctx.now()).lastInsertRowid);
    entry.targetId = String(id);
  });
  return requireCategory(ctx.snapshot(), String(id));
}

export function updateCategory(ctx: GuildContext, actor: Actor, ref: string, patch: { name?: string; position?: number }): Category {
  const category = requireCategory(ctx.snapshot(), ref);
  const who = ctx.authority.require(actor, Permission.MANAGE_CHANNELS);
  if (patch.name !== undefined) assertDisplayName('category', patch.name);
  ctx.audit.write(who, { action: 'category.update', targetType: 'category', targetId: category.id, targetName: category.name, changes: { ...patch } }, () => {
    ctx
      .sql('UPDATE guild_categories SET name = ?, position = ? WHERE id = ?')
      .run(patch.name ?? category.name, patch.position ?? category.position, Number(category.id));
  });
  return requireCategory(ctx.snapshot(), category.id);
}

export function deleteCategory(ctx: GuildContext, actor: Actor, ref: string): void {
  const category = requireCategory(ctx.snapshot(), ref);
  const who = ctx.authority.require(actor, Permission.MANAGE_CHANNELS);
  ctx.audit.write(who, { action: 'category.delete', targetType: 'category', targetId: category.id, targetName: category.name }, () => {
    ctx.sql('DELETE FROM guild_categories WHERE id = ?').run(Number(category.id));
  });
}

/** Sets (replaces) a channel's overwrite for a role or a member. Role and member may be named. */
export function setOverwrite(
  ctx: GuildContext,
  actor: Actor,
  channelRef: string,
  input: { type: OverwriteType; target: string; allow: bigint; deny: bigint },
): Channel {
  const channel = requireChannel(ctx.snapshot(), channelRef);
  const who = ctx.authority.of(actor);
  const { id: targetId, name: targetName } = overwriteTarget(ctx, input.type, input.target);
  if (!isValidPermissions(input.allow) || !isValidPermissions(input.deny))
    throw new ControlError('invalid_request', 'allow and deny must be sets of defined permission bits');
  if ((input.allow & input.deny) !== 0n) throw new ControlError('invalid_request', 'a permission cannot be both allowed and denied');
  if (has(input.allow | input.deny, Permission.ADMINISTRATOR)) throw new ControlError('invalid_request', 'ADMINISTRATOR cannot be set in a channel overwrite');
  if (!who.supreme && !canSetOverwrite(ctx.authority.member(who), channel, input.allow, input.deny, ctx.snapshot().permissionGuild, ctx.now())) {
    throw new ControlError('forbidden', 'you need MANAGE_ROLES in this channel, and may only allow or deny permissions you have there');
  }
  ctx.audit.write(
    who,
    {
      action: 'overwrite.set',
      targetType: 'channel',
      targetId: channel.id,
      targetName: channel.name,
      changes: { type: input.type, target: targetName, allow: permissionNames(input.allow), deny: permissionNames(input.deny) },
    },
    () => {
      ctx
        .sql(
          `INSERT INTO guild_overwrites (channel_id, target_type, target_id, allow, deny) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (channel_id, target_type, target_id) DO UPDATE SET allow = excluded.allow, deny = excluded.deny`,
        )
        .run(Number(channel.id), input.type, Number(targetId), serializePermissions(input.allow), serializePermissions(input.deny));
    },
  );
  return requireChannel(ctx.snapshot(), channel.id);
}

export function deleteOverwrite(ctx: GuildContext, actor: Actor, channelRef: string, type: OverwriteType, target: string): Channel {
  const channel = requireChannel(ctx.snapshot(), channelRef);
  const who = ctx.authority.of(actor);
  const { id: targetId, name: targetName } = overwriteTarget(ctx, type, target);
  const existing = channel.overwrites.find((o) => o.type === type && o.id === targetId);
  if (!existing) throw new ControlError('not_found', `channel "${channel.name}" has no overwrite for that ${type}`);
  if (!who.supreme && !canSetOverwrite(ctx.authority.member(who), channel, existing.allow, existing.deny, ctx.snapshot().permissionGuild, ctx.now())) {
    throw new ControlError('forbidden', 'you need MANAGE_ROLES in this channel and every permission the overwrite sets');
  }
  ctx.audit.write(
    who,
    { action: 'overwrite.delete', targetType: 'channel', targetId: channel.id, targetName: channel.name, changes: { type, target: targetName } },
    () => {
      ctx.sql('DELETE FROM guild_overwrites WHERE channel_id = ? AND target_type = ? AND target_id = ?').run(Number(channel.id), type, Number(targetId));
    },
  );
  return requireChannel(ctx.snapshot(), channel.id);
}

/** A member overwrite may name any account (members come and go; the overwrite stays). */
function overwriteTarget(ctx: GuildContext, type: OverwriteType, ref: string): { id: string; name: string } {
  if (type === 'role') {
    const role = requireRole(ctx.snapshot(), ref);
    return { id: role.id, name: role.name };
  }
  const account = ctx.accounts.find(ref) ?? (/^[0-9]+$/.test(ref) ? ctx.accounts.byId(Number(ref)) : undefined);
  if (!account) throw new ControlError('not_found', `no account "${ref}"`);
  return { id: String(account.id), name: account.username };
}
