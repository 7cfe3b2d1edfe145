/**
 * Hand-made guild snapshots for the pure history tests (recorder, commands): a few roles and
 * channels, and a GuildSource whose snapshot a test can swap. Integration tests use the real
 * GuildService instead.
 */
import { EventEmitter } from 'node:events';
import type { Channel, GuildEvents, GuildSnapshot, GuildSource, Member, Role } from '../../src/guild/model.js';
import { Permission as P, type PermissionOverwrite } from '@alloquy/protocol/permissions';

export const EVERYONE = '1';
export const MOD_ROLE = '2';
export const EVERYONE_PERMS = P.VIEW_CHANNEL | P.SEND_MESSAGES | P.READ_HISTORY | P.ADD_REACTIONS;

function role(id: string, name: string, position: number, permissions: bigint): Role {
  return { id, name, position, permissions, color: null, mentionable: false };
}

export function textChannel(id: string, name: string, overwrites: PermissionOverwrite[] = []): Channel {
  return { id, kind: 'text', name, topic: '', position: Number(id), categoryId: null, overwrites, murmurChannelId: null, createdAt: 0 };
}

export function member(accountId: number, username: string, roleIds: string[] = [], timeoutUntil: number | null = null): Member {
  return { id: String(accountId), accountId, username, roleIds, timeoutUntil, isAdmin: false };
}

export interface FixtureOptions {
  channels?: Channel[];
  members?: Member[];
  everyonePermissions?: bigint;
}

/**
 * Members: alice (1), bob (2), mod (3, MANAGE_MESSAGES), muted (4, no ADD_REACTIONS via overwrite
 * in #general). Channels: #general (1), #secret (2, @everyone denied VIEW_CHANNEL, bob allowed),
 * #noread (3, @everyone denied READ_HISTORY), voice `General` (4).
 */
export function guildSnapshot(options: FixtureOptions = {}): GuildSnapshot {
  const roles = new Map<string, Role>([
    [EVERYONE, role(EVERYONE, '@everyone', 0, options.everyonePermissions ?? EVERYONE_PERMS)],
    [MOD_ROLE, role(MOD_ROLE, 'mod', 5, P.MANAGE_MESSAGES)],
  ]);
  const channels = options.channels ?? [
    textChannel('1', 'general', [{ type: 'member', id: '4', allow: 0n, deny: P.ADD_REACTIONS }]),
    textChannel('2', 'secret', [
      { type: 'role', id: EVERYONE, allow: 0n, deny: P.VIEW_CHANNEL },
      { type: 'member', id: '2', allow: P.VIEW_CHANNEL, deny: 0n },
    ]),
    textChannel('3', 'noread', [{ type: 'role', id: EVERYONE, allow: 0n, deny: P.READ_HISTORY }]),
    { ...textChannel('4', 'General'), kind: 'voice' },
  ];
  const members = options.members ?? [member(1, 'alice'), member(2, 'bob'), member(3, 'mod', [MOD_ROLE]), member(4, 'muted')];
  return {
    version: 1,
    settings: { name: 'Test', description: '', icon: null, ownerId: null, adhocChannels: false },
    everyoneRoleId: EVERYONE,
    roles,
    categories: [],
    channels,
    members: new Map(members.map((m) => [m.id, m])),
    outsiders: [],
    bans: new Map(),
    permissionGuild: { ownerId: '\u0000none', everyoneRoleId: EVERYONE, roles },
  };
}

/** A GuildSource over a snapshot the test may replace (emitting `changed`). */
export class FixtureGuild extends EventEmitter<GuildEvents> implements GuildSource {
  constructor(private current: GuildSnapshot = guildSnapshot()) {
    super();
  }

  snapshot(): GuildSnapshot {
    return this.current;
  }

  set(next: GuildSnapshot): void {
    this.current = next;
    this.emit('changed', next, { action: 'test' });
  }
}
