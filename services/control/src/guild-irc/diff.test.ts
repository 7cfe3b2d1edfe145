import { describe, expect, it } from 'vitest';

import { buildSnapshot, textChannel } from '../../test/guild-irc/snapshot-builder.js';
import { Permission } from '@alloquy/protocol/permissions';
import type { ModeChange } from '../irc-link/modes.js';
import { NetworkState, type NetworkChannel, type NetworkUser } from '../irc-link/network-state.js';
import { HubCapabilities } from '../irc-link/protocol.js';
import { desiredChannel, type DesiredChannel } from './desired.js';
import { KICK_REASONS, kickReason, planChannel, planForeignChannel, type DiffContext, type ModeLetters } from './diff.js';

const NOW = 1_750_000_000_000;
const { VIEW_CHANNEL, SEND_MESSAGES, MANAGE_MESSAGES } = Permission;

/** The hub's CAPAB CHANMODES with our config (InspIRCd 3.15). */
const capab = new HubCapabilities();
capab.accept([
  'CHANMODES',
  'list:ban=b list:banexception=e list:invex=I param-set:history=H param-set:limit=l param:key=k prefix:10000:voice=+v prefix:30000:op=@o simple:c_registered=r simple:inviteonly=i simple:moderated=m simple:noextmsg=n simple:private=p simple:reginvite=R simple:regmoderated=M simple:secret=s simple:topiclock=t',
]);
const kinds = capab.channelModeKinds();
const LETTERS: ModeLetters = {
  ban: 'b',
  banexception: 'e',
  invex: 'I',
  inviteonly: 'i',
  reginvite: 'R',
  noextmsg: 'n',
  topiclock: 't',
  history: 'H',
  op: 'o',
  voice: 'v',
};
const HOLDER = '0ASAAAAAB';

interface Person {
  uid: string;
  account: string | null;
}

/** A channel on a simulated hub: HistServ (holder) plus `people`, each with given prefixes. */
function network(people: Array<Person & { prefixes?: string }>, ts = 1_700_000_000) {
  const net = new NetworkState();
  const mk = (uid: string, account: string | null, server: string): NetworkUser => ({
    uid,
    nick: uid,
    nickTs: 1,
    ident: 'x',
    host: 'h',
    displayedHost: 'h',
    ip: '1.1.1.1',
    realname: 'r',
    account,
    server,
    signon: 1,
    channels: new Set(),
  });
  net.addUser(mk(HOLDER, null, '0AS'));
  for (const person of people) net.addUser(mk(person.uid, person.account, '1AL'));
  net.applyFjoin('#general', ts, [], [{ uid: HOLDER, prefixes: 'o' }, ...people.map((p) => ({ uid: p.uid, prefixes: p.prefixes ?? '' }))], kinds, 'x');
  return { net, channel: net.findChannel('#general')! };
}

function context(net: NetworkState, overrides: Partial<DiffContext> = {}): DiffContext {
  return {
    letters: LETTERS,
    user: (uid) => {
      const user = net.users.get(uid);
      return user ? { account: user.account, ours: user.server === '0AS' } : undefined;
    },
    holder: HOLDER,
    history: '50:7d',
    fitTopic: (topic) => topic.slice(0, 307),
    ...overrides,
  };
}

const add = (letter: string, param?: string): ModeChange => (param === undefined ? { adding: true, letter } : { adding: true, letter, param });
const del = (letter: string, param?: string): ModeChange => (param === undefined ? { adding: false, letter } : { adding: false, letter, param });

function general(options: Parameters<typeof buildSnapshot>[0]): DesiredChannel {
  const snapshot = buildSnapshot(options);
  return desiredChannel(
    snapshot,
    snapshot.channels.find((c) => c.name === 'general')!,
    NOW,
  );
}

/** Apply a plan to the simulated hub the way the link does, so a second plan can be checked. */
function apply(net: NetworkState, channel: NetworkChannel, plan: ReturnType<typeof planChannel>): void {
  for (const kick of plan.kicks) net.leaveChannel(channel.name, kick.uid);
  net.applyModes(channel, plan.modes, kinds, 'services', 1);
  if (plan.topic !== null) net.setTopic(channel.name, plan.topic, 1, 'HistServ');
}

describe('planChannel', () => {
  it('sets a freshly joined channel up completely, exceptions before bans before +i', () => {
    const desired = general({
      channels: [
        textChannel('general', [deny('1', VIEW_CHANNEL | SEND_MESSAGES), allow('2', VIEW_CHANNEL), allow('3', SEND_MESSAGES, 'member')], { topic: 'Welcome' }),
      ],
      roles: [{ id: '2', name: 'staff', position: 1, permissions: 0n }],
      members: [
        { username: 'alice', roleIds: ['2'], accountId: 3 },
        { username: 'bob', roleIds: ['2'], accountId: 4 },
      ],
    });
    const { net, channel } = network([]);
    const plan = planChannel(desired, channel, context(net));
    expect(plan.kicks).toEqual([]);
    expect(plan.modes).toEqual([
      add('e', 'm:R:alice'),
      add('I', 'R:alice'),
      add('I', 'R:bob'),
      add('b', 'm:*!*@*'),
      add('n'),
      add('t'),
      add('R'),
      add('i'),
      add('H', '50:7d'),
    ]);
    expect(plan.topic).toBe('Welcome');
  });

  it('is empty once applied: the same state never produces more lines', () => {
    const desired = general({
      members: [{ username: 'alice' }, { username: 'bob', timeoutUntil: NOW + 1000 }],
      outsiders: [{ accountId: 9, username: 'zed', why: 'banned' }],
    });
    const { net, channel } = network([{ uid: '1ALAAAAAA', account: 'alice', prefixes: 'o' }]);
    const first = planChannel(desired, channel, context(net));
    expect(first.modes.length).toBeGreaterThan(0);
    apply(net, channel, first);
    expect(planChannel(desired, channel, context(net))).toEqual({ kicks: [], modes: [], topic: null });
  });

  it('kicks users without an account, outside the guild or without VIEW_CHANNEL, and never our clients', () => {
    const desired = general({
      channels: [textChannel('general', [deny('2', VIEW_CHANNEL, 'member')])],
      members: [
        { username: 'alice', accountId: 1 },
        { username: 'bob', accountId: 2 },
      ],
    });
    const { net, channel } = network([
      { uid: '1ALAAAAAA', account: 'alice' },
      { uid: '1ALAAAAAB', account: 'BOB' },
      { uid: '1ALAAAAAC', account: null },
      { uid: '1ALAAAAAD', account: 'stranger' },
    ]);
    const plan = planChannel(desired, channel, context(net));
    expect(plan.kicks).toEqual([
      { uid: '1ALAAAAAB', reason: KICK_REASONS.noView },
      { uid: '1ALAAAAAC', reason: KICK_REASONS.noAccount },
      { uid: '1ALAAAAAD', reason: KICK_REASONS.notMember },
    ]);
    expect(kickReason(desired, { account: null, ours: true })).toBeNull();
  });

  it('ops MANAGE_MESSAGES holders, deops the rest, keeps HistServ opped and takes voice from the muted', () => {
    const desired = general({
      roles: [{ id: '2', name: 'mods', position: 1, permissions: MANAGE_MESSAGES }],
      members: [{ username: 'mod', roleIds: ['2'] }, { username: 'pleb' }, { username: 'quiet', timeoutUntil: NOW + 5000 }],
    });
    const { net, channel } = network([
      { uid: '1ALAAAAAA', account: 'mod' },
      { uid: '1ALAAAAAB', account: 'pleb', prefixes: 'ov' },
      { uid: '1ALAAAAAC', account: 'quiet', prefixes: 'v' },
    ]);
    net.applyModes(channel, [del('o', HOLDER), add('n'), add('t'), add('R'), add('H', '5:1d'), add('b', 'm:R:quiet')], kinds, 'x', 1);
    const plan = planChannel(desired, channel, context(net, { fitTopic: () => '' }));
    expect(plan.modes).toEqual([add('o', HOLDER), add('o', '1ALAAAAAA'), del('o', '1ALAAAAAB'), del('v', '1ALAAAAAC')]);
  });

  it('removes stale services entries only, never masks set by hand', () => {
    const desired = general({ members: [{ username: 'alice' }] });
    const { net, channel } = network([]);
    net.applyModes(
      channel,
      [
        add('n'),
        add('t'),
        add('R'),
        add('H', '50:1w'),
        add('b', 'R:alice'),
        add('b', '*!*@bad.host'),
        add('b', 'm:troll!*@*'),
        add('e', 'm:R:x'),
        add('e', 'friend!*@*'),
        add('I', 'R:alice'),
        add('i'),
      ],
      kinds,
      'x',
      1,
    );
    const plan = planChannel(desired, channel, context(net, { fitTopic: () => '' }));
    expect(plan.modes).toEqual([del('i'), del('e', 'm:R:x'), del('I', 'R:alice'), del('b', 'R:alice'), del('b', 'm:troll!*@*')]);
  });

  it('opens a private channel by banning first, then -i, then dropping the guest list', () => {
    const desired = general({
      channels: [textChannel('general', [deny('2', VIEW_CHANNEL, 'member')])],
      members: [
        { username: 'alice', accountId: 1 },
        { username: 'bob', accountId: 2 },
      ],
    });
    const { net, channel } = network([]);
    net.applyModes(channel, [add('n'), add('t'), add('R'), add('H', '1:1d'), add('i'), add('I', 'R:alice')], kinds, 'x', 1);
    expect(planChannel(desired, channel, context(net, { fitTopic: () => '' })).modes).toEqual([add('b', 'R:bob'), del('i'), del('I', 'R:alice')]);
  });

  it('leaves a history mode that is already set alone, and sets none when told not to', () => {
    const desired = general({});
    const { net, channel } = network([]);
    net.applyModes(channel, [add('n'), add('t'), add('R'), add('H', '10:1h')], kinds, 'x', 1);
    expect(planChannel(desired, channel, context(net, { fitTopic: () => '' })).modes).toEqual([]);
    net.applyModes(channel, [del('H')], kinds, 'x', 1);
    expect(planChannel(desired, channel, context(net, { fitTopic: () => '', history: null })).modes).toEqual([]);
  });

  it('skips what the hub has no mode for', () => {
    const desired = general({ channels: [textChannel('general', [deny('1', SEND_MESSAGES)])], members: [{ username: 'alice', isAdmin: true }] });
    const { net, channel } = network([]);
    const letters: ModeLetters = { ban: 'b', noextmsg: 'n' };
    expect(planChannel(desired, channel, context(net, { letters, fitTopic: () => '' })).modes).toEqual([add('b', 'm:*!*@*'), add('n')]);
  });

  it('compares the topic as the hub will store it', () => {
    const desired = general({ channels: [textChannel('general', [], { topic: 'x'.repeat(400) })] });
    const { net, channel } = network([]);
    net.setTopic('#general', 'x'.repeat(307), 1, 'HistServ');
    expect(planChannel(desired, channel, context(net)).topic).toBeNull();
  });

  it('converges from random states in one pass', () => {
    let seed = 0xbeef;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const names = ['ann', 'ben', 'cat', 'dan', 'eve'];
    for (let round = 0; round < 300; round++) {
      const overwrites = names
        .filter(() => random() < 0.3)
        .map((_, i) => ({ type: 'member' as const, id: String(i + 1), allow: 0n, deny: random() < 0.5 ? VIEW_CHANNEL : SEND_MESSAGES }));
      if (random() < 0.3) overwrites.push({ type: 'member', id: '1', allow: 0n, deny: 0n });
      const everyone = random() < 0.3 ? deny('1', random() < 0.5 ? VIEW_CHANNEL : SEND_MESSAGES) : null;
      const desired = general({
        channels: [textChannel('general', everyone ? [everyone, ...overwrites] : overwrites, { topic: random() < 0.5 ? 'topic' : '' })],
        roles: [{ id: '2', name: 'mods', position: 1, permissions: MANAGE_MESSAGES | (random() < 0.5 ? VIEW_CHANNEL | SEND_MESSAGES : 0n) }],
        members: names.map((username, i) => ({
          username,
          accountId: i + 1,
          roleIds: random() < 0.4 ? ['2'] : [],
          timeoutUntil: random() < 0.2 ? NOW + 1 : null,
        })),
        outsiders: random() < 0.5 ? [{ accountId: 99, username: 'out', why: 'kicked' }] : [],
      });
      const present = names
        .filter(() => random() < 0.6)
        .map((account, i) => ({ uid: `1ALAAAAA${i}`, account, prefixes: random() < 0.3 ? 'o' : random() < 0.3 ? 'v' : '' }));
      const { net, channel } = network([...present, { uid: '1ALAAAAAZ', account: random() < 0.5 ? null : 'nobody' }]);
      const noise = [add('i'), add('b', 'R:ann'), add('b', 'm:*!*@*'), add('e', 'm:R:ben'), add('I', 'R:cat'), add('b', 'keep!*@*'), add('H', '2:1d')].filter(
        () => random() < 0.4,
      );
      net.applyModes(channel, noise, kinds, 'x', 1);
      const plan = planChannel(desired, channel, context(net));
      apply(net, channel, plan);
      expect(planChannel(desired, channel, context(net)), `round ${round}`).toEqual({ kicks: [], modes: [], topic: null });
      // Hand-set masks survive; everybody left may view.
      if (noise.some((change) => change.param === 'keep!*@*')) expect(channel.lists.get('b')?.has('keep!*@*')).toBe(true);
      for (const uid of channel.members.keys()) {
        if (uid === HOLDER) continue;
        expect(desired.access.get(net.users.get(uid)!.account!)?.view).toBe(true);
      }
    }
  });
});

describe('planForeignChannel', () => {
  it('a channel removed from the guild: HistServ leaves and everybody else is shown out', () => {
    const { net, channel } = network([
      { uid: '1ALAAAAAA', account: 'alice' },
      { uid: '1ALAAAAAB', account: null },
    ]);
    expect(planForeignChannel(channel, context(net), false)).toEqual({
      kicks: [
        { uid: '1ALAAAAAA', reason: KICK_REASONS.removed },
        { uid: '1ALAAAAAB', reason: KICK_REASONS.removed },
      ],
      part: true,
    });
    expect(planForeignChannel(channel, context(net), true)).toEqual({ kicks: [], part: true });
  });

  it('an ad-hoc channel is closed while they are disabled, and left alone when allowed', () => {
    const { net, channel } = network([{ uid: '1ALAAAAAA', account: 'alice' }]);
    net.leaveChannel('#general', HOLDER);
    expect(planForeignChannel(channel, context(net), false)).toEqual({ kicks: [{ uid: '1ALAAAAAA', reason: KICK_REASONS.adhoc }], part: false });
    expect(planForeignChannel(channel, context(net), true)).toEqual({ kicks: [], part: false });
  });
});

function deny(id: string, bits: bigint, type: 'role' | 'member' = 'role') {
  return { type, id, allow: 0n, deny: bits };
}

function allow(id: string, bits: bigint, type: 'role' | 'member' = 'role') {
  return { type, id, allow: bits, deny: 0n };
}
