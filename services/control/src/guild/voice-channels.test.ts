/**
 * The relay's view of the voice channels: what the guild made, read straight from the table, and
 * Murmur's ids recorded for the guild to pick up on its next reload.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AccountService } from '../accounts/account-service.js';
import { AccessTokens } from '../accounts/tokens.js';
import { HistoryStore } from '../history/store.js';
import { openControlDatabase } from '../store/database.js';
import { GuildService, OPERATOR } from './service.js';
import { VoiceChannels } from './voice-channels.js';

let guild: GuildService | undefined;
afterEach(() => guild?.close());

function setup() {
  const db = openControlDatabase(':memory:');
  const accounts = new AccountService(db, {
    registration: 'open',
    accessTokens: new AccessTokens('x'.repeat(64), 'alloquy', 900),
    refreshTtlSeconds: 3600,
    maxFailuresPerAccount: 5,
    maxFailuresPerAddress: 5,
    failureWindowSeconds: 60,
  });
  guild = new GuildService(db, accounts, { history: new HistoryStore(db) });
  return { guild, channels: new VoiceChannels(db) };
}

describe('VoiceChannels', () => {
  it('starts with General; the guild makes voice channels, unique regardless of case, and validated', () => {
    const { guild, channels } = setup();
    expect(channels.list().map((c) => c.name)).toEqual(['General']);
    guild.createChannel(OPERATOR, { kind: 'voice', name: 'Raid Night' });
    const raid = channels.find('Raid Night')!;
    expect(raid).toMatchObject({ name: 'Raid Night', murmurChannelId: null });
    expect(() => guild.createChannel(OPERATOR, { kind: 'voice', name: 'raid night' })).toThrow(expect.objectContaining({ code: 'channel_taken' }));
    for (const bad of ['', ' lead', 'trail ', 'two  spaces', 'a/b', 'x'.repeat(49), '-dash']) {
      expect(() => guild.createChannel(OPERATOR, { kind: 'voice', name: bad }), bad).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    }
    guild.createChannel(OPERATOR, { kind: 'voice', name: 'Café (ünï)' });
    expect(channels.list().map((c) => c.name)).toEqual(['General', 'Raid Night', 'Café (ünï)']);
  });

  it("records Murmur's id of a voice channel (never of a text one); the guild sees it after a reload", () => {
    const { guild, channels } = setup();
    const raid = guild.createChannel(OPERATOR, { kind: 'voice', name: 'Raid Night' });
    channels.setMurmurChannelId(Number(raid.id), 5);
    expect(channels.find('RAID NIGHT')?.murmurChannelId).toBe(5);
    const general = guild.channel('general', 'text');
    channels.setMurmurChannelId(Number(general.id), 6);
    guild.reload();
    expect(guild.channel(raid.id).murmurChannelId).toBe(5);
    expect(guild.channel(general.id).murmurChannelId).toBeNull();
  });
});
