/**
 * NetworkState's channel bookkeeping: InspIRCd's FJOIN timestamp war, mode, list and prefix
 * changes, topics. Mode kinds are the ones the real InspIRCd 3.15 advertises with our config.
 */
import { describe, expect, it } from 'vitest';

import type { ModeChange } from './modes.js';
import { NetworkState, type NetworkUser } from './network-state.js';
import { HubCapabilities } from './protocol.js';

const capab = new HubCapabilities();
capab.accept([
  'CHANMODES',
  'list:ban=b list:banexception=e list:invex=I param-set:history=H param-set:limit=l param:key=k prefix:10000:voice=+v prefix:30000:op=@o simple:inviteonly=i simple:noextmsg=n simple:reginvite=R simple:topiclock=t',
]);
const kinds = capab.channelModeKinds();

function user(uid: string, account: string | null = null): NetworkUser {
  return {
    uid,
    nick: uid,
    nickTs: 1,
    ident: 'u',
    host: 'h',
    displayedHost: 'h',
    ip: '1.2.3.4',
    realname: 'r',
    account,
    server: uid.slice(0, 3),
    signon: 1,
    channels: new Set(),
  };
}

function state(...uids: string[]): NetworkState {
  const net = new NetworkState();
  net.addServer({ sid: '1AL', name: 'irc.test', description: '', uplink: null });
  for (const uid of uids) net.addUser(user(uid));
  return net;
}

const A = '1ALAAAAAA';
const B = '1ALAAAAAB';
const H = '0ASAAAAAB';
const add = (letter: string, param?: string): ModeChange => (param === undefined ? { adding: true, letter } : { adding: true, letter, param });
const del = (letter: string, param?: string): ModeChange => (param === undefined ? { adding: false, letter } : { adding: false, letter, param });

describe('NetworkState FJOIN', () => {
  it("creates a channel with the joining side's TS, modes and prefixes", () => {
    const net = state(A, B);
    const { channel, reset } = net.applyFjoin(
      '#Room',
      100,
      [add('n'), add('H', '50:1w')],
      [
        { uid: A, prefixes: 'o' },
        { uid: B, prefixes: '' },
      ],
      kinds,
      'irc.test',
    );
    expect(reset).toBe(false);
    expect(channel).toMatchObject({ name: '#Room', ts: 100 });
    expect([...channel.modes]).toEqual([
      ['n', ''],
      ['H', '50:1w'],
    ]);
    expect([...channel.members]).toEqual([
      [A, 'o'],
      [B, ''],
    ]);
    expect(net.findChannel('#room')).toBe(channel);
    expect(net.users.get(A)!.channels.has('#room')).toBe(true);
  });

  it("merges an equal TS: both sides' modes and prefixes", () => {
    const net = state(A, B);
    net.applyFjoin('#r', 100, [add('n')], [{ uid: A, prefixes: 'v' }], kinds, 'x');
    const { channel } = net.applyFjoin(
      '#r',
      100,
      [add('t')],
      [
        { uid: A, prefixes: 'o' },
        { uid: B, prefixes: 'o' },
      ],
      kinds,
      'x',
    );
    expect([...channel.modes.keys()]).toEqual(['n', 't']);
    expect([...channel.members]).toEqual([
      [A, 'vo'],
      [B, 'o'],
    ]);
  });

  it("an older TS wins the war: everything is reset, then the winner's modes apply", () => {
    const net = state(A, B, H);
    const { channel } = net.applyFjoin('#r', 200, [add('n'), add('k', 'key')], [{ uid: A, prefixes: 'o' }], kinds, 'x');
    net.applyModes(channel, [add('b', 'R:x'), add('I', 'R:y')], kinds, 'x', 200);
    net.setTopic('#r', 'old topic', 201, 'someone');
    const result = net.applyFjoin('#R', 100, [add('t')], [{ uid: H, prefixes: 'o' }], kinds, 'services');
    expect(result.reset).toBe(true);
    expect(result.channel).toBe(channel);
    expect(channel).toMatchObject({ name: '#R', ts: 100, topic: '', topicTs: 0, topicSetter: '' });
    expect([...channel.modes.keys()]).toEqual(['t']);
    expect(channel.lists.size).toBe(0);
    expect([...channel.members]).toEqual([
      [A, ''],
      [H, 'o'],
    ]);
  });

  it('a newer TS loses: members join without prefixes, modes are ignored', () => {
    const net = state(A, B);
    net.applyFjoin('#r', 100, [add('n')], [{ uid: A, prefixes: '' }], kinds, 'x');
    const { channel, reset } = net.applyFjoin('#r', 300, [add('i')], [{ uid: B, prefixes: 'o' }], kinds, 'x');
    expect(reset).toBe(false);
    expect(channel.ts).toBe(100);
    expect([...channel.modes.keys()]).toEqual(['n']);
    expect(channel.members.get(B)).toBe('');
  });

  it('ignores unknown members and does not keep a channel nobody is in', () => {
    const net = state(A);
    net.applyFjoin('#ghost', 100, [add('n')], [{ uid: '9ZZAAAAAA', prefixes: 'o' }], kinds, 'x');
    expect(net.findChannel('#ghost')).toBeUndefined();
  });

  it('a join without modes (IJOIN) gets prefixes only when its TS is not newer', () => {
    const net = state(A, B);
    net.applyFjoin('#r', 100, [], [{ uid: A, prefixes: '' }], kinds, 'x');
    net.joinChannel('#r', 100, B, 'o');
    expect(net.findChannel('#r')!.members.get(B)).toBe('o');
    net.leaveChannel('#r', B);
    net.joinChannel('#r', 150, B, 'o');
    expect(net.findChannel('#r')!.members.get(B)).toBe('');
    net.joinChannel('#r', 0, B, '');
    expect(net.findChannel('#r')!.ts).toBe(100);
  });
});

describe('NetworkState modes', () => {
  function room() {
    const net = state(A, B);
    const { channel } = net.applyFjoin(
      '#r',
      100,
      [],
      [
        { uid: A, prefixes: '' },
        { uid: B, prefixes: '' },
      ],
      kinds,
      'x',
    );
    return { net, channel };
  }

  it('sets and unsets simple and parameter modes, reporting only what changed', () => {
    const { net, channel } = room();
    expect(net.applyModes(channel, [add('n'), add('n'), add('k', 'a'), add('l', '5'), add('H', '10:1d')], kinds, 'x', 1)).toEqual([
      add('n'),
      add('k', 'a'),
      add('l', '5'),
      add('H', '10:1d'),
    ]);
    expect(net.applyModes(channel, [add('k', 'b'), add('k', 'b'), del('l'), del('i')], kinds, 'x', 1)).toEqual([add('k', 'b'), del('l')]);
    expect([...channel.modes]).toEqual([
      ['n', ''],
      ['k', 'b'],
      ['H', '10:1d'],
    ]);
    expect(net.applyModes(channel, [del('k', 'whatever'), del('n')], kinds, 'x', 1)).toHaveLength(2);
    expect([...channel.modes.keys()]).toEqual(['H']);
  });

  it('keeps list entries once, compared exactly like InspIRCd, with setter and time', () => {
    const { net, channel } = room();
    net.applyModes(channel, [add('b', 'R:bob'), add('b', 'R:bob'), add('b', 'R:Bob'), add('e', 'm:R:al'), add('I', 'R:al')], kinds, 'alice', 42);
    expect([...channel.lists.get('b')!.keys()]).toEqual(['R:bob', 'R:Bob']);
    expect(channel.lists.get('b')!.get('R:bob')).toEqual({ mask: 'R:bob', setter: 'alice', ts: 42 });
    expect(net.applyModes(channel, [del('b', 'r:BOB'), del('b', 'R:bob'), del('e', 'm:R:al')], kinds, 'x', 1)).toEqual([del('b', 'R:bob'), del('e', 'm:R:al')]);
    expect([...channel.lists.keys()]).toEqual(['b', 'I']);
  });

  it('gives and takes prefixes of members only', () => {
    const { net, channel } = room();
    expect(net.applyModes(channel, [add('o', A), add('v', A), add('o', '9ZZAAAAAA'), add('o', A)], kinds, 'x', 1)).toEqual([add('o', A), add('v', A)]);
    expect(channel.members.get(A)).toBe('ov');
    net.applyModes(channel, [del('o', A), del('o', B)], kinds, 'x', 1);
    expect(channel.members.get(A)).toBe('v');
    expect(channel.members.get(B)).toBe('');
  });

  it('ignores letters it does not know and changes lacking their parameter', () => {
    const { net, channel } = room();
    expect(net.applyModes(channel, [add('X'), add('b'), add('o'), add('k')], kinds, 'x', 1)).toEqual([]);
    expect(channel.modes.size + channel.lists.size).toBe(0);
  });

  it('sets the topic of known channels only', () => {
    const { net } = room();
    expect(net.setTopic('#R', 'hello', 5, 'bob')).toBe(true);
    expect(net.findChannel('#r')).toMatchObject({ topic: 'hello', topicTs: 5, topicSetter: 'bob' });
    expect(net.setTopic('#nope', 'x', 1, 'y')).toBe(false);
  });

  it('forgets a channel when its last member leaves or quits', () => {
    const { net } = room();
    net.leaveChannel('#r', A);
    net.removeUser(B);
    expect(net.channels.size).toBe(0);
    expect(net.users.get(A)!.channels.size).toBe(0);
  });
});
