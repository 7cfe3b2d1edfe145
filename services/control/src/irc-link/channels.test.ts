/**
 * ServicesLink's services-side channel work against a scripted hub: extra pseudo-clients, the
 * channel operations services send (FJOIN/FMODE/FTOPIC/KICK/PART, mirrored into NetworkState
 * because the hub never echoes them), the channel state and events built from what the hub
 * sends, and fuzzing of FJOIN/FMODE parsing. The real InspIRCd side is covered by
 * test/guild-irc/enforcement.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { FakeHub } from '../../test/irc-link/fake-hub.js';
import { TestAuthenticator } from '../../test/irc-link/test-authenticator.js';
import type { ChannelEvent } from './handlers.js';
import { ServicesLink } from './link.js';
import type { NetworkState } from './network-state.js';

const PASSWORD = 'link-secret';
const TS = 1_700_000_000;
const BURST = [
  `:1HB UID 1HBAAAAAA ${TS} alice 10.0.0.1 cloak.a alice 10.0.0.1 ${TS} +i :Alice`,
  `:1HB METADATA 1HBAAAAAA accountname :alice`,
  `:1HB UID 1HBAAAAAB ${TS} bob 10.0.0.2 cloak.b bob 10.0.0.2 ${TS} +i :Bob`,
  `:1HB FJOIN #room ${TS} +ntl 25 :o,1HBAAAAAA:0 1HBAAAAAB:4`,
  `:1HB FMODE #room ${TS} +bb R:carol m:R:bob`,
  `:1HB FTOPIC #room ${TS} ${TS + 5} alice :the topic`,
];

const links: ServicesLink[] = [];
const hubs: FakeHub[] = [];

afterEach(async () => {
  for (const link of links.splice(0)) await link.stop();
  for (const hub of hubs.splice(0)) await hub.close();
});

async function upLink(prepare?: (link: ServicesLink) => void): Promise<{ hub: FakeHub; link: ServicesLink }> {
  const hub = new FakeHub({ password: PASSWORD, burst: BURST });
  hubs.push(hub);
  await hub.listen();
  const link = new ServicesLink({
    host: '127.0.0.1',
    port: hub.port,
    password: PASSWORD,
    serverName: 'services.test.local',
    sid: '0AS',
    authenticator: new TestAuthenticator(new Map()),
    reconnectInitialDelayMs: 20,
    reconnectMaxDelayMs: 100,
    random: () => 1,
  });
  links.push(link);
  prepare?.(link);
  const up = new Promise((resolve) => link.once('up', resolve));
  link.start();
  await up;
  return { hub, link };
}

function collect(link: ServicesLink): ChannelEvent[] {
  const events: ChannelEvent[] = [];
  link.on('channel', (event) => events.push(event));
  return events;
}

describe('pseudo-clients', () => {
  it('introduces clients registered before the link in the burst, after the agent', async () => {
    let histserv!: ReturnType<ServicesLink['addPseudoClient']>;
    const { hub, link } = await upLink((l) => {
      histserv = l.addPseudoClient({ nick: 'HistServ', realname: 'Alloquy history' });
    });
    expect(histserv.uid).toBe('0ASAAAAAB');
    const uids = hub.lastConnection.filter((line) => line.startsWith(':0AS UID '));
    expect(uids[0]).toMatch(/^:0AS UID 0ASAAAAAA 946684800 Alloquy /);
    expect(uids[1]).toMatch(
      /^:0AS UID 0ASAAAAAB 946684800 HistServ services\.test\.local services\.test\.local histserv 0\.0\.0\.0 [0-9]+ \+kB :Alloquy history$/,
    );
    expect(link.network.users.get(histserv.uid)).toMatchObject({ nick: 'HistServ', server: '0AS', account: null });
    expect(link.isOurClient(histserv.uid)).toBe(true);
    // Our own clients are not users the hub told us about.
    expect(link.status().usersKnown).toBe(2);
  });

  it('introduces a client registered while linked at once, and again in the next burst', async () => {
    const { hub, link } = await upLink();
    const introduced = hub.waitForLine((line) => line.startsWith(':0AS UID 0ASAAAAAB 946684800 Bot '));
    const bot = link.addPseudoClient({ nick: 'Bot', ident: 'bot' });
    await introduced;
    expect(link.pseudoClient(bot.uid)?.nick).toBe('Bot');
    const again = hub.waitForLine((line) => line.startsWith(':0AS UID 0ASAAAAAB '));
    const up = new Promise((resolve) => link.once('up', resolve));
    hub.dropConnection();
    await again;
    await up;
  });

  it('reintroduces a killed client, drops its memberships and says so', async () => {
    const { hub, link } = await upLink();
    const histserv = link.addPseudoClient({ nick: 'HistServ' });
    expect(link.joinChannel(histserv.uid, '#room', TS, 'o')).toBe(true);
    const reintroduced = new Promise((resolve) => link.once('reintroduced', resolve));
    const line = hub.waitForLine((l) => l.startsWith(`:0AS UID ${histserv.uid} `));
    hub.sendLine(`:1HBAAAAAA KILL ${histserv.uid} :bye`);
    await line;
    expect(((await reintroduced) as { uid: string }).uid).toBe(histserv.uid);
    expect(link.network.findChannel('#room')!.members.has(histserv.uid)).toBe(false);
    expect(link.network.users.get(histserv.uid)!.channels.size).toBe(0);
    const idle = hub.waitForLine((l) => l.startsWith(`:${histserv.uid} IDLE 1HBAAAAAA `));
    hub.sendLine(`:1HBAAAAAA IDLE ${histserv.uid}`);
    await idle;
  });

  it('follows a lost nick collision (SAVE) for any of its clients', async () => {
    const { hub, link } = await upLink();
    const histserv = link.addPseudoClient({ nick: 'HistServ' });
    hub.sendLine(`:1HB SAVE ${histserv.uid} 946684800`);
    await waitUntil(() => histserv.nick === histserv.uid);
    expect(link.network.users.get(histserv.uid)!.nick).toBe(histserv.uid);
  });

  it('refuses invalid and duplicate nicks', async () => {
    const { link } = await upLink();
    expect(() => link.addPseudoClient({ nick: 'has space' })).toThrow(/nick/);
    expect(() => link.addPseudoClient({ nick: '9starts' })).toThrow(/nick/);
    expect(() => link.addPseudoClient({ nick: 'Ok', ident: 'bad ident' })).toThrow(/ident/);
    expect(() => link.addPseudoClient({ nick: 'alloquy' })).toThrow(/taken/);
  });

  it('emits private messages to a pseudo-client with its UID as the target', async () => {
    const { hub, link } = await upLink();
    const histserv = link.addPseudoClient({ nick: 'HistServ' });
    const received = new Promise((resolve) => link.once('message', resolve));
    hub.sendLine(`@time=2026-01-01T00:00:00.000Z;msgid=x1 :1HBAAAAAA PRIVMSG ${histserv.uid} :search foo`);
    expect(await received).toMatchObject({ command: 'PRIVMSG', source: '1HBAAAAAA', target: histserv.uid, text: 'search foo' });
  });
});

describe('channel state from the hub', () => {
  it('builds modes, lists, prefixes and topic from the burst', async () => {
    const { link } = await upLink();
    const room = link.network.findChannel('#room')!;
    expect(room.ts).toBe(TS);
    expect([...room.modes]).toEqual([
      ['n', ''],
      ['t', ''],
      ['l', '25'],
    ]);
    expect([...room.lists.get('b')!.keys()]).toEqual(['R:carol', 'm:R:bob']);
    expect([...room.members]).toEqual([
      ['1HBAAAAAA', 'o'],
      ['1HBAAAAAB', ''],
    ]);
    expect(room).toMatchObject({ topic: 'the topic', topicTs: TS + 5, topicSetter: 'alice' });
  });

  it('reports joins, parts, kicks, mode and topic changes after applying them', async () => {
    const { hub, link } = await upLink();
    const events = collect(link);
    const accounts: Array<{ uid: string; account: string | null }> = [];
    link.on('account', (change) => accounts.push(change));
    hub.sendLine(`:1HB UID 1HBAAAAAC ${TS} carol 10.0.0.3 cloak.c carol 10.0.0.3 ${TS} +i :Carol`);
    hub.sendLine(`:1HB METADATA 1HBAAAAAC accountname :carol`);
    hub.sendLine(`:1HBAAAAAC IJOIN #room 7`);
    hub.sendLine(`:1HBAAAAAA FMODE #room ${TS} +o-b 1HBAAAAAC R:carol`);
    hub.sendLine(`:1HBAAAAAA FMODE #room ${TS + 10} +i`);
    hub.sendLine(`:1HBAAAAAC FTOPIC #room ${TS} ${TS + 20} :carol's topic`);
    hub.sendLine(`:1HBAAAAAA KICK #room 1HBAAAAAB :out`);
    hub.sendLine(`:1HBAAAAAC PART #room :bye`);
    hub.sendLine(`:1HB METADATA 1HBAAAAAC accountname :`);
    hub.sendLine(`:1HB PING 0AS`);
    await hub.waitForLine((line) => line === ':0AS PONG 1HB');
    expect(events).toEqual([
      { kind: 'join', channel: '#room', uids: ['1HBAAAAAC'] },
      {
        kind: 'mode',
        channel: '#room',
        source: '1HBAAAAAA',
        changes: [
          { adding: true, letter: 'o', param: '1HBAAAAAC' },
          { adding: false, letter: 'b', param: 'R:carol' },
        ],
      },
      { kind: 'topic', channel: '#room', source: '1HBAAAAAC', topic: "carol's topic" },
      { kind: 'leave', channel: '#room', uid: '1HBAAAAAB', how: 'kick' },
      { kind: 'leave', channel: '#room', uid: '1HBAAAAAC', how: 'part' },
    ]);
    expect(accounts).toEqual([
      { uid: '1HBAAAAAC', account: 'carol' },
      { uid: '1HBAAAAAC', account: null },
    ]);
    const room = link.network.findChannel('#room')!;
    // The +i with a newer TS was dropped, as InspIRCd drops it.
    expect(room.modes.has('i')).toBe(false);
    expect(room).toMatchObject({ topic: "carol's topic", topicTs: TS + 20, topicSetter: 'carol' });
  });

  it('takes a topic in the older TOPIC form too, timestamped now', async () => {
    const { hub, link } = await upLink();
    const events = collect(link);
    const before = Math.floor(Date.now() / 1000);
    hub.sendLine(`:1HBAAAAAB TOPIC #ROOM :bob's topic`);
    hub.sendLine(`:1HB PING 0AS`);
    await hub.waitForLine((line) => line === ':0AS PONG 1HB');
    expect(events).toEqual([{ kind: 'topic', channel: '#room', source: '1HBAAAAAB', topic: "bob's topic" }]);
    const room = link.network.findChannel('#room')!;
    expect(room).toMatchObject({ topic: "bob's topic", topicSetter: 'bob' });
    expect(room.topicTs).toBeGreaterThanOrEqual(before);
  });

  it('resets a channel that loses a TS war to a burst FJOIN, and reports it', async () => {
    const { hub, link } = await upLink();
    const events = collect(link);
    hub.sendLine(`:1HB FJOIN #room ${TS - 100} +s :o,1HBAAAAAB`);
    hub.sendLine(`:1HB PING 0AS`);
    await hub.waitForLine((line) => line === ':0AS PONG 1HB');
    const room = link.network.findChannel('#room')!;
    expect(room.ts).toBe(TS - 100);
    expect([...room.modes.keys()]).toEqual(['s']);
    expect(room.lists.size).toBe(0);
    expect([...room.members]).toEqual([
      ['1HBAAAAAA', ''],
      ['1HBAAAAAB', 'o'],
    ]);
    expect(events.map((event) => event.kind)).toEqual(['reset', 'join']);
  });
});

describe('malformed channel and account lines from the hub', () => {
  function snapshot(net: NetworkState): unknown {
    return {
      channels: [...net.channels].map(([key, c]) => [
        key,
        c.name,
        c.ts,
        [...c.members],
        [...c.modes],
        [...c.lists].map(([l, m]) => [l, [...m.keys()]]),
        c.topic,
        c.topicTs,
        c.topicSetter,
      ]),
      users: [...net.users.values()].map((u) => [u.uid, u.nick, u.account, [...u.channels]]),
    };
  }

  it('ignores each one without changing state or reporting anything', async () => {
    const { link } = await upLink();
    const events = collect(link);
    const accounts: unknown[] = [];
    link.on('account', (change) => accounts.push(change));
    const before = snapshot(link.network);
    const counters = link.counters();
    const garbage = [
      `:1HB FTOPIC #nowhere ${TS} ${TS + 30} x :t`,
      `:1HB FTOPIC #room ${TS} abc x :t`,
      `:1HB FTOPIC #room ${TS} :t`,
      `:1HB FTOPIC`,
      `:1HB METADATA 1HBAAAAAA accountname`,
      `:1HB METADATA 9ZZAAAAAA accountname :mallory`,
      `:1HB METADATA 1HBAAAAAA`,
      `:1HBAAAAAZ IJOIN #room 1`,
      `:1HBAAAAAB IJOIN room 1`,
      `:1HBAAAAAB IJOIN`,
      `:1HBAAAAAB PART #nowhere :x`,
      `:1HBAAAAAB PART`,
      `:1HBAAAAAA KICK #room 9ZZAAAAAA :x`,
      `:1HBAAAAAA KICK #room`,
      `:1HB FMODE #room abc +i`,
      `:1HB FMODE #room ${TS}`,
      `:1HB FMODE #nowhere ${TS} +i`,
      `:1HB FJOIN #x 0 + :1HBAAAAAA`,
      `:1HB FJOIN x ${TS} + :1HBAAAAAA`,
      `:1HB FJOIN #x ${TS} +`,
      `:1HB FJOIN #x abc + :1HBAAAAAA`,
      `:1HBAAAAAA TOPIC #nowhere :t`,
      `:1HBAAAAAA TOPIC #room`,
      // Nothing the hub sends can come from us or our clients: acting on it would corrupt our view.
      `:0AS METADATA 1HBAAAAAA accountname :mallory`,
      `:0AS FJOIN #room ${TS - 1} +s :o,1HBAAAAAB`,
      `:0AS FMODE #room ${TS} +i`,
      `:0ASAAAAAA FTOPIC #room ${TS} ${TS + 30} :spoofed`,
      `:0ASAAAAAA TOPIC #room :spoofed`,
      `:0ASAAAAAA KICK #room 1HBAAAAAA :x`,
    ];
    for (const line of garbage) link.handleInboundLine(line);
    const after = link.counters();
    expect(after.ignoredLines - counters.ignoredLines).toBe(garbage.length);
    expect(after.handlerErrors).toBe(counters.handlerErrors);
    expect(after.parseErrors).toBe(counters.parseErrors);
    expect(snapshot(link.network)).toEqual(before);
    expect(events).toEqual([]);
    expect(accounts).toEqual([]);
    expect(link.status().state).toBe('up');
  });

  it('uses what it can of a half-valid line: no unknown members, no unadvertised prefixes', async () => {
    const { link } = await upLink();
    const events = collect(link);
    // Nobody the hub introduced: no channel comes of it.
    link.handleInboundLine(`:1HB FJOIN #ghost ${TS} +nt :o,9ZZAAAAAA`);
    expect(link.network.findChannel('#ghost')).toBeUndefined();
    // 'b' is not a prefix mode: the join stands, the prefixes do not.
    link.handleInboundLine(`:1HBAAAAAB IJOIN #room 1 ${TS} ob`);
    expect(link.network.findChannel('#room')!.members.get('1HBAAAAAB')).toBe('');
    link.handleInboundLine(`:1HB FJOIN #room ${TS} + :ob,1HBAAAAAB`);
    expect(link.network.findChannel('#room')!.members.get('1HBAAAAAB')).toBe('');
    expect(events).toEqual([{ kind: 'join', channel: '#room', uids: ['1HBAAAAAB'] }]);
  });
});

describe('channel operations services send', () => {
  it('FJOINs a pseudo-client with a prefix and mirrors it', async () => {
    const { hub, link } = await upLink();
    const histserv = link.addPseudoClient({ nick: 'HistServ' });
    const sent = hub.waitForLine((line) => line.includes(' FJOIN #new '));
    expect(link.joinChannel(histserv.uid, '#new', 1234, 'o')).toBe(true);
    expect(await sent).toBe(`:0AS FJOIN #new 1234 + o,${histserv.uid}`);
    expect([...link.network.findChannel('#new')!.members]).toEqual([[histserv.uid, 'o']]);
  });

  it("lowers a channel TS with an older FJOIN and mirrors the hub's reset", async () => {
    const { link } = await upLink();
    const histserv = link.addPseudoClient({ nick: 'HistServ' });
    expect(link.joinChannel(histserv.uid, '#room', TS - 50, 'o')).toBe(true);
    const room = link.network.findChannel('#room')!;
    expect(room).toMatchObject({ ts: TS - 50, topic: '' });
    expect(room.modes.size + room.lists.size).toBe(0);
    expect(room.members.get('1HBAAAAAA')).toBe('');
    expect(room.members.get(histserv.uid)).toBe('o');
  });

  it('refuses what InspIRCd would treat as a protocol error', async () => {
    const { link } = await upLink();
    const histserv = link.addPseudoClient({ nick: 'HistServ' });
    expect(link.joinChannel(histserv.uid, '#room', TS, 'q')).toBe(false);
    expect(link.joinChannel(histserv.uid, '#room', 0, 'o')).toBe(false);
    expect(link.joinChannel(histserv.uid, 'room', TS, 'o')).toBe(false);
    expect(link.joinChannel(histserv.uid, '#a,#b', TS, 'o')).toBe(false);
    expect(link.joinChannel('1HBAAAAAA', '#room', TS, '')).toBe(false);
    expect(link.kick(histserv.uid, '#room', histserv.uid, 'self')).toBe(false);
    expect(link.setChannelModes('#nowhere', [{ adding: true, letter: 'n' }])).toBe(0);
  });

  it('packs FMODE by MAXMODES, skips unknown letters and mirrors what it sent', async () => {
    const { hub, link } = await upLink();
    const changes = [
      ...Array.from({ length: 22 }, (_, i) => ({ adding: true, letter: 'b', param: `R:user${i}` })),
      { adding: true, letter: 'Z' },
      { adding: false, letter: 'b', param: 'R:carol' },
      { adding: true, letter: 'o', param: '1HBAAAAAB' },
    ];
    const second = hub.waitForLine((line) => line.startsWith(':0AS FMODE #room ') && line.includes('R:user21'));
    expect(link.setChannelModes('#room', changes)).toBe(2);
    expect(await second).toBe(`:0AS FMODE #room ${TS} +bb-b+o R:user20 R:user21 R:carol 1HBAAAAAB`);
    const room = link.network.findChannel('#room')!;
    expect(room.lists.get('b')!.size).toBe(23);
    expect(room.lists.get('b')!.has('R:carol')).toBe(false);
    expect(room.members.get('1HBAAAAAB')).toBe('o');
  });

  it('sets topics with a timestamp the hub accepts, cut to MAXTOPIC', async () => {
    const { hub, link } = await upLink();
    const now = Math.floor(Date.now() / 1000);
    const sent = hub.waitForLine((line) => line.startsWith(':0AS FTOPIC #room '));
    expect(link.setTopic('#room', 'new\ntopic', 'HistServ')).toBe(true);
    expect(await sent).toMatch(new RegExp(`^:0AS FTOPIC #room ${TS} ([0-9]+) HistServ :new topic$`));
    const room = link.network.findChannel('#room')!;
    expect(room.topicTs).toBeGreaterThanOrEqual(now);
    // Again within the same second: the timestamp must still move forward.
    const before = room.topicTs;
    link.setTopic('#room', 'x'.repeat(400));
    expect(room.topicTs).toBeGreaterThan(before);
    expect(room.topic).toBe('x'.repeat(307));
  });

  it('kicks and parts, mirroring both', async () => {
    const { hub, link } = await upLink();
    const histserv = link.addPseudoClient({ nick: 'HistServ' });
    link.joinChannel(histserv.uid, '#room', TS, 'o');
    const kick = hub.waitForLine((line) => line.includes(' KICK '));
    expect(link.kick(histserv.uid, '#room', '1HBAAAAAB', 'Kicked by bob: spam')).toBe(true);
    expect(await kick).toBe(`:${histserv.uid} KICK #room 1HBAAAAAB :Kicked by bob: spam`);
    expect(link.network.users.get('1HBAAAAAB')!.channels.size).toBe(0);
    const part = hub.waitForLine((line) => line.includes(' PART '));
    expect(link.partChannel(histserv.uid, '#ROOM', 'gone')).toBe(true);
    expect(await part).toBe(`:${histserv.uid} PART #room gone`);
    expect(link.network.findChannel('#room')!.members.has(histserv.uid)).toBe(false);
    expect(link.partChannel(histserv.uid, '#room')).toBe(false);
  });

  it('does nothing while the link is down', () => {
    const link = new ServicesLink({
      host: '127.0.0.1',
      port: 1,
      password: 'pw',
      serverName: 'services.test.local',
      sid: '0AS',
      authenticator: new TestAuthenticator(new Map()),
    });
    const histserv = link.addPseudoClient({ nick: 'HistServ' });
    expect(link.joinChannel(histserv.uid, '#room', TS, '')).toBe(false);
    expect(link.setChannelModes('#room', [{ adding: true, letter: 'n' }])).toBe(0);
    expect(link.setTopic('#room', 'x')).toBe(false);
    expect(link.kick(histserv.uid, '#room', '1HBAAAAAA', 'x')).toBe(false);
  });
});

describe('FJOIN/FMODE fuzz through handleInboundLine', () => {
  /** Everything NetworkState promises about itself, whatever the input was. */
  function assertConsistent(net: NetworkState, kinds: ReadonlyMap<string, string>): void {
    for (const [key, channel] of net.channels) {
      expect(key.startsWith('#')).toBe(true);
      expect(channel.members.size).toBeGreaterThan(0);
      for (const [uid, prefixes] of channel.members) {
        expect(net.users.get(uid)?.channels.has(key), `${uid} in ${key}`).toBe(true);
        for (const letter of prefixes) expect(kinds.get(letter)).toBe('prefix');
        expect(new Set(prefixes).size).toBe(prefixes.length);
      }
      for (const [letter, value] of channel.modes) {
        const kind = kinds.get(letter);
        expect(['simple', 'param', 'param-set']).toContain(kind);
        expect(kind === 'simple' ? value === '' : value.length > 0).toBe(true);
      }
      for (const [letter, list] of channel.lists) {
        expect(kinds.get(letter)).toBe('list');
        expect(list.size).toBeGreaterThan(0);
        for (const [mask, entry] of list) expect(entry.mask).toBe(mask);
      }
    }
    for (const user of net.users.values()) {
      for (const key of user.channels) expect(net.channels.get(key)?.members.has(user.uid)).toBe(true);
    }
  }

  it('never throws, never desyncs, and still applies a clean change afterwards', async () => {
    const { hub, link } = await upLink();
    const kinds = link.capabilities!.channelModeKinds();
    let seed = 0xf00d;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const uids = ['1HBAAAAAA', '1HBAAAAAB', '9ZZAAAAAA', '0ASAAAAAA', 'bogus', ''];
    const word = () => pick(['R:a', 'm:R:b', '*!*@*', '', ':x', '25', 'key', pick(uids), 'é', '\u0001']);
    const modeString = () => Array.from({ length: Math.floor(random() * 10) }, () => pick([...'+-+-bovlktinsZX:é,'])).join('');
    const channel = () => pick(['#room', '#ROOM', '#other', 'room', '#', '']);
    const ts = () => pick([String(TS), String(TS - 1), String(TS + 1), '0', '-1', 'abc', '99999999999999', '']);
    const members = () =>
      Array.from(
        { length: Math.floor(random() * 4) },
        () => `${pick(['', 'o', 'ov', 'q', 'o,'])}${pick(['', ','])}${pick(uids)}${pick(['', ':3', ':', ':x'])}`,
      ).join(' ');
    const before = link.counters();
    for (let i = 0; i < 20_000; i++) {
      const params = Array.from({ length: Math.floor(random() * 4) }, word).join(' ');
      const line =
        random() < 0.5
          ? `:${pick(['1HB', '1HBAAAAAA', '9ZZ'])} FMODE ${channel()} ${ts()} ${modeString()} ${params}`
          : `:1HB FJOIN ${channel()} ${ts()} ${modeString()} ${params} :${members()}`;
      expect(() => link.handleInboundLine(line)).not.toThrow();
      if (i % 2000 === 0) assertConsistent(link.network, kinds);
    }
    assertConsistent(link.network, kinds);
    expect(link.counters().handlerErrors).toBe(before.handlerErrors);
    expect(link.status().state).toBe('up');

    // Whatever happened to #room, a well-formed change still lands exactly.
    hub.sendLine(`:1HB FJOIN #fresh ${TS} +nt :o,1HBAAAAAA`);
    hub.sendLine(`:1HBAAAAAA FMODE #fresh ${TS} +bk-t R:zed secret`);
    hub.sendLine(`:1HB PING 0AS`);
    await hub.waitForLine((line) => line === ':0AS PONG 1HB');
    const fresh = link.network.findChannel('#fresh')!;
    expect([...fresh.modes]).toEqual([
      ['n', ''],
      ['k', 'secret'],
    ]);
    expect([...fresh.lists.get('b')!.keys()]).toEqual(['R:zed']);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
