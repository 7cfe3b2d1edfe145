import { ChannelCreate, ChannelList, ChannelPatch, ChannelView } from '@alloquy/protocol/http';
import { Permission, has } from '@alloquy/protocol/permissions';
import { ControlError } from '../../../errors/control-error.js';
import type { Channel } from '../../../guild/model.js';
import type { Actor, GuildService } from '../../../guild/service.js';
import type { MurmurRelay } from '../../../murmur/relay.js';
import { route, type ControlRoute } from '../../route.js';
import { channelViewFor } from '../../views/channels.js';

export interface ChannelRouteDeps {
  guild: GuildService;
  /** Voice channels are made (renamed, removed) in Murmur at once when there is a relay. */
  relay: Pick<MurmurRelay, 'syncChannels'> | undefined;
}

/** Text and voice channels. Their permission overwrites are in overwrites.ts. */
export function channelRoutes({ guild, relay }: ChannelRouteDeps): ControlRoute[] {
  /** Murmur down: the channel is recorded, and made by the sync that follows its return. */
  const syncVoice = async (channel: Pick<Channel, 'kind'>): Promise<void> => {
    if (relay && channel.kind === 'voice') await relay.syncChannels().catch(() => undefined);
  };

  /**
   * The view of a channel the caller can see, by id or name; hidden ones are as absent as missing
   * ones. VIEW_CHANNEL in this one channel is what `channelsInView` checks in each.
   */
  const visibleChannelView = (actor: Actor, ref: string): ChannelView => {
    const found = guild.findChannel(ref);
    if (found) {
      const perms = guild.permissionsOf(actor, found);
      if (has(perms, Permission.VIEW_CHANNEL)) return channelViewFor(guild, actor, found, perms);
    }
    throw new ControlError('not_found', `no channel "${ref}"`);
  };

  return [
    route({
      method: 'get',
      path: '/api/v1/channels',
      summary: 'The text and voice channels you can see (VIEW_CHANNEL), with your permissions in each',
      tag: 'channels',
      auth: 'user',
      responses: { 200: ChannelList },
      handler({ actor }) {
        return { status: 200, body: { channels: guild.channelsInView(actor).map((v) => channelViewFor(guild, actor, v.channel, v.permissions)) } };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/channels',
      summary: 'Create a text or voice channel (MANAGE_CHANNELS). Voice channels are created in Murmur at once',
      tag: 'channels',
      auth: 'user',
      body: ChannelCreate,
      responses: { 201: ChannelView },
      errors: [403, 404, 409],
      async handler({ body, actor }) {
        const created = guild.createChannel(actor, {
          kind: body.kind,
          name: body.name,
          topic: body.topic,
          categoryId: body.category,
          position: body.position,
        });
        await syncVoice(created);
        return { status: 201, body: channelViewFor(guild, actor, guild.channel(created.id)) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/channels/{channel}',
      summary: 'One channel you can see, by id or name (text names without "#")',
      tag: 'channels',
      auth: 'user',
      responses: { 200: ChannelView },
      errors: [404],
      handler({ params, actor }) {
        return { status: 200, body: visibleChannelView(actor, params.channel) };
      },
    }),
    route({
      method: 'patch',
      path: '/api/v1/channels/{channel}',
      summary: 'Rename a channel, set its topic, position or category (MANAGE_CHANNELS in it). A renamed text channel keeps its history',
      tag: 'channels',
      auth: 'user',
      body: ChannelPatch,
      responses: { 200: ChannelView },
      errors: [403, 404, 409],
      async handler({ params, body, actor }) {
        const updated = guild.updateChannel(actor, params.channel, {
          name: body.name,
          topic: body.topic,
          position: body.position,
          categoryId: body.category,
        });
        await syncVoice(updated);
        return { status: 200, body: channelViewFor(guild, actor, guild.channel(updated.id)) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/channels/{channel}',
      summary: 'Delete a channel (MANAGE_CHANNELS in it)',
      tag: 'channels',
      auth: 'user',
      responses: { 204: null },
      errors: [403, 404],
      async handler({ params, actor }) {
        const channel = guild.channel(params.channel);
        guild.deleteChannel(actor, channel.id);
        await syncVoice(channel);
        return { status: 204 };
      },
    }),
  ];
}
