import { BanList, ReasonBody } from '@alloquy/protocol/http';
import type { GuildService } from '../../../guild/service.js';
import { route, type ControlRoute } from '../../route.js';
import { banView } from '../../views/bans.js';

/** Bans, by username: an account is banned whether or not it is a member. */
export function banRoutes(guild: GuildService): ControlRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/bans',
      summary: 'Banned accounts (BAN_MEMBERS)',
      tag: 'members',
      auth: 'user',
      responses: { 200: BanList },
      errors: [403],
      handler({ actor }) {
        return { status: 200, body: { bans: guild.listBans(actor).map(banView) } };
      },
    }),
    route({
      method: 'put',
      path: '/api/v1/bans/{username}',
      summary: 'Ban an account (BAN_MEMBERS; a member must rank below you): it is disconnected and cannot rejoin',
      tag: 'members',
      auth: 'user',
      body: ReasonBody,
      responses: { 204: null },
      errors: [403, 404],
      handler({ params, body, actor }) {
        guild.ban(actor, params.username, body.reason ?? '');
        return { status: 204 };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/bans/{username}',
      summary: 'Lift a ban (BAN_MEMBERS); the account may then rejoin with an invite',
      tag: 'members',
      auth: 'user',
      responses: { 204: null },
      errors: [403, 404],
      handler({ params, actor }) {
        guild.unban(actor, params.username);
        return { status: 204 };
      },
    }),
  ];
}
