/**
 * Membership: who is in the guild, the roles members hold, and joining (or rejoining after a
 * kick, with an invite). Kicks, bans and timeouts are moderation.ts.
 */
import { canManageRole } from '@alloquy/protocol/permissions';
import type { Account } from '../accounts/account-service.js';
import { ControlError } from '../errors/control-error.js';
import { selfAuthority, type Actor } from './authority.js';
import type { GuildContext } from './context.js';
import { requireMember, requireRole } from './lookup.js';
import type { Member } from './model.js';
import { EVERYONE_ROLE_ID } from './snapshot-loader.js';

/** The members, for members (as in Discord, everyone in the guild sees who else is). */
export function listMembers(ctx: GuildContext, actor: Actor): Member[] {
  ctx.authority.require(actor, 0n);
  return [...ctx.snapshot().members.values()];
}

export function getMember(ctx: GuildContext, actor: Actor, username: string): Member {
  ctx.authority.require(actor, 0n);
  return requireMember(ctx.snapshot(), username);
}

/** Gives (`add`) or takes a role; only roles below the actor's highest. */
export function changeMemberRole(ctx: GuildContext, actor: Actor, username: string, roleRef: string, add: boolean): Member {
  const role = requireRole(ctx.snapshot(), roleRef);
  if (role.id === EVERYONE_ROLE_ID) throw new ControlError('invalid_request', 'every member holds @everyone');
  const target = requireMember(ctx.snapshot(), username);
  const who = ctx.authority.of(actor);
  if (!who.supreme && !canManageRole(ctx.authority.member(who), role, ctx.snapshot().permissionGuild, ctx.now())) {
    throw new ControlError('forbidden', 'you need MANAGE_ROLES and a highest role above this one');
  }
  const holds = target.roleIds.includes(role.id);
  if (holds === add) return target;
  ctx.audit.write(
    who,
    {
      action: add ? 'member.role_add' : 'member.role_remove',
      targetType: 'member',
      targetId: target.id,
      targetName: target.username,
      changes: { role: role.name },
    },
    () => {
      if (add) ctx.sql('INSERT OR IGNORE INTO guild_member_roles (account_id, role_id) VALUES (?, ?)').run(target.accountId, Number(role.id));
      else ctx.sql('DELETE FROM guild_member_roles WHERE account_id = ? AND role_id = ?').run(target.accountId, Number(role.id));
    },
  );
  return requireMember(ctx.snapshot(), username);
}

/**
 * An account joins (or rejoins after a kick). Banned accounts cannot; a kicked account needs
 * an invite unless registration is open. The invite is spent in the join's transaction.
 */
export function join(ctx: GuildContext, account: Account, inviteCode?: string): Member {
  const existing = ctx.snapshot().members.get(String(account.id));
  if (existing) return existing;
  if (account.disabled) throw new ControlError('account_disabled', 'this account is disabled');
  if (ctx.snapshot().bans.has(account.id)) throw new ControlError('banned', 'you are banned from this server');
  const needsInvite = ctx.accounts.registrationMode !== 'open';
  if (needsInvite && !inviteCode) throw new ControlError('invalid_invite', 'joining this server needs an invite code');
  ctx.audit.write(
    selfAuthority(account),
    {
      action: 'member.join',
      targetType: 'member',
      targetId: String(account.id),
      targetName: account.username,
      changes: inviteCode ? { invite: inviteCode } : null,
    },
    () => {
      if (inviteCode) ctx.invites.consume(inviteCode, ctx.now());
      ctx.sql('UPDATE guild_members SET kicked_at = NULL WHERE account_id = ?').run(account.id);
    },
  );
  return ctx.snapshot().members.get(String(account.id))!;
}
