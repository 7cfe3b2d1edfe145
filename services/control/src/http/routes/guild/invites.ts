import { InviteCreate, InviteList, InviteView } from '@alloquy/protocol/http';
import type { GuildService } from '../../../guild/service.js';
import { route, type ControlRoute } from '../../route.js';
import { inviteView } from '../../views/invites.js';

/** Guild invites. Registration invites on an invite-only server are the admin's (admin-routes.ts). */
export function inviteRoutes(guild: GuildService): ControlRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/invites',
      summary: 'Live invites: not revoked, expired or used up (MANAGE_GUILD)',
      tag: 'invites',
      auth: 'user',
      responses: { 200: InviteList },
      errors: [403],
      handler({ actor }) {
        return { status: 200, body: { invites: guild.listInvites(actor).map(inviteView) } };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/invites',
      summary: 'Create an invite (CREATE_INVITE), optionally limited in uses and time; it registers new accounts and readmits kicked ones',
      tag: 'invites',
      auth: 'user',
      body: InviteCreate,
      responses: { 201: InviteView },
      errors: [403],
      handler({ body, actor }) {
        const invite = guild.createInvite(actor, { maxUses: body.max_uses, expiresInSeconds: body.expires_in });
        return { status: 201, body: inviteView(invite) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/invites/{code}',
      summary: 'Revoke an invite (your own, or any with MANAGE_GUILD)',
      tag: 'invites',
      auth: 'user',
      responses: { 204: null },
      errors: [403, 404],
      handler({ params, actor }) {
        guild.revokeInvite(actor, params.code);
        return { status: 204 };
      },
    }),
  ];
}
