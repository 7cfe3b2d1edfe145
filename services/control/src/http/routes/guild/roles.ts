import { RoleCreate, RoleList, RolePatch, RoleView } from '@alloquy/protocol/http';
import type { GuildService } from '../../../guild/service.js';
import { route, type ControlRoute } from '../../route.js';
import { roleView } from '../../views/roles.js';

/** Roles. Giving and taking them is in members.ts. */
export function roleRoutes(guild: GuildService): ControlRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/roles',
      summary: 'The roles, most senior first (@everyone last)',
      tag: 'roles',
      auth: 'user',
      responses: { 200: RoleList },
      errors: [403],
      handler({ actor }) {
        const everyone = guild.snapshot().everyoneRoleId;
        const roles = guild.listRoles(actor).sort((a, b) => b.position - a.position || Number(a.id) - Number(b.id));
        return { status: 200, body: { roles: roles.map((r) => roleView(r, everyone)) } };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/roles',
      summary: 'Create a role just above @everyone (MANAGE_ROLES; only with permissions you have; an upload limit needs MANAGE_GUILD too)',
      tag: 'roles',
      auth: 'user',
      body: RoleCreate,
      responses: { 201: RoleView },
      errors: [403, 409],
      handler({ body, actor }) {
        const role = guild.createRole(actor, {
          name: body.name,
          permissions: body.permissions,
          color: body.color,
          mentionable: body.mentionable,
          maxUploadBytes: body.max_upload_bytes,
        });
        return { status: 201, body: roleView(role, guild.snapshot().everyoneRoleId) };
      },
    }),
    route({
      method: 'patch',
      path: '/api/v1/roles/{role}',
      summary:
        'Change a role below your highest (MANAGE_ROLES; you may only grant permissions you have; its upload limit needs MANAGE_GUILD too); by id or name',
      tag: 'roles',
      auth: 'user',
      body: RolePatch,
      responses: { 200: RoleView },
      errors: [403, 404, 409],
      handler({ params, body, actor }) {
        const role = guild.updateRole(actor, params.role, {
          name: body.name,
          permissions: body.permissions,
          color: body.color,
          mentionable: body.mentionable,
          position: body.position,
          maxUploadBytes: body.max_upload_bytes,
        });
        return { status: 200, body: roleView(role, guild.snapshot().everyoneRoleId) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/roles/{role}',
      summary: 'Delete a role below your highest (MANAGE_ROLES)',
      tag: 'roles',
      auth: 'user',
      responses: { 204: null },
      errors: [403, 404],
      handler({ params, actor }) {
        guild.deleteRole(actor, params.role);
        return { status: 204 };
      },
    }),
  ];
}
