import { describe, expect, it } from 'vitest';
import { Permission } from '../../permissions/index.js';
import { ChannelList, ChannelView, OverwriteBody } from './channels.js';

/** What `GET /api/v1/channels/general` answers a moderator (overwrites included). */
const general = {
  id: '1',
  kind: 'text',
  name: 'general',
  irc_name: '#general',
  topic: 'Say hello',
  position: 0,
  category: { id: '1', name: 'Text channels' },
  murmur_channel_id: null,
  created_at: '2025-01-02T03:04:05.000Z',
  permissions: '196614',
  permission_names: ['VIEW_CHANNEL', 'MANAGE_CHANNELS', 'SEND_MESSAGES', 'READ_HISTORY'],
  overwrites: [
    { type: 'role', id: '2', name: 'muted', allow: '0', allow_names: [], deny: '65536', deny_names: ['SEND_MESSAGES'] },
    { type: 'member', id: '7', name: null, allow: '2', allow_names: ['VIEW_CHANNEL'], deny: '0', deny_names: [] },
  ],
};

/** A member without MANAGE_ROLES or MANAGE_CHANNELS gets no overwrites; a voice channel has no IRC name. */
const lobby = {
  id: '2',
  kind: 'voice',
  name: 'Lobby',
  irc_name: null,
  topic: '',
  position: 1,
  category: null,
  murmur_channel_id: 3,
  created_at: '2025-01-02T03:04:06.000Z',
  permissions: '2',
  permission_names: ['VIEW_CHANNEL'],
};

describe('ChannelView', () => {
  it('parses what the server answers, with and without overwrites', () => {
    expect(ChannelView.parse(general)).toEqual(general);
    expect(ChannelList.parse({ channels: [general, lobby] }).channels.map((c) => c.overwrites?.length)).toEqual([2, undefined]);
  });

  it('refuses an answer of another shape', () => {
    expect(ChannelView.safeParse({ ...lobby, kind: 'stage' }).success).toBe(false);
    expect(ChannelView.safeParse({ ...lobby, position: 1.5 }).success).toBe(false);
    const { murmur_channel_id: _, ...withoutMurmurId } = lobby;
    expect(ChannelView.safeParse(withoutMurmurId).success).toBe(false);
    expect(ChannelView.safeParse({ ...general, overwrites: [{ ...general.overwrites[0], type: 'everyone' }] }).success).toBe(false);
  });
});

describe('OverwriteBody', () => {
  it('reads either form of a permission set and leaves out what is not given', () => {
    expect(OverwriteBody.parse({ allow: ['VIEW_CHANNEL'], deny: '65536' })).toEqual({ allow: Permission.VIEW_CHANNEL, deny: Permission.SEND_MESSAGES });
    expect(OverwriteBody.parse({})).toEqual({});
  });

  it('refuses unknown fields', () => {
    expect(OverwriteBody.safeParse({ allow: '2', grant: '2' }).success).toBe(false);
  });
});
