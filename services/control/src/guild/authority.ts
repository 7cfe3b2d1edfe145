/**
 * Who asks, and what they may do: an actor resolves to an authority against the newest snapshot,
 * and every change starts with one of the checks here. The permission math itself is the
 * protocol package's (clients grey out exactly what these refuse).
 */
import { ALL, canActOnMember, has, permissionNames, type MemberAction } from '@alloquy/protocol/permissions';
import type { Account } from '../accounts/account-service.js';
import { ControlError } from '../errors/control-error.js';
import { channelPermissionsOf, guildPermissionsOf, type Channel, type GuildSnapshot, type Member } from './model.js';

/** Who asks: a signed-in account, or the operator at the server's console (the CLI). */
export type Actor = { kind: 'account'; account: Account } | { kind: 'operator' };
export const OPERATOR: Actor = Object.freeze({ kind: 'operator' });

export function accountActor(account: Account): Actor {
  return { kind: 'account', account };
}

/** An actor as the guild sees it at one moment; also what the audit log records as the actor. */
export interface Authority {
  /** The operator, the owner and server admins: everything, above every role. */
  supreme: boolean;
  member: Member | undefined;
  name: string;
  accountId: number | null;
}

/** The authority of an account acting for itself outside any permission (joining). */
export function selfAuthority(account: Account): Authority {
  return { supreme: false, member: undefined, name: account.username, accountId: account.id };
}

export class GuildAuthority {
  constructor(
    private readonly snapshot: () => GuildSnapshot,
    private readonly now: () => number,
  ) {}

  of(actor: Actor): Authority {
    if (actor.kind === 'operator') return { supreme: true, member: undefined, name: 'operator', accountId: null };
    const { account } = actor;
    const current = this.snapshot();
    const member = current.members.get(String(account.id));
    const supreme = !!member && (account.isAdmin || member.isAdmin || current.settings.ownerId === member.id);
    return { supreme, member, name: account.username, accountId: account.id };
  }

  /** The authority's permissions guild-wide, or in one channel. */
  permissions(who: Authority, channel?: Channel): bigint {
    if (who.supreme) return ALL;
    const now = this.now();
    return channel ? channelPermissionsOf(this.snapshot(), who.member, channel, now) : guildPermissionsOf(this.snapshot(), who.member, now);
  }

  /** The actor must be a member holding `flags` (in `channel`, when given). */
  require(actor: Actor, flags: bigint, channel?: Channel): Authority {
    const who = this.of(actor);
    if (who.supreme) return who;
    if (!who.member) throw new ControlError('forbidden', 'you are not a member of this server');
    if (!has(this.permissions(who, channel), flags)) {
      throw new ControlError(
        'forbidden',
        `this needs ${permissionNames(flags).join(' and ')}${channel ? ` in ${channel.kind === 'text' ? '#' : ''}${channel.name}` : ''}`,
      );
    }
    return who;
  }

  /** The actor may kick, ban or time out `target`: never the owner, never themselves, only below. */
  authorizeAction(actor: Actor, target: Member, action: MemberAction): Authority {
    const who = this.of(actor);
    const current = this.snapshot();
    if (target.id === current.settings.ownerId) throw new ControlError('forbidden', 'nobody can act on the owner');
    if (who.supreme) {
      if (who.member?.id === target.id) throw new ControlError('forbidden', `you cannot ${action} yourself`);
      return who;
    }
    if (!who.member) throw new ControlError('forbidden', 'you are not a member of this server');
    if (target.isAdmin) throw new ControlError('forbidden', 'server admins can only be acted on by the operator or the owner');
    if (!canActOnMember(this.member(who), target, action, current.permissionGuild, this.now())) {
      throw new ControlError(
        'forbidden',
        `you need ${action === 'kick' ? 'KICK_MEMBERS' : action === 'ban' ? 'BAN_MEMBERS' : 'MODERATE_MEMBERS'} and a highest role above ${target.username}'s`,
      );
    }
    return who;
  }

  /** The member behind a non-supreme authority, for the hierarchy checks of the permission math. */
  member(who: Authority): Member {
    if (!who.member) throw new ControlError('forbidden', 'you are not a member of this server');
    return who.member;
  }
}
