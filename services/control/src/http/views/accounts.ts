import type { AccountView, RegistrationInviteView, SessionView } from '@alloquy/protocol/http';
import type { Account, Session } from '../../accounts/account-service.js';
import { isoTime } from './time.js';

export function accountView(a: Account): AccountView {
  return { id: a.id, username: a.username, is_admin: a.isAdmin, disabled: a.disabled, created_at: isoTime(a.createdAt) };
}

export function sessionView(s: Session): SessionView {
  return s;
}

export function registrationInviteView(invite: { code: string; expiresAt: number | null; maxUses: number | null }): RegistrationInviteView {
  return { code: invite.code, expires_at: invite.expiresAt ? isoTime(invite.expiresAt) : null, max_uses: invite.maxUses };
}
