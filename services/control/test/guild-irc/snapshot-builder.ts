/**
 * Hand-made guild snapshots for unit tests of the pure IRC mapping (desired.ts, diff.ts). The
 * shapes are the model's own types; integration tests use the real GuildService instead.
 */
import type { Channel, GuildSnapshot, Member, Role } from '../../src/guild/model.js';
import { Permission, type PermissionOverwrite } from '@alloquy/protocol/permissions';

/** What @everyone gets on a fresh server (view, send, read history, reactions). */
export const DEFAULT_EVERYONE =
  Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES | Permission.READ_HISTORY | Permission.ADD_REACTIONS | Permission.CONNECT | Permission.SPEAK;

export interface BuildOptions {
  everyone?: bigint;
  roles?: Array<Omit<Role, 'color' | 'mentionable'>>;
  channels?: Array<Partial<Channel> & { name: string }>;
  members?: Array<Partial<Member> & { username: string }>;
  outsiders?: GuildSnapshot['outsiders'];
  adhocChannels?: boolean;
  version?: number;
  ownerId?: string | null;
}

let nextChannelId = 100;

export function textChannel(name: string, overwrites: PermissionOverwrite[] = [], extra: Partial<Channel> = {}): Partial<Channel> & { name: string } {
  return { name, overwrites, ...extra };
}

export function buildSnapshot(options: BuildOptions = {}): GuildSnapshot {
  const roles = new Map<string, Role>();
  roles.set('1', { id: '1', name: '@everyone', position: 0, permissions: options.everyone ?? DEFAULT_EVERYONE, color: null, mentionable: false });
  for (const role of options.roles ?? []) roles.set(role.id, { ...role, color: null, mentionable: false });
  const channels: Channel[] = (options.channels ?? [{ name: 'general' }]).map((input, index) => ({
    id: input.id ?? String(nextChannelId++),
    kind: input.kind ?? 'text',
    name: input.name,
    topic: input.topic ?? '',
    position: input.position ?? index,
    categoryId: null,
    overwrites: input.overwrites ?? [],
    murmurChannelId: null,
    createdAt: input.createdAt ?? 1_700_000_000_000,
  }));
  const members = new Map<string, Member>();
  (options.members ?? []).forEach((input, index) => {
    const accountId = input.accountId ?? index + 1;
    members.set(String(accountId), {
      id: String(accountId),
      accountId,
      username: input.username,
      roleIds: input.roleIds ?? [],
      timeoutUntil: input.timeoutUntil ?? null,
      isAdmin: input.isAdmin ?? false,
    });
  });
  const ownerId = options.ownerId === undefined ? null : options.ownerId;
  return {
    version: options.version ?? 1,
    settings: { name: 'Test', description: '', icon: null, ownerId, adhocChannels: options.adhocChannels ?? false },
    everyoneRoleId: '1',
    roles,
    categories: [],
    channels,
    members,
    outsiders: options.outsiders ?? [],
    bans: new Map(),
    permissionGuild: { ownerId: ownerId ?? '\u0000none', everyoneRoleId: '1', roles },
  };
}
