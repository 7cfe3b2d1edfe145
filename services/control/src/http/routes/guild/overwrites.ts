import { ChannelView, OverwriteBody, OverwriteView } from '@alloquy/protocol/http';
import type { OverwriteType } from '@alloquy/protocol/permissions';
import { ControlError } from '../../../errors/control-error.js';
import type { GuildService } from '../../../guild/service.js';
import { route, type ControlRoute } from '../../route.js';
import { channelViewFor } from '../../views/channels.js';

/** Permission overwrites of a role or member in one channel; each answers with the channel. */
export function overwriteRoutes(guild: GuildService): ControlRoute[] {
  return [
    route({
      method: 'put',
      path: '/api/v1/channels/{channel}/overwrites/{type}/{target}',
      summary:
        'Set the permission overwrite of a role or member in a channel (type "role" or "member"; target id or name). Needs MANAGE_ROLES in the channel and every permission set',
      tag: 'channels',
      auth: 'user',
      body: OverwriteBody,
      responses: { 200: ChannelView },
      errors: [403, 404],
      handler({ params, body, actor }) {
        const channel = guild.setOverwrite(actor, params.channel, {
          type: overwriteType(params.type),
          target: params.target,
          allow: body.allow ?? 0n,
          deny: body.deny ?? 0n,
        });
        return { status: 200, body: channelViewFor(guild, actor, channel) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/channels/{channel}/overwrites/{type}/{target}',
      summary: 'Remove a permission overwrite from a channel',
      tag: 'channels',
      auth: 'user',
      responses: { 200: ChannelView },
      errors: [403, 404],
      handler({ params, actor }) {
        const channel = guild.deleteOverwrite(actor, params.channel, overwriteType(params.type), params.target);
        return { status: 200, body: channelViewFor(guild, actor, channel) };
      },
    }),
  ];
}

/** The `{type}` path segment: the same two words an overwrite's view says. */
function overwriteType(text: string): OverwriteType {
  const parsed = OverwriteView.shape.type.safeParse(text);
  if (!parsed.success) throw new ControlError('invalid_request', 'an overwrite type is "role" or "member"');
  return parsed.data;
}
