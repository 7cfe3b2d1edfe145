import { describe, expect, it } from 'vitest';
import type { OnlineUser } from './ice-client.js';
import { grantSets, planVoiceCorrections, ROOT_CHANNEL, stillApplies, type VoiceGrantSets } from './voice-enforcement.js';

function user(session: number, userId: number, channelId: number, suppress = false): OnlineUser {
  return { session, userId, name: `u${session}`, channelId, mute: false, deaf: false, suppress, selfMute: false, selfDeaf: false };
}

// Murmur channel 5 is a voice channel: 101 may connect and speak, 102 may only connect.
const grants = new Map<number, VoiceGrantSets>([[5, grantSets({ connect: [101, 102], speak: [101], mute: [] })]]);

describe('planVoiceCorrections', () => {
  it('leaves alone whoever is where the ACL lets them be, heard or suppressed as it says', () => {
    expect(planVoiceCorrections([user(1, 101, 5), user(2, 102, 5, true)], grants)).toEqual([]);
  });

  it('moves to the root channel whoever is inside without CONNECT, anonymous users included', () => {
    expect(planVoiceCorrections([user(1, 103, 5), user(2, -1, 5, true)], grants)).toEqual([
      { kind: 'move', session: 1, name: 'u1', from: 5, to: ROOT_CHANNEL },
      { kind: 'move', session: 2, name: 'u2', from: 5, to: ROOT_CHANNEL },
    ]);
  });

  it('suppresses who may not speak, and lifts it for who may again', () => {
    expect(planVoiceCorrections([user(1, 101, 5, true), user(2, 102, 5, false)], grants)).toEqual([
      { kind: 'suppress', session: 1, name: 'u1', channelId: 5, suppress: false },
      { kind: 'suppress', session: 2, name: 'u2', channelId: 5, suppress: true },
    ]);
  });

  it('never touches SuperUser, or channels that are not Alloquy voice channels', () => {
    expect(planVoiceCorrections([user(1, 0, 5), user(2, 103, ROOT_CHANNEL), user(3, 102, 9, false)], grants)).toEqual([]);
  });
});

describe('planVoiceCorrections in the silent root channel', () => {
  it('suppresses whoever is in the root unsuppressed, members, outsiders and anonymous users alike', () => {
    expect(planVoiceCorrections([user(1, 101, ROOT_CHANNEL), user(2, 103, ROOT_CHANNEL), user(3, -1, ROOT_CHANNEL)], grants, true)).toEqual([
      { kind: 'suppress', session: 1, name: 'u1', channelId: ROOT_CHANNEL, suppress: true },
      { kind: 'suppress', session: 2, name: 'u2', channelId: ROOT_CHANNEL, suppress: true },
      { kind: 'suppress', session: 3, name: 'u3', channelId: ROOT_CHANNEL, suppress: true },
    ]);
  });

  it('never lifts a suppression there, never touches SuperUser, and leaves the root alone until it is the lobby', () => {
    expect(planVoiceCorrections([user(1, 101, ROOT_CHANNEL, true), user(2, 0, ROOT_CHANNEL)], grants, true)).toEqual([]);
    expect(planVoiceCorrections([user(1, 101, ROOT_CHANNEL)], grants, false)).toEqual([]);
    expect(planVoiceCorrections([user(1, 101, ROOT_CHANNEL)], new Map(), true)).toHaveLength(1);
  });

  it('still corrects the voice channels alongside', () => {
    expect(planVoiceCorrections([user(1, 103, 5), user(2, 101, ROOT_CHANNEL)], grants, true)).toEqual([
      { kind: 'move', session: 1, name: 'u1', from: 5, to: ROOT_CHANNEL },
      { kind: 'suppress', session: 2, name: 'u2', channelId: ROOT_CHANNEL, suppress: true },
    ]);
  });
});

describe('stillApplies', () => {
  it('holds while the user is still where the plan saw them, in the state it saw', () => {
    const [move] = planVoiceCorrections([user(1, 103, 5)], grants);
    expect(stillApplies(move!, user(1, 103, 5))).toBe(true);
    expect(stillApplies(move!, user(1, 103, ROOT_CHANNEL))).toBe(false);

    const [suppress] = planVoiceCorrections([user(2, 102, 5)], grants);
    expect(stillApplies(suppress!, user(2, 102, 5, false))).toBe(true);
    expect(stillApplies(suppress!, user(2, 102, 5, true))).toBe(false);
    expect(stillApplies(suppress!, user(2, 102, 9, false))).toBe(false);

    // Suppressing in the root: not once they moved on into a voice channel.
    const [lobby] = planVoiceCorrections([user(3, 101, ROOT_CHANNEL)], grants, true);
    expect(stillApplies(lobby!, user(3, 101, ROOT_CHANNEL, false))).toBe(true);
    expect(stillApplies(lobby!, user(3, 101, 5, false))).toBe(false);
  });
});
