/**
 * ServicesOperations on their own, against a NetworkState and a send that can be made to fail.
 * The same operations over a socket, through ServicesLink, are in channels.test.ts and
 * link.test.ts.
 */
import { describe, expect, it } from 'vitest';

import { serializeMessage, type OutgoingMessage } from '@alloquy/protocol/irc';
import { FAKE_HUB_CHANMODES } from '../../test/irc-link/fake-hub.js';
import { NetworkState } from './network-state.js';
import { ServicesOperations } from './operations.js';
import { HubCapabilities } from './protocol.js';
import { PseudoClients } from './pseudo-clients.js';

const TS = 1_700_000_000;

function setup(options: { up?: boolean; capabilities?: string } = {}) {
  const network = new NetworkState();
  const capabilities = new HubCapabilities();
  capabilities.accept(['CHANMODES', FAKE_HUB_CHANMODES]);
  capabilities.accept(['CAPABILITIES', options.capabilities ?? 'MAXMODES=20 MAXTOPIC=307 MAXKICK=255 MAXQUIT=255']);
  const sent: string[] = [];
  const accountChanges: Array<[string, string | null]> = [];
  const state = { up: options.up ?? true, sendWorks: true };
  const send = (message: OutgoingMessage): boolean => {
    if (!state.sendWorks) return false;
    sent.push(serializeMessage(message));
    return true;
  };
  const clients = new PseudoClients({ sid: '0AS', serverName: 'services.test.local', network, capabilities: () => capabilities, send });
  const agent = clients.register({ nick: 'Alloquy' });
  const histserv = clients.register({ nick: 'HistServ' });
  clients.introduceAll();
  network.addServer({ sid: '1HB', name: 'irc.test.local', description: 'hub', uplink: null });
  for (const [uid, nick, account] of [
    ['1HBAAAAAA', 'alice', 'alice'],
    ['1HBAAAAAB', 'bob', null],
    ['1HBAAAAAC', 'alice2', 'ALICE'],
  ] as const) {
    network.addUser({
      uid,
      nick,
      nickTs: TS,
      ident: nick,
      host: 'h',
      displayedHost: 'h',
      ip: '10.0.0.1',
      realname: nick,
      account,
      server: '1HB',
      signon: TS,
      channels: new Set(),
    });
  }
  network.applyFjoin(
    '#room',
    TS,
    [],
    [
      { uid: '1HBAAAAAA', prefixes: 'o' },
      { uid: '1HBAAAAAB', prefixes: '' },
    ],
    capabilities.channelModeKinds(),
    'irc.test.local',
  );
  sent.length = 0;
  const operations = new ServicesOperations({
    ourSid: '0AS',
    ourName: 'services.test.local',
    network,
    clients,
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    isUp: () => state.up,
    capabilities: () => capabilities,
    agentUid: agent.uid,
    send,
    onAccountChange: (uid, account) => accountChanges.push([uid, account]),
  });
  return { operations, network, sent, state, agent, histserv, accountChanges };
}

describe('ServicesOperations while down', () => {
  it('refuses everything and sends nothing', () => {
    const { operations, network, sent, histserv } = setup({ up: false });
    expect(operations.joinChannel(histserv.uid, '#room', TS, 'o')).toBe(false);
    expect(operations.partChannel(histserv.uid, '#room', '')).toBe(false);
    expect(operations.setChannelModes('#room', [{ adding: true, letter: 'm' }], '0AS')).toBe(0);
    expect(operations.setTopic('#room', 'topic', 'services.test.local')).toBe(false);
    expect(operations.kick(histserv.uid, '#room', '1HBAAAAAB', 'bye')).toBe(false);
    expect(operations.logout('alice')).toBe(0);
    expect(operations.disconnectAccount('alice', 'x')).toBe(0);
    expect(sent).toEqual([]);
    expect(network.users.get('1HBAAAAAA')?.account).toBe('alice');
  });
});

describe('ServicesOperations on channels', () => {
  it('joins a pseudo-client with prefixes and mirrors it', () => {
    const { operations, network, sent, histserv } = setup();
    expect(operations.joinChannel(histserv.uid, '#room', TS, 'o')).toBe(true);
    expect(sent).toEqual([`:0AS FJOIN #room ${TS} + o,${histserv.uid}`]);
    expect(network.findChannel('#room')?.members.get(histserv.uid)).toBe('o');
  });

  it.each([
    ['a user, not ours', '1HBAAAAAB', '#room', TS, ''],
    ['no channel prefix', 'HIST', 'room', TS, ''],
    ['a bare #', 'HIST', '#', TS, ''],
    ['a comma', 'HIST', '#a,b', TS, ''],
    ['a BEL', 'HIST', '#a\x07', TS, ''],
    ['a zero timestamp', 'HIST', '#room', 0, ''],
    ['a fractional timestamp', 'HIST', '#room', 1.5, ''],
    ['a prefix the hub does not have', 'HIST', '#room', TS, 'q'],
    ['a non-prefix mode as prefix', 'HIST', '#room', TS, 'n'],
  ])('refuses a join with %s', (_what, who, channel, ts, prefixes) => {
    const { operations, sent, histserv } = setup();
    expect(operations.joinChannel(who === 'HIST' ? histserv.uid : who, channel, ts, prefixes)).toBe(false);
    expect(sent).toEqual([]);
  });

  it('changes nothing when a line does not go out', () => {
    const { operations, network, state, histserv } = setup();
    state.sendWorks = false;
    expect(operations.joinChannel(histserv.uid, '#room', TS, 'o')).toBe(false);
    expect(network.findChannel('#room')?.members.has(histserv.uid)).toBe(false);
    expect(operations.setTopic('#room', 'new', 'services.test.local')).toBe(false);
    expect(network.findChannel('#room')?.topic).toBe('');
    expect(operations.setChannelModes('#room', [{ adding: true, letter: 'm' }], '0AS')).toBe(0);
    expect(network.findChannel('#room')?.modes.has('m')).toBe(false);
  });

  it('parts and kicks, mirroring both, but never kicks one of ours', () => {
    const { operations, network, sent, histserv, agent } = setup();
    operations.joinChannel(histserv.uid, '#room', TS, 'o');
    operations.joinChannel(agent.uid, '#room', TS, '');
    sent.length = 0;
    expect(operations.kick(histserv.uid, '#room', agent.uid, 'x')).toBe(false);
    expect(operations.kick('1HBAAAAAA', '#room', '1HBAAAAAB', 'x')).toBe(false);
    expect(operations.kick(histserv.uid, '#ROOM', '1HBAAAAAB', '')).toBe(true);
    expect(operations.partChannel(agent.uid, '#room', 'bye\r\nQUIT')).toBe(true);
    expect(sent).toEqual([`:${histserv.uid} KICK #room 1HBAAAAAB Kicked`, `:${agent.uid} PART #room :bye  QUIT`]);
    expect([...network.findChannel('#room')!.members.keys()]).toEqual(['1HBAAAAAA', histserv.uid]);
  });

  it('packs mode changes by MAXMODES, leaves out letters the hub lacks, and credits the setter', () => {
    const { operations, network, sent, histserv } = setup({ capabilities: 'MAXMODES=2' });
    operations.joinChannel(histserv.uid, '#room', TS, 'o');
    sent.length = 0;
    const changes = [
      { adding: true, letter: 'm' },
      { adding: true, letter: 'Z' },
      { adding: true, letter: 'b', param: 'x!*@*' },
      { adding: true, letter: 'v', param: '1HBAAAAAB' },
    ];
    expect(operations.setChannelModes('#room', changes, histserv.uid)).toBe(2);
    expect(sent).toEqual([`:${histserv.uid} FMODE #room ${TS} +mb x!*@*`, `:${histserv.uid} FMODE #room ${TS} +v 1HBAAAAAB`]);
    const room = network.findChannel('#room')!;
    expect(room.members.get('1HBAAAAAB')).toBe('v');
    expect(room.lists.get('b')?.get('x!*@*')).toMatchObject({ mask: 'x!*@*', setter: 'HistServ' });
    expect(operations.setChannelModes('#room', changes, '1HBAAAAAA')).toBe(0);
  });

  it('gives a topic a timestamp the hub accepts and cuts it to MAXTOPIC', () => {
    const { operations, network, sent } = setup({ capabilities: 'MAXTOPIC=5' });
    const future = Math.floor(Date.now() / 1000) + 3600;
    network.setTopic('#room', 'old', future, 'alice');
    expect(operations.setTopic('#room', 'brand new', 'services.test.local')).toBe(true);
    expect(sent).toEqual([`:0AS FTOPIC #room ${TS} ${future + 1} services.test.local brand`]);
    expect(network.findChannel('#room')).toMatchObject({ topic: 'brand', topicTs: future + 1 });
    expect(operations.setTopic('#room', 'x', 'has space')).toBe(false);
  });
});

describe('ServicesOperations on accounts', () => {
  it('logs out every user of an account and reports each change', () => {
    const { operations, network, sent, accountChanges } = setup();
    expect(operations.logout('Alice')).toBe(2);
    expect(sent).toEqual([':0AS METADATA 1HBAAAAAA accountname :', ':0AS METADATA 1HBAAAAAC accountname :']);
    expect(accountChanges).toEqual([
      ['1HBAAAAAA', null],
      ['1HBAAAAAC', null],
    ]);
    expect(network.users.has('1HBAAAAAA')).toBe(true);
  });

  it('disconnects every user of an account through the agent', () => {
    const { operations, network, sent, agent } = setup({ capabilities: 'MAXQUIT=4' });
    expect(operations.disconnectAccount('alice', '')).toBe(2);
    expect(sent).toEqual([
      ':0AS METADATA 1HBAAAAAA accountname :',
      `:${agent.uid} KILL 1HBAAAAAA Acco`,
      ':0AS METADATA 1HBAAAAAC accountname :',
      `:${agent.uid} KILL 1HBAAAAAC Acco`,
    ]);
    expect(network.users.has('1HBAAAAAA')).toBe(false);
    expect(network.findChannel('#room')?.members.has('1HBAAAAAA')).toBe(false);
  });
});
