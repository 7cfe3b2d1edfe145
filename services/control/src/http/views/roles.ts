import type { RoleView } from '@alloquy/protocol/http';
import type { Role } from '../../guild/model.js';
import { permissionSetView } from './permissions.js';

export function roleView(r: Role, everyoneRoleId: string): RoleView {
  return {
    id: r.id,
    name: r.name,
    position: r.position,
    ...permissionSetView(r.permissions),
    color: r.color,
    mentionable: r.mentionable,
    everyone: r.id === everyoneRoleId,
    max_upload_bytes: r.maxUploadBytes ?? null,
  };
}
