/**
 * The guild's invite commands: who may make, list and revoke invites, with an audit entry each.
 * The invites themselves are the accounts module's (accounts/invites.ts): the same codes admit
 * registrations on an invite-only server.
 */
import { Permission } from '@alloquy/protocol/permissions';
import type { Invite } from '../accounts/invites.js';
import { ControlError } from '../errors/control-error.js';
import type { Actor } from './authority.js';
import type { GuildContext } from './context.js';

export function createInvite(ctx: GuildContext, actor: Actor, options: { maxUses?: number; expiresInSeconds?: number } = {}): Invite {
  const who = ctx.authority.require(actor, Permission.CREATE_INVITE);
  if (options.maxUses !== undefined && (!Number.isInteger(options.maxUses) || options.maxUses < 1))
    throw new ControlError('invalid_request', 'max uses is a whole number of at least 1');
  if (options.expiresInSeconds !== undefined && (!Number.isInteger(options.expiresInSeconds) || options.expiresInSeconds < 1)) {
    throw new ControlError('invalid_request', 'expiry is a whole number of seconds of at least 1');
  }
  const now = ctx.now();
  const expiresAt = options.expiresInSeconds ? now + options.expiresInSeconds * 1000 : null;
  let invite: Invite | undefined;
  ctx.audit.write(
    who,
    {
      action: 'invite.create',
      targetType: 'invite',
      changes: { max_uses: options.maxUses ?? null, expires_at: expiresAt && new Date(expiresAt).toISOString() },
    },
    (entry) => {
      invite = ctx.invites.create({ createdBy: who.accountId, createdAt: now, expiresAt, maxUses: options.maxUses ?? null });
      entry.targetId = invite.code;
    },
  );
  return invite!;
}

/** Live invites (not revoked, not expired, not used up). */
export function listInvites(ctx: GuildContext, actor: Actor): Invite[] {
  ctx.authority.require(actor, Permission.MANAGE_GUILD);
  return ctx.invites.listLive(ctx.now());
}

/** Its maker may revoke an invite; anyone else needs MANAGE_GUILD. */
export function revokeInvite(ctx: GuildContext, actor: Actor, code: string): void {
  const invite = ctx.invites.get(code);
  if (!invite) throw new ControlError('not_found', 'no such invite');
  const mine = actor.kind === 'account' && invite.createdBy === actor.account.username;
  const who = mine ? ctx.authority.of(actor) : ctx.authority.require(actor, Permission.MANAGE_GUILD);
  ctx.audit.write(who, { action: 'invite.revoke', targetType: 'invite', targetId: code }, () => {
    ctx.invites.revoke(code, ctx.now());
  });
}
