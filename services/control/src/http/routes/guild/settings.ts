import { GuildPatch, GuildView, JoinBody, MemberView } from '@alloquy/protocol/http';
import type { GuildService } from '../../../guild/service.js';
import { route, type ControlRoute } from '../../route.js';
import { guildView } from '../../views/guild.js';
import { memberView } from '../../views/members.js';

/** The server's settings, and joining it. */
export function guildSettingsRoutes(guild: GuildService): ControlRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/guild',
      summary: 'The server: name, description, icon, settings, owner, and your permissions',
      tag: 'guild',
      auth: 'user',
      responses: { 200: GuildView },
      handler({ account, actor }) {
        return { status: 200, body: guildView(guild.snapshot(), guild.member(account) !== undefined, guild.permissionsOf(actor)) };
      },
    }),
    route({
      method: 'patch',
      path: '/api/v1/guild',
      summary: 'Change the server name, description, icon or ad-hoc channel setting (MANAGE_GUILD), or transfer ownership (owner or admin)',
      tag: 'guild',
      auth: 'user',
      body: GuildPatch,
      responses: { 200: GuildView },
      errors: [403, 404],
      handler({ body, account, actor }) {
        guild.updateSettings(actor, {
          name: body.name,
          description: body.description,
          icon: body.icon,
          adhocChannels: body.adhoc_channels,
          owner: body.owner,
        });
        return { status: 200, body: guildView(guild.snapshot(), guild.member(account) !== undefined, guild.permissionsOf(actor)) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/guild/join',
      summary: 'Join (or rejoin after a kick). Needs an invite unless registration is open; banned accounts cannot',
      tag: 'guild',
      auth: 'user',
      body: JoinBody,
      responses: { 200: MemberView },
      errors: [403],
      handler({ body, account }) {
        const member = guild.join(account, body.invite);
        return { status: 200, body: memberView(guild.snapshot(), member, Date.now()) };
      },
    }),
  ];
}
