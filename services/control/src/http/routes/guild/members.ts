import { MemberList, MemberView, ReasonBody, TimeoutBody } from '@alloquy/protocol/http';
import type { GuildService } from '../../../guild/service.js';
import { route, type ControlRoute } from '../../route.js';
import { memberView } from '../../views/members.js';

/** Members, their roles, and moderation short of a ban (bans.ts): kick and timeout. */
export function memberRoutes(guild: GuildService): ControlRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/members',
      summary: 'The members: roles, timeouts, who owns the server',
      tag: 'members',
      auth: 'user',
      responses: { 200: MemberList },
      errors: [403],
      handler({ actor }) {
        const snapshot = guild.snapshot();
        const now = Date.now();
        return { status: 200, body: { members: guild.listMembers(actor).map((m) => memberView(snapshot, m, now)) } };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/members/{username}',
      summary: 'One member',
      tag: 'members',
      auth: 'user',
      responses: { 200: MemberView },
      errors: [403, 404],
      handler({ params, actor }) {
        const member = guild.getMember(actor, params.username);
        return { status: 200, body: memberView(guild.snapshot(), member, Date.now()) };
      },
    }),
    ...(['put', 'delete'] as const).map((method) =>
      route({
        method,
        path: '/api/v1/members/{username}/roles/{role}',
        summary:
          method === 'put' ? 'Give a member a role below your highest (MANAGE_ROLES)' : 'Take a role from a member (MANAGE_ROLES, role below your highest)',
        tag: 'members',
        auth: 'user',
        responses: { 200: MemberView },
        errors: [403, 404],
        handler({ params, actor }) {
          const member =
            method === 'put' ? guild.addMemberRole(actor, params.username, params.role) : guild.removeMemberRole(actor, params.username, params.role);
          return { status: 200, body: memberView(guild.snapshot(), member, Date.now()) };
        },
      }),
    ),
    route({
      method: 'post',
      path: '/api/v1/members/{username}/kick',
      summary: 'Remove a member below your highest role (KICK_MEMBERS). They are disconnected and may rejoin with an invite',
      tag: 'members',
      auth: 'user',
      body: ReasonBody,
      responses: { 204: null },
      errors: [403, 404],
      handler({ params, body, actor }) {
        guild.kick(actor, params.username, body.reason ?? '');
        return { status: 204 };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/members/{username}/timeout',
      summary: 'Time a member out (MODERATE_MEMBERS, below your highest role): no sending, reacting or speaking until it ends (at most 28 days)',
      tag: 'members',
      auth: 'user',
      body: TimeoutBody,
      responses: { 200: MemberView },
      errors: [403, 404],
      handler({ params, body, actor }) {
        const now = Date.now();
        // TimeoutBody holds exactly one of the two.
        const until = body.until !== undefined ? Date.parse(body.until) : now + body.duration_seconds! * 1000;
        const member = guild.timeout(actor, params.username, until, body.reason ?? '');
        return { status: 200, body: memberView(guild.snapshot(), member, now) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/members/{username}/timeout',
      summary: 'Lift a timeout (MODERATE_MEMBERS)',
      tag: 'members',
      auth: 'user',
      responses: { 200: MemberView },
      errors: [403, 404],
      handler({ params, actor }) {
        const member = guild.timeout(actor, params.username, null);
        return { status: 200, body: memberView(guild.snapshot(), member, Date.now()) };
      },
    }),
  ];
}
