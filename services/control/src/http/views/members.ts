import type { MemberView } from '@alloquy/protocol/http';
import type { GuildSnapshot, Member, Role } from '../../guild/model.js';
import { isoTime } from './time.js';

/** `now`: a timeout that has ended is shown as none. */
export function memberView(snapshot: GuildSnapshot, m: Member, now: number): MemberView {
  const roles = m.roleIds
    .map((id) => snapshot.roles.get(id))
    .filter((r): r is Role => r !== undefined)
    .sort((a, b) => b.position - a.position)
    .map((r) => ({ id: r.id, name: r.name }));
  return {
    id: m.id,
    username: m.username,
    roles,
    timeout_until: m.timeoutUntil !== null && m.timeoutUntil > now ? isoTime(m.timeoutUntil) : null,
    is_owner: snapshot.settings.ownerId === m.id,
    is_admin: m.isAdmin,
  };
}
