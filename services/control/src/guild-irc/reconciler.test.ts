/**
 * The reconciler's own timing and event logic, against the scripted hub and a guild source
 * that publishes hand-made snapshots: coalescing, the timeout-expiry guard (which the real
 * GuildService never lets fire, since it republishes at expiry itself), topic callbacks that
 * are slow or fail, and kicks/bans announced before the change. Enforcement against the real
 * InspIRCd and GuildService is test/guild-irc/enforcement.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { FakeHub } from '../../test/irc-link/fake-hub.js';
import { TestAuthenticator } from '../../test/irc-link/test-authenticator.js';
import { buildSnapshot, textChannel } from '../../test/guild-irc/snapshot-builder.js';
import { FixtureGuild } from '../../test/history/guild-fixture.js';
import type { GuildSnapshot } from '../guild/model.js';
import { ServicesLink } from '../irc-link/link.js';
import { removalReason, startGuildIrcEnforcement, type GuildIrcEnforcement, type TopicFromIrc } from './reconciler.js';

const CHANMODES =
  'list:ban=b list:banexception=e list:invex=I param-set:history=H param-set:limit=l param:key=k prefix:10000:voice=+v prefix:30000:op=@o simple:inviteonly=i simple:noextmsg=n simple:reginvite=R simple:topiclock=t';
const TS = 1_700_000_000;
const BURST = [
  `:1HB UID 1HBAAAAAA ${TS} alice 10.0.0.1 cloak.a alice 10.0.0.1 ${TS} +i :Alice`,
  `:1HB METADATA 1HBAAAAAA accountname :alice`,
  `:1HB UID 1HBAAAAAB ${TS} bob 10.0.0.2 cloak.b bob 10.0.0.2 ${TS} +i :Bob`,
  `:1HB METADATA 1HBAAAAAB accountname :bob`,
  `:1HB FJOIN #general ${TS} +nt :1HBAAAAAA 1HBAAAAAB`,
];

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(snapshot: GuildSnapshot, onTopicFromIrc?: TopicFromIrc, extra: { burst?: string[]; ownedElsewhere?: (name: string) => boolean } = {}) {
  const hub = new FakeHub({ password: 'pw-secret', burst: [...BURST, ...(extra.burst ?? [])], chanmodes: CHANMODES });
  await hub.listen();
  cleanups.push(() => hub.close());
  const link = new ServicesLink({
    host: '127.0.0.1',
    port: hub.port,
    password: 'pw-secret',
    serverName: 'services.test.local',
    sid: '0AS',
    authenticator: new TestAuthenticator(new Map()),
  });
  cleanups.push(() => link.stop());
  const holder = link.addPseudoClient({ nick: 'HistServ' });
  const guild = new FixtureGuild(snapshot);
  const errors: Array<{ obj: object; msg?: string }> = [];
  const enforcement: GuildIrcEnforcement = startGuildIrcEnforcement({
    link,
    guild,
    holder,
    log: { debug() {}, info() {}, warn() {}, error: (obj, msg) => errors.push({ obj, ...(msg === undefined ? {} : { msg }) }) },
    ...(onTopicFromIrc ? { onTopicFromIrc } : {}),
    ...(extra.ownedElsewhere ? { ownedElsewhere: extra.ownedElsewhere } : {}),
  });
  cleanups.push(() => enforcement.stop());
  const up = new Promise((resolve) => link.once('up', resolve));
  link.start();
  await up;
  await enforcement.settled();
  await barrier(hub, link);
  return { hub, link, holder, guild, enforcement, errors };
}

/** Lines the hub got from us since `from`, without PINGs. */
function sent(hub: FakeHub, from: number): string[] {
  return hub.lastConnection.slice(from).filter((line) => !/ PING | PONG /.test(line));
}

/** Resolves once the hub has read everything the link sent so far (TCP keeps order). */
async function barrier(hub: FakeHub, link: ServicesLink): Promise<void> {
  const marker = `barrier${Math.random().toString(36).slice(2)}`;
  const seen = hub.waitForLine((line) => line.endsWith(marker));
  link.send({ source: '0AS', command: 'PING', params: [marker] });
  await seen;
}

describe('the reconciler', () => {
  it("takes a channel over after the burst: HistServ in at the hub's TS, modes, topic", async () => {
    const { hub, holder, errors } = await setUp(
      buildSnapshot({
        channels: [textChannel('general', [], { topic: 'Hi', createdAt: (TS + 500) * 1000 })],
        members: [{ username: 'alice' }, { username: 'bob' }],
      }),
    );
    // This hub advertises no EXTBANS: services say what cannot be enforced, and carry on.
    expect(errors).toEqual([{ obj: { missingExtbans: ['R', 'm'], missingModes: [] }, msg: expect.stringMatching(/services_account, muteban/) }]);
    const lines = hub.lastConnection;
    const fjoin = lines.findIndex((line) => line.includes(' FJOIN '));
    // The hub's TS is older than ours: we take it, so its modes and history survive.
    expect(lines[fjoin]).toBe(`:0AS FJOIN #general ${TS} + o,${holder.uid}`);
    expect(sent(hub, fjoin + 1)).toEqual([
      `:0AS FMODE #general ${TS} +RH 50:7d`,
      expect.stringMatching(new RegExp(`^:0AS FTOPIC #general ${TS} [0-9]+ HistServ Hi$`)),
    ]);
  });

  it('coalesces a burst of guild changes into one run', async () => {
    const base = { members: [{ username: 'alice' }, { username: 'bob' }] };
    const { hub, link, guild, enforcement } = await setUp(buildSnapshot(base));
    const runs = enforcement.counters().runs;
    const from = hub.lastConnection.length;
    for (let i = 0; i < 50; i++) guild.set(buildSnapshot({ ...base, version: i + 2, channels: [textChannel('general', [], { topic: `t${i}` })] }));
    await enforcement.settled();
    await barrier(hub, link);
    expect(enforcement.counters().runs - runs).toBe(1);
    expect(sent(hub, from).filter((line) => line.includes('FTOPIC'))).toEqual([expect.stringMatching(/ :?t49$/)]);
  });

  it('lifts a mute when a timeout ends even if the guild does not republish', async () => {
    const until = Date.now() + 400;
    const { hub } = await setUp(buildSnapshot({ members: [{ username: 'alice' }, { username: 'bob', timeoutUntil: until }] }));
    expect(hub.lastConnection.some((line) => line.includes('FMODE #general') && line.includes('m:R:bob') && /\+\S*b/.test(line))).toBe(true);
    const lifted = await hub.waitForLine((line) => line === `:0AS FMODE #general ${TS} -b m:R:bob`, 5000);
    expect(lifted).toBeTruthy();
    expect(Date.now()).toBeGreaterThanOrEqual(until);
  });

  it('waits for a slow topic callback instead of reverting, and reverts when it fails', async () => {
    let release!: (value?: unknown) => void;
    let fail = false;
    const calls: Array<[string, string, string]> = [];
    const editors = { roles: [{ id: '2', name: 'editors', position: 1, permissions: 1n << 2n }] };
    const snapshot = buildSnapshot({ ...editors, members: [{ username: 'alice', roleIds: ['2'] }, { username: 'bob' }] });
    const { hub, link, guild } = await setUp(snapshot, async (account, channel, topic) => {
      calls.push([account, channel.name, topic]);
      await new Promise((resolve) => (release = resolve));
      if (fail) throw new Error('refused by the model');
      guild.set(
        buildSnapshot({
          ...editors,
          version: 5,
          channels: [{ ...snapshot.channels[0]!, topic }],
          members: [{ username: 'alice', roleIds: ['2'] }, { username: 'bob' }],
        }),
      );
    });
    let from = hub.lastConnection.length;
    hub.sendLine(`:1HBAAAAAA FTOPIC #general ${TS} ${Math.floor(Date.now() / 1000)} :From IRC`);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await barrier(hub, link);
    expect(calls).toEqual([['alice', 'general', 'From IRC']]);
    expect(sent(hub, from).filter((line) => line.includes('FTOPIC'))).toEqual([]);
    release();
    await new Promise((resolve) => setTimeout(resolve, 150));
    await barrier(hub, link);
    expect(sent(hub, from).filter((line) => line.includes('FTOPIC'))).toEqual([]);

    fail = true;
    from = hub.lastConnection.length;
    hub.sendLine(`:1HBAAAAAA FTOPIC #general ${TS} ${Math.floor(Date.now() / 1000) + 1} :Rejected`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    const revert = await hub.waitForLine((line) => line.includes('FTOPIC #general'));
    expect(revert).toMatch(/ :From IRC$/);

    // Someone without MANAGE_CHANNELS: reverted at once, the callback is not asked.
    hub.sendLine(`:1HBAAAAAB FTOPIC #general ${TS} ${Math.floor(Date.now() / 1000) + 3} :bob's topic`);
    expect(await hub.waitForLine((line) => line.includes('FTOPIC #general'))).toMatch(/ :From IRC$/);
    expect(calls).toHaveLength(2);
  });

  it('shows a kicked or banned member out of guild channels with who and why, and bans the account at once', async () => {
    const { hub, guild, holder } = await setUp(buildSnapshot({ members: [{ username: 'alice' }, { username: 'bob' }] }));
    const kick = hub.waitForLine((line) => line.includes(' KICK '));
    const removal = { accountId: 2, username: 'bob', kind: 'ban' as const, reason: 'spam', by: 'alice' };
    const ban = hub.waitForLine((line) => line === `:0AS FMODE #general ${TS} +b R:bob`);
    guild.emit('memberRemoved', removal);
    expect(await ban).toBeTruthy();
    expect(await kick).toBe(`:${holder.uid} KICK #general 1HBAAAAAB :Banned by alice: spam`);
    expect(removalReason({ ...removal, kind: 'kick', reason: '' })).toBe('Kicked by alice');
  });

  it('closes channels outside the guild, except those something else owns', async () => {
    const { hub } = await setUp(buildSnapshot({ members: [{ username: 'alice' }, { username: 'bob' }] }), undefined, {
      burst: [`:1HB FJOIN #random ${TS} +nt :1HBAAAAAA`, `:1HB FJOIN #dm-1 ${TS} +nt :1HBAAAAAA 1HBAAAAAB`],
      ownedElsewhere: (name) => name.startsWith('#dm-'),
    });
    const kicks = hub.lastConnection.filter((line) => line.includes(' KICK '));
    expect(kicks).toEqual([expect.stringMatching(/ KICK #random 1HBAAAAAA :Channels outside the guild are disabled on this server$/)]);
  });
});
