import { describe, expect, it } from 'vitest';
import * as permissions from './index.js';

describe('public surface', () => {
  it('exports the flags, the computation and the hierarchy checks', () => {
    expect(Object.keys(permissions).sort()).toEqual(
      [
        'ALL',
        'InvalidPermissionsError',
        'MEMBER_ACTION_PERMISSION',
        'NONE',
        'PERMISSION_BITS',
        'PERMISSION_NAMES',
        'Permission',
        'REQUIRES_CONNECT',
        'REQUIRES_SEND_MESSAGES',
        'TIMED_OUT_PERMISSIONS',
        'applyImplicitRules',
        'applyOverwrites',
        'basePermissions',
        'canActOnMember',
        'canEditRolePermissions',
        'canManageRole',
        'canSetOverwrite',
        'channelPermissions',
        'combine',
        'has',
        'hasAny',
        'highestRolePosition',
        'isOwner',
        'isPermissionName',
        'isTimedOut',
        'isValidPermissions',
        'lookupRole',
        'memberRoles',
        'parsePermissions',
        'permissionName',
        'permissionNames',
        'permissionsFromNames',
        'remove',
        'serializePermissions',
      ].sort(),
    );
  });

  it('works end to end from the index', () => {
    const { Permission: P, channelPermissions, parsePermissions, serializePermissions } = permissions;
    const guild = {
      ownerId: 'o',
      everyoneRoleId: 'e',
      roles: { e: { id: 'e', position: 0, permissions: parsePermissions(serializePermissions(P.VIEW_CHANNEL | P.SEND_MESSAGES)) } },
    };
    const channel = { id: 'c', kind: 'text' as const, overwrites: [{ type: 'member' as const, id: 'u', allow: 0n, deny: P.SEND_MESSAGES }] };
    expect(channelPermissions({ id: 'u', roleIds: [] }, guild, channel, 0)).toBe(P.VIEW_CHANNEL);
  });
});
