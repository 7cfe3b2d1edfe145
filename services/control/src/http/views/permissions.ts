import type { PermissionSetView } from '@alloquy/protocol/http';
import { permissionNames, serializePermissions } from '@alloquy/protocol/permissions';

export function permissionSetView(bits: bigint): PermissionSetView {
  return { permissions: serializePermissions(bits), permission_names: permissionNames(bits) };
}
