/**
 * The video module in real headless Chromium (fake camera and screen) against the whole stack as
 * `scripts/up` runs it: the signalling service, the control server deciding CONNECT and VIDEO
 * over gRPC, and coturn relaying. Each test checks what a user would see: remote video that
 * has a size and whose decoded frame count keeps growing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { turnRestCredentials } from '@alloquy/stack/coturn/process.js';
import type { PageFailure, PeerSample, ShownVideo } from '../support/video-page.js';
import { startVideoStack, type VideoPage, type VideoStack } from '../support/video-stack.js';
import WebSocket from 'ws';
import { VideoError, SignallingConnection, type WebSocketConstructor } from '@alloquy/client/video';
import { eventually, forgedTokens } from '@alloquy/stack';

const ACCOUNTS = ['owner', 'alice', 'bob', 'carol', 'dave'] as const;
let env: VideoStack;
let studio: string;

/** Polls until `check` answers something other than undefined/false; browsers on 2 busy cores get 30 s. */
function until<T>(what: string, check: () => Promise<T | undefined | false>): Promise<T> {
  return eventually(check, 30_000, what);
}

function aspect(video: ShownVideo): number {
  return video.videoWidth / video.videoHeight;
}

function ok<T>(value: T | PageFailure): T {
  if (typeof value === 'object' && value !== null && (value as PageFailure).failed === true) throw new Error(`page failed: ${JSON.stringify(value)}`);
  return value as T;
}

async function user(account: (typeof ACCOUNTS)[number]): Promise<VideoPage> {
  const page = await env.newUserPage();
  ok(await page.connect(env.signallingUrl, env.tokens[account]!));
  return page;
}

/** The page's remote videos of `account`'s `kind` once it shows frames with a size. */
async function showing(page: VideoPage, account: string, kind: 'camera' | 'screen'): Promise<ShownVideo> {
  return until(`${account}'s ${kind}`, async () => (await page.videos()).find((v) => v.account === account && v.kind === kind && v.videoWidth > 0));
}

/** Frames decoded from `account`, sampled twice: the second count must be larger. */
async function framesGrow(page: VideoPage, account: string): Promise<[PeerSample, PeerSample]> {
  const sample = async () => (await page.peers()).find((p) => p.account === account);
  const first = await until(`frames from ${account}`, async () => {
    const s = await sample();
    return s && s.framesDecoded > 0 ? s : undefined;
  });
  const second = await until(`more frames from ${account}`, async () => {
    const s = await sample();
    return s && s.framesDecoded > first.framesDecoded ? s : undefined;
  });
  return [first, second];
}

beforeAll(async () => {
  env = await startVideoStack(ACCOUNTS);
  const owner = env.tokens.owner!;
  // Studio: everyone may connect and share video but carol, who may only watch.
  studio = (await env.api('POST', '/channels', { kind: 'voice', name: 'Studio' }, owner)).id;
  await env.api('PUT', `/channels/${studio}/overwrites/member/carol`, { allow: [], deny: ['VIDEO'] }, owner);
  // Backstage: nobody but alice may connect.
  const backstage = (await env.api('POST', '/channels', { kind: 'voice', name: 'Backstage' }, owner)).id;
  await env.api('PUT', `/channels/${backstage}/overwrites/role/@everyone`, { allow: [], deny: ['CONNECT'] }, owner);
  await env.api('PUT', `/channels/${backstage}/overwrites/member/alice`, { allow: ['CONNECT'], deny: [] }, owner);
}, 180_000);

afterAll(async () => {
  await env?.close();
}, 60_000);

describe('video in a voice channel, through coturn only', () => {
  it('carries two cameras and a screen over relay candidate pairs, and follows a screen share ending', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    try {
      expect(ok(await alice.join('voice:Studio', 'relay'))).toEqual({ room: 'voice:Studio', peers: [] });
      expect(ok(await bob.join(`voice:${studio}`, 'relay'))).toEqual({ room: 'voice:Studio', peers: ['alice'] });

      const aliceCamera = ok(await alice.start('camera'));
      const bobCamera = ok(await bob.start('camera'));
      const aliceScreen = ok(await alice.start('screen'));
      expect(aliceCamera.width).toBeGreaterThan(0);
      expect(aliceScreen.width).toBeGreaterThan(0);

      // Each side shows the other's camera; bob also alice's screen, at the screen's own size.
      const cameraAtBob = await showing(bob, 'alice', 'camera');
      const screenAtBob = await showing(bob, 'alice', 'screen');
      const cameraAtAlice = await showing(alice, 'bob', 'camera');
      // The encoder may send fewer pixels at first (bandwidth estimation), never another shape:
      // the fake camera is 4:3 and the fake screen 16:9, so the shape tells them apart.
      expect(aspect(cameraAtBob)).toBeCloseTo(aliceCamera.width / aliceCamera.height, 1);
      expect(aspect(screenAtBob)).toBeCloseTo(aliceScreen.width / aliceScreen.height, 1);
      expect(aspect(cameraAtAlice)).toBeCloseTo(bobCamera.width / bobCamera.height, 1);
      expect(aliceCamera.width / aliceCamera.height).not.toBeCloseTo(aliceScreen.width / aliceScreen.height, 1);
      expect((await alice.videos()).map((v) => v.kind)).toEqual(['camera']);

      // Frames keep being decoded on both sides, and both ends of the pair in use are TURN relays.
      const [, atBob] = await framesGrow(bob, 'alice');
      const [, atAlice] = await framesGrow(alice, 'bob');
      for (const sample of [atBob, atAlice]) {
        expect(sample.pair).toMatchObject({ local: { type: 'relay' }, remote: { type: 'relay' }, state: 'succeeded' });
      }

      // Ending the share renegotiates: the screen disappears at bob's, alice's camera goes on.
      ok(await alice.stop('screen'));
      await until('the screen to end at bob', async () => !(await bob.videos()).some((v) => v.kind === 'screen'));
      expect((await bob.log()).events).toContain('ended alice screen');
      const before = (await bob.peers()).find((p) => p.account === 'alice')!.framesDecoded;
      await until('alice camera still decoding', async () => ((await bob.peers()).find((p) => p.account === 'alice')?.framesDecoded ?? 0) > before);

      // Sharing again after a stop works on the same connection.
      ok(await alice.start('screen'));
      await showing(bob, 'alice', 'screen');

      // Leaving tears everything down on the other side.
      ok(await bob.leave());
      await until('bob gone at alice', async () => (await alice.videos()).length === 0 && (await alice.peers()).length === 0);
      expect((await alice.log()).events).toEqual(expect.arrayContaining(['joined bob', 'connected bob', 'stream bob camera', 'ended bob camera', 'left bob']));
      expect((await alice.log()).serviceErrors).toEqual([]);
    } finally {
      await alice.close();
      await bob.close();
    }
  });

  it('connects a member who joins while others already share: the newcomer offers to each', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const carol = await user('carol');
    try {
      ok(await alice.join('voice:Studio', 'relay'));
      ok(await alice.start('camera'));
      ok(await bob.join('voice:Studio', 'relay'));
      ok(await bob.start('screen'));
      // carol (no VIDEO) arrives last and watches both.
      ok(await carol.join('voice:Studio', 'relay'));
      await showing(carol, 'alice', 'camera');
      await showing(carol, 'bob', 'screen');
      await framesGrow(carol, 'alice');
      await framesGrow(carol, 'bob');
      // The two who were there before see each other too.
      await showing(bob, 'alice', 'camera');
      await showing(alice, 'bob', 'screen');
    } finally {
      for (const page of [alice, bob, carol]) await page.close();
    }
  });
});

describe('a DM call, direct', () => {
  it('connects the two people it names over a host pair, without TURN', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    try {
      expect(ok(await alice.join('dm:bob'))).toEqual({ room: 'dm:alice,bob', peers: [] });
      expect(ok(await bob.join('dm:alice'))).toEqual({ room: 'dm:alice,bob', peers: ['alice'] });
      ok(await bob.start('camera'));
      await showing(alice, 'bob', 'camera');
      const [, sample] = await framesGrow(alice, 'bob');
      expect(sample.pair).toMatchObject({ local: { type: 'host' }, remote: { type: 'host' } });
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});

describe('refusals', () => {
  it('refuses a camera and a screen to a member without VIDEO, and never turns the camera on', async () => {
    const carol = await user('carol');
    try {
      ok(await carol.join('voice:Studio'));
      for (const kind of ['camera', 'screen'] as const) {
        const refusal = (await carol.start(kind)) as PageFailure;
        expect(refusal).toMatchObject({ failed: true, code: 'refused', serverCode: 'forbidden' });
        expect(refusal.message).toContain('VIDEO');
        expect(await carol.capturing(kind)).toBe(false);
      }
    } finally {
      await carol.close();
    }
  });

  it('refuses a room without CONNECT, and relaying to a member of a room one is not in', async () => {
    const alice = await user('alice');
    const dave = await user('dave');
    try {
      ok(await alice.join('voice:Backstage'));
      expect(await dave.join('voice:Backstage')).toMatchObject({ failed: true, code: 'refused', serverCode: 'forbidden' });
      const aliceId = ok(await alice.connect(env.signallingUrl, env.tokens.alice!)).peerId;
      // dave is in no room: the service refuses to carry his offer to alice.
      await dave.sendRaw({ type: 'offer', to: aliceId, sdp: 'v=0' });
      await until('the refusal', async () => (await dave.log()).serviceErrors.find((e) => e.code === 'not_in_room'));
      // In another room, alice is unknown to him.
      ok(await dave.join('voice:Studio'));
      await dave.sendRaw({ type: 'offer', to: aliceId, sdp: 'v=0' });
      await until('the refusal', async () => (await dave.log()).serviceErrors.find((e) => e.code === 'unknown_peer'));
      expect((await alice.log()).events).toEqual([]);
    } finally {
      await alice.close();
      await dave.close();
    }
  });

  it('refuses forged tokens at the signalling service', async () => {
    const page = await env.newUserPage();
    try {
      for (const token of forgedTokens(env.tokens.alice!)) {
        expect(await page.connect(env.signallingUrl, token)).toMatchObject({ failed: true, code: 'refused', serverCode: 'invalid_token' });
      }
    } finally {
      await page.close();
    }
  });

  it("gets relay candidates from the stack's coturn with fresh credentials, and none with expired ones", async () => {
    const page = await env.newUserPage();
    try {
      const { turn } = env.stack;
      const fresh = turnRestCredentials(turn.secret, 'alice', new Date(Date.now() + 600_000));
      const expired = turnRestCredentials(turn.secret, 'alice', new Date(Date.now() - 60_000));
      const forged = turnRestCredentials('not the secret', 'alice', new Date(Date.now() + 600_000));
      const urls = `turn:127.0.0.1:${turn.port}?transport=udp`;
      expect((await page.probeTurn({ urls, username: fresh.username, credential: fresh.password })).relayCandidates).toBeGreaterThan(0);
      for (const bad of [expired, forged]) {
        const probe = await page.probeTurn({ urls, username: bad.username, credential: bad.password });
        expect(probe.relayCandidates).toBe(0);
        expect(probe.errorCodes).toContain(401);
      }
    } finally {
      await page.close();
    }
  });
});

describe('SignallingConnection (in Node, with ws)', () => {
  it('matches replies and refusals to requests, and keeps TURN credentials fresh', async () => {
    const connection = await SignallingConnection.open({
      url: env.signallingUrl,
      token: env.tokens.dave!,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      turnRenewalMs: 1100,
    });
    try {
      expect(connection.account).toBe('dave');
      const first = connection.turn;
      // Renewed without being asked; the username carries a later expiry.
      const renewed = await connection.next('turn');
      expect(Number(renewed.username.split(':')[0])).toBeGreaterThan(Number(first.username.split(':')[0]));
      expect(connection.turn).toEqual(renewed);
      const refusal = await connection.request({ type: 'join', room: 'voice:Nowhere' }, 'room').catch((err: unknown) => err);
      expect(refusal).toBeInstanceOf(VideoError);
      expect(refusal).toMatchObject({ code: 'refused', serverCode: 'not_found' });
      expect((await connection.request({ type: 'join', room: 'voice:Studio' }, 'room')).room).toBe('voice:Studio');
    } finally {
      connection.close();
    }
    await expect(connection.request({ type: 'leave' }, 'left')).rejects.toMatchObject({ code: 'connection_closed' });
  });

  it("rejects a forged token with the service's reason", async () => {
    const [forged] = forgedTokens(env.tokens.dave!);
    const failure = await SignallingConnection.open({ url: env.signallingUrl, token: forged!, WebSocket: WebSocket as unknown as WebSocketConstructor }).catch(
      (err: unknown) => err,
    );
    expect(failure).toMatchObject({ name: 'VideoError', code: 'refused', serverCode: 'invalid_token' });
  });
});
