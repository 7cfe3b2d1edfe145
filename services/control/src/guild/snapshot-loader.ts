import { parsePermissions } from '@alloquy/protocol/permissions';
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
interface AccountRow {
  id: number;
  username: string;
  is_admin: number;
  disabled_at: number | null;
  timeout_until: number | null;
  kicked_at: number | null;
  banned: number;
  ban_reason: string | null;
  ban_created_at: number | null;
}

/**
 * Reads the whole guild in a handful of queries. Stored permission strings were validated on
 * the way in; a damaged one is read leniently (unknown bits dropped) rather than taking the
 * guild down.
 */
export function loadSnapshot(db: Db, version: number): GuildSnapshot {
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
  const categories: Category[] = (db.prepare('SELECT * FROM guild_categories ORDER BY position, id').all() as {
    id: number;
    name: string;
    position: number;
  }[]).map((c) => ({ id: String(c.id), name: c.name, position: c.position }));

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
  const rows = db
    .prepare(
      `SELECT a.id, a.username, a.is_admin, a.disabled_at, m.timeout_until, m.kicked_at,
              b.account_id IS NOT NULL AS banned, b.reason AS ban_reason, b.created_at AS ban_created_at
         FROM accounts a
         LEFT JOIN guild_members m ON m.account_id = a.id
         LEFT JOIN guild_bans b ON b.account_id = a.id
        ORDER BY a.id`,
    )
    .all() as AccountRow[];
  const members = new Map<string, Member>();
  const outsiders: GuildSnapshot['outsiders'][number][] = [];
  const bans = new Map<number, Ban>();
  let oldestAdmin: number | null = null;
  for (const a of rows) {
    if (a.banned) bans.set(a.id, { accountId: a.id, username: a.username, reason: a.ban_reason ?? '', createdAt: a.ban_created_at ?? 0 });
    if (a.is_admin === 1 && a.disabled_at === null && oldestAdmin === null) oldestAdmin = a.id;
    const why = a.disabled_at !== null ? 'disabled' : a.banned ? 'banned' : a.kicked_at !== null ? 'kicked' : null;
    if (why) {
      outsiders.push({ accountId: a.id, username: a.username, why });
      continue;
    }
    members.set(String(a.id), {
      id: String(a.id),
      accountId: a.id,
      username: a.username,
      roleIds: memberRoles.get(a.id) ?? [],
      timeoutUntil: a.timeout_until,
      isAdmin: a.is_admin === 1,
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
