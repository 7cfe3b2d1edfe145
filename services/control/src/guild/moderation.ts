/**
 * Moderation: kick, ban, unban and timeouts, only over members below the actor; and the timer
 * that republishes the guild when a timeout ends.
 */
import { Permission } from '@alloquy/protocol/permissions';
import { ControlError } from '../errors/control-error.js';
import type { Actor } from './authority.js';
import type { GuildContext } from './context.js';
import { requireMember } from './lookup.js';
import { nextTimeoutExpiry, type Ban, type GuildSnapshot, type Member } from './model.js';

/** Discord's limit: a timeout lasts at most 28 days. */
export const MAX_TIMEOUT_MS = 28 * 24 * 3600 * 1000;
const MAX_REASON = 512;

export function listBans(ctx: GuildContext, actor: Actor): Ban[] {
  ctx.authority.require(actor, Permission.BAN_MEMBERS);
  return [...ctx.snapshot().bans.values()];
}

export function kick(ctx: GuildContext, actor: Actor, username: string, reason = ''): void {
  const target = requireMember(ctx.snapshot(), username);
  const who = ctx.authority.authorizeAction(actor, target, 'kick');
  const text = clampReason(reason);
  ctx.publishRemoval({ accountId: target.accountId, username: target.username, kind: 'kick', reason: text, by: who.name });
  ctx.audit.write(who, { action: 'member.kick', targetType: 'member', targetId: target.id, targetName: target.username, reason: text }, () => {
    ctx
      .sql(
        'INSERT INTO guild_members (account_id, kicked_at, timeout_until) VALUES (?, ?, NULL) ON CONFLICT (account_id) DO UPDATE SET kicked_at = excluded.kicked_at, timeout_until = NULL',
      )
      .run(target.accountId, ctx.now());
    // Like Discord: a kicked member comes back without roles.
    ctx.sql('DELETE FROM guild_member_roles WHERE account_id = ?').run(target.accountId);
  });
}

/** Bans an account (member or not): it cannot rejoin until unbanned. */
export function ban(ctx: GuildContext, actor: Actor, username: string, reason = ''): void {
  const account = ctx.accounts.find(username);
  if (!account) throw new ControlError('not_found', `no account "${username}"`);
  const current = ctx.snapshot();
  if (current.bans.has(account.id)) throw new ControlError('invalid_request', `${account.username} is already banned`);
  const target = current.members.get(String(account.id));
  const who = target ? ctx.authority.authorizeAction(actor, target, 'ban') : ctx.authority.require(actor, Permission.BAN_MEMBERS);
  if (!target && String(account.id) === current.settings.ownerId) throw new ControlError('forbidden', 'the owner cannot be banned');
  const text = clampReason(reason);
  ctx.publishRemoval({ accountId: account.id, username: account.username, kind: 'ban', reason: text, by: who.name });
  ctx.audit.write(who, { action: 'member.ban', targetType: 'member', targetId: String(account.id), targetName: account.username, reason: text }, () => {
    ctx.sql('INSERT INTO guild_bans (account_id, reason, banned_by, created_at) VALUES (?, ?, ?, ?)').run(account.id, text, who.accountId, ctx.now());
    ctx.sql('DELETE FROM guild_member_roles WHERE account_id = ?').run(account.id);
    ctx.sql('UPDATE guild_members SET timeout_until = NULL WHERE account_id = ?').run(account.id);
  });
}

export function unban(ctx: GuildContext, actor: Actor, username: string, reason = ''): void {
  const who = ctx.authority.require(actor, Permission.BAN_MEMBERS);
  const account = ctx.accounts.find(username);
  if (!account || !ctx.snapshot().bans.has(account.id)) throw new ControlError('not_found', `${username} is not banned`);
  ctx.audit.write(
    who,
    { action: 'member.unban', targetType: 'member', targetId: String(account.id), targetName: account.username, reason: clampReason(reason) },
    () => {
      ctx.sql('DELETE FROM guild_bans WHERE account_id = ?').run(account.id);
      // Unbanned is not rejoined: they come back with an invite (or freely on an open server).
      ctx
        .sql(
          'INSERT INTO guild_members (account_id, kicked_at) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET kicked_at = COALESCE(kicked_at, excluded.kicked_at)',
        )
        .run(account.id, ctx.now());
    },
  );
}

/** Times a member out until `until` (Unix ms), or lifts the timeout with null. */
export function timeout(ctx: GuildContext, actor: Actor, username: string, until: number | null, reason = ''): Member {
  const target = requireMember(ctx.snapshot(), username);
  const who = ctx.authority.authorizeAction(actor, target, 'timeout');
  const now = ctx.now();
  if (until !== null && (!Number.isFinite(until) || until <= now || until - now > MAX_TIMEOUT_MS)) {
    throw new ControlError('invalid_request', 'a timeout ends in the future, at most 28 days from now');
  }
  ctx.audit.write(
    who,
    {
      action: until === null ? 'member.timeout_clear' : 'member.timeout',
      targetType: 'member',
      targetId: target.id,
      targetName: target.username,
      reason: clampReason(reason),
      changes: until === null ? null : { until: new Date(until).toISOString() },
    },
    () => {
      ctx
        .sql(
          'INSERT INTO guild_members (account_id, timeout_until) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET timeout_until = excluded.timeout_until',
        )
        .run(target.accountId, until);
    },
  );
  return requireMember(ctx.snapshot(), username);
}

/**
 * A timeout ending changes permissions without a write: this republishes (calls `expired`) at
 * that instant. Re-armed after every snapshot.
 */
export class TimeoutExpiry {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly now: () => number,
    private readonly expired: () => void,
  ) {}

  schedule(snapshot: GuildSnapshot): void {
    this.stop();
    const next = nextTimeoutExpiry(snapshot, this.now());
    if (next === null) return;
    // setTimeout holds at most ~24.8 days; longer waits re-arm on the way.
    const delay = Math.min(Math.max(0, next - this.now()) + 5, 2 ** 31 - 1);
    this.timer = setTimeout(this.expired, delay);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function clampReason(reason: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it removes.
  const controls = /[\u0000-\u001f\u007f]+/g;
  return reason.replace(controls, ' ').trim().slice(0, MAX_REASON);
}
