/**
 * Roles: created at the bottom, edited and moved only below one's own highest role, granting only
 * what one holds. Positions stay a dense 1..n above @everyone (0).
 */
import {
  Permission,
  canEditRolePermissions,
  canManageRole,
  highestRolePosition,
  isValidPermissions,
  permissionNames,
  serializePermissions,
} from '@alloquy/protocol/permissions';
import { ControlError } from '../errors/control-error.js';
import type { Json } from './audit.js';
import type { Actor, Authority } from './authority.js';
import type { GuildContext } from './context.js';
import { requireRole } from './lookup.js';
import type { Role } from './model.js';
import { assertDisplayName } from './names.js';
import { EVERYONE_ROLE_ID } from './snapshot-loader.js';

/** Every role, for members. */
export function listRoles(ctx: GuildContext, actor: Actor): Role[] {
  ctx.authority.require(actor, 0n);
  return [...ctx.snapshot().roles.values()];
}

export function createRole(
  ctx: GuildContext,
  actor: Actor,
  input: { name: string; permissions?: bigint; color?: number | null; mentionable?: boolean; maxUploadBytes?: number | null },
): Role {
  const who = ctx.authority.require(actor, Permission.MANAGE_ROLES);
  assertDisplayName('role', input.name);
  if (input.name.toLowerCase() === '@everyone') throw new ControlError('role_taken', 'the @everyone role exists');
  const permissions = input.permissions ?? 0n;
  if (!isValidPermissions(permissions)) throw new ControlError('invalid_request', 'permissions must be a set of defined permission bits');
  const maxUploadBytes = input.maxUploadBytes ?? null;
  if (maxUploadBytes !== null) requireUploadLimitAuthority(ctx, who, actor, maxUploadBytes);
  // New roles start at the bottom (position 1), as in Discord, so the creator can manage them.
  const provisional: Role = { id: '\u0000new', name: input.name, position: 1, permissions: 0n, color: null, mentionable: false };
  if (!who.supreme && !canEditRolePermissions(ctx.authority.member(who), provisional, permissions, ctx.snapshot().permissionGuild, ctx.now())) {
    throw new ControlError('forbidden', 'you may only create roles with permissions you have yourself, below your highest role');
  }
  let id = 0;
  const changes: Json = { permissions: permissionNames(permissions) };
  if (maxUploadBytes !== null) changes.max_upload_bytes = maxUploadBytes;
  ctx.audit.write(who, { action: 'role.create', targetType: 'role', targetName: input.name, changes }, (entry) => {
    ctx.sql('UPDATE guild_roles SET position = position + 1 WHERE position >= 1').run();
    id = uniqueName(input.name, () =>
      Number(
        ctx
          .sql(
            'INSERT INTO guild_roles (name, name_folded, position, permissions, color, mentionable, max_upload_bytes, created_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?)',
          )
          .run(
            input.name,
            input.name.toLowerCase(),
            serializePermissions(permissions),
            input.color ?? null,
            input.mentionable ? 1 : 0,
            maxUploadBytes,
            ctx.now(),
          ).lastInsertRowid,
      ),
    );
    entry.targetId = String(id);
  });
  return requireRole(ctx.snapshot(), String(id));
}

export function updateRole(
  ctx: GuildContext,
  actor: Actor,
  ref: string,
  patch: { name?: string; permissions?: bigint; color?: number | null; mentionable?: boolean; position?: number; maxUploadBytes?: number | null },
): Role {
  const role = requireRole(ctx.snapshot(), ref);
  const who = ctx.authority.of(actor);
  const now = ctx.now();
  const { permissionGuild } = ctx.snapshot();
  const everyone = role.id === EVERYONE_ROLE_ID;
  if (!who.supreme) {
    const actorMember = ctx.authority.member(who);
    if (!canManageRole(actorMember, role, permissionGuild, now)) {
      throw new ControlError('forbidden', 'you need MANAGE_ROLES and a highest role above this one');
    }
    if (patch.permissions !== undefined && !canEditRolePermissions(actorMember, role, patch.permissions, permissionGuild, now)) {
      throw new ControlError('forbidden', 'you may only grant permissions you have yourself');
    }
    if (patch.position !== undefined && patch.position >= highestRolePosition(actorMember, permissionGuild)) {
      throw new ControlError('forbidden', 'you may only move a role below your highest role');
    }
  }
  if (everyone && (patch.name !== undefined || patch.position !== undefined)) {
    throw new ControlError('invalid_request', 'the @everyone role cannot be renamed or moved');
  }
  if (patch.name !== undefined) assertDisplayName('role', patch.name);
  if (patch.permissions !== undefined && !isValidPermissions(patch.permissions))
    throw new ControlError('invalid_request', 'permissions must be a set of defined permission bits');
  if (patch.position !== undefined && (!Number.isInteger(patch.position) || patch.position < 1)) {
    throw new ControlError('invalid_request', 'a role position is a whole number of at least 1 (0 is @everyone)');
  }
  const oldLimit = role.maxUploadBytes ?? null;
  const limitChanges = patch.maxUploadBytes !== undefined && patch.maxUploadBytes !== oldLimit;
  if (limitChanges) requireUploadLimitAuthority(ctx, who, actor, patch.maxUploadBytes ?? null);
  const changes: Json = {};
  if (patch.name !== undefined && patch.name !== role.name) changes.name = { from: role.name, to: patch.name };
  if (patch.permissions !== undefined && patch.permissions !== role.permissions) {
    changes.permissions = { granted: permissionNames(patch.permissions & ~role.permissions), revoked: permissionNames(role.permissions & ~patch.permissions) };
  }
  if (patch.color !== undefined && patch.color !== role.color) changes.color = { from: role.color, to: patch.color };
  if (patch.mentionable !== undefined && patch.mentionable !== role.mentionable) changes.mentionable = patch.mentionable;
  if (patch.position !== undefined && patch.position !== role.position) changes.position = { from: role.position, to: patch.position };
  if (limitChanges) changes.max_upload_bytes = { from: oldLimit, to: patch.maxUploadBytes };
  if (Object.keys(changes).length === 0) return role;
  ctx.audit.write(who, { action: 'role.update', targetType: 'role', targetId: role.id, targetName: role.name, changes }, () => {
    if (patch.position !== undefined && patch.position !== role.position) moveRole(ctx, role, patch.position);
    uniqueName(patch.name ?? role.name, () =>
      ctx
        .sql('UPDATE guild_roles SET name = ?, name_folded = ?, permissions = ?, color = ?, mentionable = ?, max_upload_bytes = ? WHERE id = ?')
        .run(
          patch.name ?? role.name,
          (patch.name ?? role.name).toLowerCase(),
          serializePermissions(patch.permissions ?? role.permissions),
          patch.color === undefined ? role.color : patch.color,
          (patch.mentionable ?? role.mentionable) ? 1 : 0,
          patch.maxUploadBytes === undefined ? oldLimit : patch.maxUploadBytes,
          Number(role.id),
        ),
    );
  });
  return requireRole(ctx.snapshot(), role.id);
}

export function deleteRole(ctx: GuildContext, actor: Actor, ref: string): void {
  const role = requireRole(ctx.snapshot(), ref);
  if (role.id === EVERYONE_ROLE_ID) throw new ControlError('invalid_request', 'the @everyone role cannot be deleted');
  const who = ctx.authority.of(actor);
  if (!who.supreme && !canManageRole(ctx.authority.member(who), role, ctx.snapshot().permissionGuild, ctx.now())) {
    throw new ControlError('forbidden', 'you need MANAGE_ROLES and a highest role above this one');
  }
  ctx.audit.write(who, { action: 'role.delete', targetType: 'role', targetId: role.id, targetName: role.name }, () => {
    ctx.sql("DELETE FROM guild_overwrites WHERE target_type = 'role' AND target_id = ?").run(Number(role.id));
    ctx.sql('DELETE FROM guild_roles WHERE id = ?').run(Number(role.id));
    ctx.sql('UPDATE guild_roles SET position = position - 1 WHERE position > ?').run(role.position);
  });
}

/**
 * A role's upload limit decides how much disk its holders may fill, a server resource: setting
 * it needs MANAGE_GUILD besides what editing the role needs. Null clears it.
 */
function requireUploadLimitAuthority(ctx: GuildContext, who: Authority, actor: Actor, bytes: number | null): void {
  if (bytes !== null && (!Number.isSafeInteger(bytes) || bytes < 1)) {
    throw new ControlError('invalid_request', 'an upload limit is a whole number of bytes of at least 1 (or null for none)');
  }
  if (!who.supreme) ctx.authority.require(actor, Permission.MANAGE_GUILD);
}

/** Positions stay a dense 1..n sequence above @everyone. */
function moveRole(ctx: GuildContext, role: Role, to: number): void {
  const others = [...ctx.snapshot().roles.values()].filter((r) => r.id !== EVERYONE_ROLE_ID && r.id !== role.id).sort((a, b) => a.position - b.position);
  const index = Math.max(0, Math.min(others.length, to - 1));
  others.splice(index, 0, role);
  others.forEach((r, i) => ctx.sql('UPDATE guild_roles SET position = ? WHERE id = ?').run(i + 1, Number(r.id)));
}

/** Runs a write of a role's name; the unique folded name turns a clash into `role_taken`. */
function uniqueName<T>(name: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new ControlError('role_taken', `a role named "${name}" exists`);
    throw err;
  }
}
