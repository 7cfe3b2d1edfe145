import { describe, expect, it } from 'vitest';
import type { OnlineUser } from './ice-client.js';
import { buildPresence, isMuted } from './presence.js';

const user = (over: Partial<OnlineUser>): OnlineUser => ({
  session: 1,
  userId: 1,
  name: 'alice',
  channelId: 0,
  mute: false,
  deaf: false,
  suppress: false,
  selfMute: false,
  selfDeaf: false,
  ...over,
});

describe('buildPresence', () => {
  it('puts users in their channels, the root first, and marks Alloquy voice channels', () => {
    const p = buildPresence(
      [
        { id: 2, name: 'Raid', parentId: 0, position: 1, temporary: false },
        { id: 0, name: 'Root', parentId: -1, position: 0, temporary: false },
        { id: 1, name: 'General', parentId: 0, position: 0, temporary: false },
      ],
      [
        user({ session: 3, name: 'zed', channelId: 1, selfMute: true }),
        user({ session: 2, name: 'bob', channelId: 1 }),
        user({ session: 4, name: 'guest', userId: -1 }),
      ],
      new Set([1, 2]),
      123,
    );
    expect(p.at).toBe(123);
    expect(p.channels.map((c) => [c.name, c.parent_id, c.voice_channel, c.users.map((u) => u.username)])).toEqual([
      ['Root', null, false, ['guest']],
      ['General', 0, true, ['bob', 'zed']],
      ['Raid', 0, true, []],
    ]);
    expect(p.channels[0]!.users[0]!.registered).toBe(false);
    expect(p.channels[1]!.users[1]).toEqual({
      username: 'zed',
      registered: true,
      muted: false,
      deafened: false,
      self_muted: true,
      self_deafened: false,
      suppressed: false,
    });
  });

  it('keeps a user whose channel appeared between the two calls', () => {
    const p = buildPresence([{ id: 0, name: 'Root', parentId: -1, position: 0, temporary: false }], [user({ channelId: 9 })], new Set(), 0);
    expect(p.channels[1]).toMatchObject({ id: 9, users: [{ username: 'alice' }] });
  });
});

describe('isMuted', () => {
  it('counts anyone who cannot be heard', () => {
    const base = { username: 'a', registered: true, muted: false, deafened: false, self_muted: false, self_deafened: false, suppressed: false };
    expect(isMuted(base)).toBe(false);
    for (const k of ['muted', 'deafened', 'self_muted', 'self_deafened', 'suppressed'] as const) expect(isMuted({ ...base, [k]: true })).toBe(true);
  });
});
