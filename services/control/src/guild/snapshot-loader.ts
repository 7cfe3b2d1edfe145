import { parsePermissions } from '@alloquy/protocol/permissions';
import type { Account } from '../accounts/account-service.js';
import type { Db } from '../store/database.js';
import type { Ban, Category, Channel, GuildSnapshot, Member, Role } from './model.js';

/** The @everyone role's row id (migration 4). */
export const EVERYONE_ROLE_ID = '1';

interface SettingsRow {
  name: string;
  description: string;
  icon: string | null;
  owner_account_id: number | null;
  adhoc_channels: number;
}
interface RoleRow {
  id: number;
  name: string;
  position: number;
  permissions: string;
  color: number | null;
  mentionable: number;
  max_upload_bytes: number | null;
}
interface ChannelRow {
  id: number;
  kind: 'text' | 'voice';
  name: string;
  topic: string;
  position: number;
  category_id: number | null;
  murmur_channel_id: number | null;
  created_at: number;
}
interface OverwriteRow {
  channel_id: number;
  target_type: 'role' | 'member';
  target_id: number;
  allow: string;
  deny: string;
}
interface MemberRow {
  account_id: number;
  timeout_until: number | null;
  kicked_at: number | null;
}
interface BanRow {
  account_id: number;
  reason: string;
  created_at: number;
}

/**
 * Reads the whole guild in a handful of queries, over `accounts` (every account, by id, as
 * AccountService.list() gives them: the accounts table is the accounts module's). Stored
 * permission strings were validated on the way in; a damaged one is read leniently (unknown bits
 * dropped) rather than taking the guild down.
 */
export function loadSnapshot(db: Db, accounts: readonly Account[], version: number): GuildSnapshot {
  const perms = (text: string) => parsePermissions(text, { unknownBits: 'strip' });
  const settingsRow = db.prepare('SELECT * FROM guild_settings WHERE id = 1').get() as SettingsRow;
  const roles = new Map<string, Role>();
  for (const r of db.prepare('SELECT * FROM guild_roles ORDER BY position, id').all() as RoleRow[]) {
    roles.set(String(r.id), {
      id: String(r.id),
      name: r.name,
      position: r.position,
      permissions: perms(r.permissions),
      color: r.color,
      mentionable: r.mentionable === 1,
      maxUploadBytes: r.max_upload_bytes,
    });
  }
  const categories: Category[] = (
    db.prepare('SELECT * FROM guild_categories ORDER BY position, id').all() as {
      id: number;
      name: string;
      position: number;
    }[]
  ).map((c) => ({ id: String(c.id), name: c.name, position: c.position }));

  const overwrites = new Map<number, Channel['overwrites']>();
  for (const o of db.prepare('SELECT * FROM guild_overwrites ORDER BY channel_id, target_type, target_id').all() as OverwriteRow[]) {
    const list = overwrites.get(o.channel_id) ?? [];
    list.push({ type: o.target_type, id: String(o.target_id), allow: perms(o.allow), deny: perms(o.deny) });
    overwrites.set(o.channel_id, list);
  }
  const channels: Channel[] = (db.prepare('SELECT * FROM guild_channels ORDER BY kind, position, id').all() as ChannelRow[]).map((c) => ({
    id: String(c.id),
    kind: c.kind,
    name: c.name,
    topic: c.topic,
    position: c.position,
    categoryId: c.category_id === null ? null : String(c.category_id),
    overwrites: overwrites.get(c.id) ?? [],
    murmurChannelId: c.murmur_channel_id,
    createdAt: c.created_at,
  }));

  const memberRoles = new Map<number, string[]>();
  for (const r of db.prepare('SELECT account_id, role_id FROM guild_member_roles ORDER BY account_id, role_id').all() as {
    account_id: number;
    role_id: number;
  }[]) {
    const list = memberRoles.get(r.account_id) ?? [];
    list.push(String(r.role_id));
    memberRoles.set(r.account_id, list);
  }
  const memberRows = new Map<number, MemberRow>();
  for (const m of db.prepare('SELECT account_id, timeout_until, kicked_at FROM guild_members').all() as MemberRow[]) memberRows.set(m.account_id, m);
  const banRows = new Map<number, BanRow>();
  for (const b of db.prepare('SELECT account_id, reason, created_at FROM guild_bans').all() as BanRow[]) banRows.set(b.account_id, b);
  const members = new Map<string, Member>();
  const outsiders: GuildSnapshot['outsiders'][number][] = [];
  const bans = new Map<number, Ban>();
  let oldestAdmin: number | null = null;
  for (const a of accounts) {
    const ban = banRows.get(a.id);
    const state = memberRows.get(a.id);
    if (ban) bans.set(a.id, { accountId: a.id, username: a.username, reason: ban.reason, createdAt: ban.created_at });
    if (a.isAdmin && !a.disabled && oldestAdmin === null) oldestAdmin = a.id;
    const why = a.disabled ? 'disabled' : ban ? 'banned' : state?.kicked_at != null ? 'kicked' : null;
    if (why) {
      outsiders.push({ accountId: a.id, username: a.username, why });
      continue;
    }
    members.set(String(a.id), {
      id: String(a.id),
      accountId: a.id,
      username: a.username,
      roleIds: memberRoles.get(a.id) ?? [],
      timeoutUntil: state?.timeout_until ?? null,
      isAdmin: a.isAdmin,
    });
  }
  const ownerId = settingsRow.owner_account_id ?? oldestAdmin;
  const settings = {
    name: settingsRow.name,
    description: settingsRow.description,
    icon: settingsRow.icon,
    ownerId: ownerId === null ? null : String(ownerId),
    adhocChannels: settingsRow.adhoc_channels === 1,
  };
  return {
    version,
    settings,
    everyoneRoleId: EVERYONE_ROLE_ID,
    roles,
    categories,
    channels,
    members,
    outsiders,
    bans,
    // No owner at all (no admin yet): an id no member has.
    permissionGuild: { ownerId: settings.ownerId ?? '\u0000none', everyoneRoleId: EVERYONE_ROLE_ID, roles },
  };
}
