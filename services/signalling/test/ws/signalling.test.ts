/**
 * The signalling service against a real control server, with real `ws` clients: rooms, relaying,
 * track announcements, permission checks through the gRPC Access service, and bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Permission } from '@alloquy/protocol/permissions';
import { OPERATOR } from '@alloquy/control/testing';
import { TestClient, type Message } from '../support/client.js';
import { PASSWORD, startTestStack, type TestStack } from '../support/stack.js';
import { forgedTokens } from '@alloquy/stack';

let stack: TestStack;
const open: TestClient[] = [];

async function hello(token: string): Promise<{ client: TestClient; welcome: Message }> {
  const result = await TestClient.hello(stack.wsUrl, token);
  open.push(result.client);
  return result;
}

async function joined(token: string, room: string): Promise<{ client: TestClient; peerId: string; roomMessage: Message }> {
  const { client, welcome } = await hello(token);
  client.send({ type: 'join', room });
  const roomMessage = await client.next('room');
  return { client, peerId: welcome.peerId as string, roomMessage };
}

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  for (const c of open) c.close();
  await stack?.stop();
});

describe('a voice room', () => {
  it('lets two members meet, exchange offer, answer and candidates, see tracks, and leave', async () => {
    const alice = await joined(stack.tokens.alice, 'voice:general');
    expect(alice.roomMessage).toMatchObject({ room: 'voice:General', peerId: alice.peerId, peers: [] });

    const bob = await joined(stack.tokens.bob, 'voice:General');
    expect(bob.roomMessage).toMatchObject({ kind: 'voice', channelId: expect.stringMatching(/^\d+$/) });
    expect(bob.roomMessage.peers).toEqual([{ peerId: alice.peerId, account: 'alice', tracks: [], streams: {} }]);
    expect(await alice.client.next('joined')).toEqual({
      type: 'joined',
      room: 'voice:General',
      peer: { peerId: bob.peerId, account: 'bob', tracks: [], streams: {} },
    });

    // The publisher's own copy echoes its request id: that is its acknowledgement.
    alice.client.send({ type: 'publish', track: 'camera', stream: '{a1b2-c3}', id: 'pub-1' });
    const cameraAnnounce = { type: 'tracks', room: 'voice:General', peerId: alice.peerId, tracks: ['camera'], streams: { camera: '{a1b2-c3}' } };
    expect(await bob.client.next('tracks')).toEqual(cameraAnnounce);
    expect(await alice.client.next('tracks')).toEqual({ ...cameraAnnounce, ref: 'pub-1' });
    // Publishing the same stream again changes nothing for the others, and is still acknowledged.
    alice.client.send({ type: 'publish', track: 'camera', stream: '{a1b2-c3}', id: 'pub-2' });
    expect(await alice.client.next('tracks')).toEqual({ ...cameraAnnounce, ref: 'pub-2' });

    alice.client.send({ type: 'offer', to: bob.peerId, sdp: 'v=0 offer' });
    expect(await bob.client.next('offer')).toEqual({ type: 'offer', from: alice.peerId, sdp: 'v=0 offer' });
    bob.client.send({ type: 'answer', to: alice.peerId, sdp: 'v=0 answer' });
    expect(await alice.client.next('answer')).toEqual({ type: 'answer', from: bob.peerId, sdp: 'v=0 answer' });
    const candidate = { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    bob.client.send({ type: 'candidate', to: alice.peerId, candidate });
    expect(await alice.client.next('candidate')).toEqual({ type: 'candidate', from: bob.peerId, candidate });
    alice.client.send({ type: 'candidate', to: bob.peerId, candidate: null });
    expect(await bob.client.next('candidate')).toEqual({ type: 'candidate', from: alice.peerId, candidate: null });
    // simple-peer's answering side asks the offering side to renegotiate or add a transceiver.
    bob.client.send({ type: 'renegotiate', to: alice.peerId });
    expect(await alice.client.next('renegotiate')).toEqual({ type: 'renegotiate', from: bob.peerId });
    bob.client.send({ type: 'transceiver', to: alice.peerId, kind: 'video' });
    expect(await alice.client.next('transceiver')).toEqual({ type: 'transceiver', from: bob.peerId, kind: 'video' });
    expect(await bob.client.refused({ type: 'transceiver', to: alice.peerId, kind: 'data' }, 'bad-kind')).toMatchObject({ code: 'invalid_message' });

    bob.client.send({ type: 'publish', track: 'screen' });
    expect(await alice.client.next('tracks')).toMatchObject({ peerId: bob.peerId, tracks: ['screen'] });
    bob.client.send({ type: 'publish', track: 'camera' });
    expect(await alice.client.next('tracks')).toMatchObject({ peerId: bob.peerId, tracks: ['camera', 'screen'] });
    bob.client.send({ type: 'unpublish', track: 'screen' });
    expect(await alice.client.next('tracks')).toMatchObject({ peerId: bob.peerId, tracks: ['camera'] });

    // A third member sees both, with their tracks.
    const carol = await joined(stack.tokens.carol, 'voice:General');
    const peers = (carol.roomMessage.peers as Message[]).sort((a, b) => String(a.account).localeCompare(String(b.account)));
    expect(peers).toEqual([
      { peerId: alice.peerId, account: 'alice', tracks: ['camera'], streams: { camera: '{a1b2-c3}' } },
      { peerId: bob.peerId, account: 'bob', tracks: ['camera'], streams: {} },
    ]);

    bob.client.send({ type: 'leave', id: 'bye' });
    expect(await bob.client.next('left')).toEqual({ type: 'left', room: 'voice:General', peerId: bob.peerId, ref: 'bye' });
    expect(await bob.client.refused({ type: 'leave' }, 'bye-again')).toMatchObject({ code: 'not_in_room' });
    expect(await alice.client.next('left')).toEqual({ type: 'left', room: 'voice:General', peerId: bob.peerId });
    expect(await carol.client.next('left')).toEqual({ type: 'left', room: 'voice:General', peerId: bob.peerId });
    // Once gone, bob can no longer be addressed.
    expect(await alice.client.refused({ type: 'offer', to: bob.peerId, sdp: 'x' }, 'after-leave')).toMatchObject({ code: 'unknown_peer' });

    // Disconnecting cleans up like leaving.
    carol.client.close();
    expect(await alice.client.next('left')).toEqual({ type: 'left', room: 'voice:General', peerId: carol.peerId });
    alice.client.close();
    await alice.client.whenClosed();
    await bob.client.refused({ type: 'publish', track: 'camera' }, 'not-in-room').then((m) => expect(m.code).toBe('not_in_room'));
    expect(stack.signalling.rooms.size).toBe(0);
  });

  it('refuses a camera or screen to a member without VIDEO, but lets them join and watch', async () => {
    const alice = await joined(stack.tokens.alice, 'voice:Stage');
    const bob = await joined(stack.tokens.bob, 'voice:Stage');
    await alice.client.next('joined');
    for (const track of ['camera', 'screen']) {
      const refusal = await bob.client.refused({ type: 'publish', track }, `pub-${track}`);
      expect(refusal).toMatchObject({ type: 'error', code: 'forbidden' });
      expect(refusal.message).toContain('VIDEO');
    }
    // The refused publish announced nothing: alice's next `tracks` is her own.
    alice.client.send({ type: 'publish', track: 'camera' });
    expect(await alice.client.next('tracks')).toMatchObject({ peerId: alice.peerId });
    expect(await bob.client.next('tracks')).toMatchObject({ peerId: alice.peerId, tracks: ['camera'] });
    expect(alice.client.messages.filter((m) => m.type === 'tracks')).toEqual([]);
  });

  it('checks SPEAK and VIDEO again at every publish: a permission taken away after the join applies', async () => {
    const g = stack.control.guild;
    g.createChannel(OPERATOR, { kind: 'voice', name: 'Studio' });
    const carol = await joined(stack.tokens.carol, 'voice:Studio');
    carol.client.send({ type: 'publish', track: 'camera' });
    expect(await carol.client.next('tracks')).toMatchObject({ tracks: ['camera'] });
    g.setOverwrite(OPERATOR, 'Studio', { type: 'member', target: String(stack.ids.carol), allow: 0n, deny: Permission.VIDEO });
    expect(await carol.client.refused({ type: 'publish', track: 'screen' }, 'screen')).toMatchObject({ code: 'forbidden' });
    // Silenced in the channel (no SPEAK) with VIDEO given back: no broadcasting either.
    g.setOverwrite(OPERATOR, 'Studio', { type: 'member', target: String(stack.ids.carol), allow: Permission.VIDEO, deny: Permission.SPEAK });
    const silenced = await carol.client.refused({ type: 'publish', track: 'screen' }, 'silenced');
    expect(silenced).toMatchObject({ code: 'forbidden' });
    expect(silenced.message).toContain('SPEAK');
    expect(silenced.message).not.toContain('VIDEO');
  });

  it('refuses a room the user may not connect to, and an unknown channel', async () => {
    const { client } = await hello(stack.tokens.bob);
    const refusal = await client.refused({ type: 'join', room: 'voice:Private' }, 'private');
    expect(refusal).toMatchObject({ code: 'forbidden' });
    expect(refusal.message).toContain('CONNECT');
    expect(await client.refused({ type: 'join', room: 'voice:Nowhere' }, 'nowhere')).toMatchObject({ code: 'not_found' });
    expect(await client.refused({ type: 'join', room: 'text:general' }, 'text')).toMatchObject({ code: 'invalid_message' });
    // Still connected and usable.
    client.send({ type: 'join', room: 'voice:General' });
    expect(await client.next('room')).toMatchObject({ room: 'voice:General' });
    client.close();
  });

  it('does not let a user outside the room address a member in it', async () => {
    const alice = await joined(stack.tokens.alice, 'voice:Private');
    const bob = await joined(stack.tokens.bob, 'voice:General');
    const { client: carol } = await hello(stack.tokens.carol);

    expect(await carol.refused({ type: 'offer', to: alice.peerId, sdp: 'v=0' }, 'no-room')).toMatchObject({ code: 'not_in_room' });
    expect(await bob.client.refused({ type: 'offer', to: alice.peerId, sdp: 'v=0' }, 'other-room')).toMatchObject({ code: 'unknown_peer' });
    expect(await bob.client.refused({ type: 'candidate', to: alice.peerId, candidate: null }, 'other-room-2')).toMatchObject({ code: 'unknown_peer' });
    expect(await bob.client.refused({ type: 'offer', to: bob.peerId, sdp: 'v=0' }, 'self')).toMatchObject({ code: 'unknown_peer' });

    // Nothing reached alice: her own publish is the first thing she hears.
    alice.client.send({ type: 'publish', track: 'camera' });
    expect(await alice.client.next('tracks')).toMatchObject({ peerId: alice.peerId });
    expect(alice.client.messages.filter((m) => ['offer', 'answer', 'candidate'].includes(m.type))).toEqual([]);
    alice.client.close();
    bob.client.close();
    carol.close();
  });
});

describe('a DM call', () => {
  it('puts the people it names in one room, whoever names it and however', async () => {
    const alice = await joined(stack.tokens.alice, 'dm:Bob');
    expect(alice.roomMessage).toMatchObject({ room: 'dm:alice,bob', kind: 'dm', accounts: ['alice', 'bob'], peers: [] });
    expect(alice.roomMessage).not.toHaveProperty('channelId');
    const bob = await joined(stack.tokens.bob, 'dm:bob,alice');
    expect(bob.roomMessage).toMatchObject({ room: 'dm:alice,bob', peers: [{ peerId: alice.peerId, account: 'alice' }] });
    expect(await alice.client.next('joined')).toMatchObject({ room: 'dm:alice,bob', peer: { peerId: bob.peerId } });

    // No VIDEO bit applies to a call (bob may not share video in the voice channel Stage).
    bob.client.send({ type: 'publish', track: 'camera', stream: 'bob-cam', id: 'cam' });
    expect(await bob.client.next('tracks', (m) => m.ref === 'cam')).toMatchObject({ tracks: ['camera'] });
    expect(await alice.client.next('tracks')).toMatchObject({ peerId: bob.peerId, streams: { camera: 'bob-cam' } });
    alice.client.send({ type: 'offer', to: bob.peerId, sdp: 'v=0 call' });
    expect(await bob.client.next('offer')).toEqual({ type: 'offer', from: alice.peerId, sdp: 'v=0 call' });

    // carol naming the same two lands in a call of three, not in theirs.
    const carol = await joined(stack.tokens.carol, 'dm:alice,bob');
    expect(carol.roomMessage).toMatchObject({ room: 'dm:alice,bob,carol', peers: [] });
    expect(await carol.client.refused({ type: 'offer', to: alice.peerId, sdp: 'v=0' }, 'intrude')).toMatchObject({ code: 'unknown_peer' });
    for (const c of [alice, bob, carol]) c.client.close();
  });

  it('holds a group call of three', async () => {
    const alice = await joined(stack.tokens.alice, 'dm:bob,carol');
    const bob = await joined(stack.tokens.bob, 'dm:carol,alice');
    const carol = await joined(stack.tokens.carol, 'dm:alice,bob,carol');
    expect(carol.roomMessage).toMatchObject({ room: 'dm:alice,bob,carol', accounts: ['alice', 'bob', 'carol'] });
    expect((carol.roomMessage.peers as Message[]).map((p) => p.account).sort()).toEqual(['alice', 'bob']);
    for (const c of [alice, bob, carol]) c.client.close();
  });

  it('refuses unknown, kicked and disabled people, a call with nobody else, and a kicked caller', async () => {
    const { control } = stack;
    await control.accounts.register('dana', PASSWORD);
    await control.accounts.register('erin', PASSWORD);
    const dana = (await control.accounts.login('dana', PASSWORD, { via: 'cli' })).access_token;
    control.accounts.setDisabled('erin', true);
    const { client } = await hello(stack.tokens.alice);
    expect(await client.refused({ type: 'join', room: 'dm:nobody' }, 'unknown')).toMatchObject({ code: 'not_found', message: 'there is no account nobody' });
    expect(await client.refused({ type: 'join', room: 'dm:erin' }, 'disabled')).toMatchObject({ code: 'forbidden' });
    expect(await client.refused({ type: 'join', room: 'dm:alice' }, 'alone')).toMatchObject({ code: 'invalid_message' });
    expect(await client.refused({ type: 'join', room: 'dm:bob,nobody' }, 'one-unknown')).toMatchObject({ code: 'not_found' });

    const danaClient = (await joined(dana, 'dm:alice')).client;
    control.guild.kick(OPERATOR, 'dana', 'test');
    try {
      expect(await client.refused({ type: 'join', room: 'dm:dana' }, 'kicked')).toMatchObject({
        code: 'forbidden',
        message: 'dana is not a member of this server',
      });
      // Membership is checked again at every publish.
      expect(await danaClient.refused({ type: 'publish', track: 'camera' }, 'kicked-publish')).toMatchObject({ code: 'forbidden' });
      expect(await danaClient.refused({ type: 'join', room: 'dm:alice' }, 'kicked-join')).toMatchObject({ code: 'forbidden' });
    } finally {
      control.guild.join(control.accounts.get('dana'));
    }
    client.close();
  });
});

describe('authentication', () => {
  it('refuses forged tokens and closes the connection', async () => {
    for (const token of forgedTokens(stack.tokens.alice)) {
      const client = await TestClient.open(stack.wsUrl);
      client.send({ type: 'hello', token });
      expect(await client.next('error')).toMatchObject({ code: 'invalid_token' });
      expect((await client.whenClosed()).code).toBe(4001);
    }
  });

  it('refuses anything before hello, but keeps the connection', async () => {
    const client = await TestClient.open(stack.wsUrl);
    open.push(client);
    expect(await client.refused({ type: 'join', room: 'voice:General' }, 'early')).toMatchObject({ code: 'unauthorized' });
    client.send({ type: 'hello', token: stack.tokens.alice });
    expect(await client.next('welcome')).toMatchObject({ account: 'alice' });
    expect(await client.refused({ type: 'hello', token: stack.tokens.alice }, 'twice')).toMatchObject({ code: 'invalid_message' });
    client.close();
  });

  it('accepts the token in an Authorization header on the upgrade', async () => {
    const client = await TestClient.open(stack.wsUrl, { Authorization: `Bearer ${stack.tokens.bob}` });
    expect(await client.next('welcome')).toMatchObject({ account: 'bob' });
    client.close();
    const forged = await TestClient.open(stack.wsUrl, { Authorization: `Bearer ${forgedTokens(stack.tokens.bob)[0]}` });
    expect(await forged.next('error')).toMatchObject({ code: 'invalid_token' });
    expect((await forged.whenClosed()).code).toBe(4001);
  });

  it('takes a refreshed token of the same account only', async () => {
    const { client } = await hello(stack.tokens.alice);
    const fresh = (await stack.control.accounts.login('alice', 'correct horse battery staple', { via: 'cli' })).access_token;
    client.send({ type: 'refresh', token: fresh });
    expect(await client.next('refreshed')).toMatchObject({ turn: { ttl: 600 } });
    expect(await client.refused({ type: 'refresh', token: stack.tokens.bob }, 'other')).toMatchObject({ code: 'forbidden' });
    client.close();
  });

  it('renews TURN credentials on request while the token is valid, and not for a disabled account', async () => {
    await stack.control.accounts.register('frank', PASSWORD);
    const token = (await stack.control.accounts.login('frank', PASSWORD, { via: 'cli' })).access_token;
    const { client, welcome } = await hello(token);
    const first = welcome.turn as { username: string; ttl: number };
    // The username carries the expiry in whole seconds: a renewal a second later expires later.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    client.send({ type: 'turn', id: 'renew' });
    const renewed = await client.next('turn', (m) => m.ref === 'renew');
    const next = renewed.turn as { username: string; credential: string; ttl: number };
    expect(next.ttl).toBe(first.ttl);
    expect(Number(next.username.split(':')[0])).toBeGreaterThan(Number(first.username.split(':')[0]));
    expect(next.username.endsWith(':frank')).toBe(true);
    stack.control.accounts.setDisabled('frank', true);
    expect(await client.refused({ type: 'turn' }, 'disabled')).toMatchObject({ code: 'forbidden' });
    client.close();
  });
});

describe('bad input', () => {
  it('answers malformed messages with an error and keeps the connection', async () => {
    const { client } = await hello(stack.tokens.carol);
    client.send('{not json');
    expect(await client.next('error')).toMatchObject({ code: 'invalid_message', message: 'the message is not valid JSON' });
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await client.next('error')).toMatchObject({ code: 'invalid_message' });
    for (const [id, bad] of Object.entries({
      unknownType: { type: 'teleport' },
      noType: { room: 'voice:General' },
      array: [1, 2],
      badTrack: { type: 'publish', track: 'microphone' },
      extraField: { type: 'leave', sneaky: true },
      badCandidate: { type: 'candidate', to: 'x', candidate: { candidate: 5 } },
      hugeSdp: { type: 'offer', to: 'x', sdp: 'a'.repeat(40_000) },
      streamWithSpace: { type: 'publish', track: 'camera', stream: 'my stream' },
      longStream: { type: 'publish', track: 'camera', stream: 'x'.repeat(65) },
      emptyStream: { type: 'publish', track: 'camera', stream: '' },
      transceiverNoKind: { type: 'transceiver', to: 'x' },
      renegotiateNoPeer: { type: 'renegotiate' },
      turnWithToken: { type: 'turn', token: 'x' },
      dmEmptyName: { type: 'join', room: 'dm:bob,,carol' },
      dmTooMany: { type: 'join', room: `dm:${Array.from({ length: 11 }, (_, i) => `u${i}`).join(',')}` },
    })) {
      client.send(Array.isArray(bad) ? bad : { ...bad, id });
      const error = await client.next('error');
      expect(error, id).toMatchObject({ code: 'invalid_message' });
      if (!Array.isArray(bad)) expect(error.ref, id).toBe(id);
    }
    client.send({ type: 'join', room: 'voice:General' });
    expect(await client.next('room')).toMatchObject({ room: 'voice:General' });
    client.close();
  });

  it('closes a connection that sends a message over the size limit', async () => {
    const { client } = await hello(stack.tokens.carol);
    client.send({ type: 'offer', to: 'x', sdp: 'a'.repeat(70 * 1024) });
    expect((await client.whenClosed()).code).toBe(1009);
  });

  it('rate-limits a flood with errors, without closing', async () => {
    const { client } = await hello(stack.tokens.bob);
    for (let i = 0; i < 400; i++) client.send({ type: 'leave' });
    expect(await client.next('error', (m) => m.code === 'rate_limited')).toMatchObject({ message: 'too many messages; slow down' });
    expect(client.closed).toBeUndefined();
    client.close();
  });
});

describe('HTTP', () => {
  it('serves health and metrics, and 404s other WebSocket paths', async () => {
    const health = await fetch(`${stack.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const metrics = await (await fetch(`${stack.baseUrl}/metrics`)).text();
    expect(metrics).toContain('alloquy_signalling_messages_total');
    await expect(TestClient.open(stack.wsUrl.replace('/api/v1/signalling', '/elsewhere'))).rejects.toThrow(/404/);
  });
});
