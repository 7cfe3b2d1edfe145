import type { InviteView } from '@alloquy/protocol/http';
import type { Invite } from '../../guild/service.js';
import { isoTime } from './time.js';

export function inviteView(i: Invite): InviteView {
  return {
    code: i.code,
    created_by: i.createdBy,
    created_at: isoTime(i.createdAt),
    expires_at: i.expiresAt === null ? null : isoTime(i.expiresAt),
    max_uses: i.maxUses,
    uses: i.uses,
  };
}
