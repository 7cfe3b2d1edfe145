/**
 * VoiceClient against a real Murmur 1.3, configured as the stack runs it
 * (@alloquy/stack's startMurmur: loopback, free ports, a temporary folder, a
 * certificate the clients verify).
 *
 * Accounts: until the control relay registers accounts in Murmur, SuperUser
 * is the one registered account (its password set by startMurmur); it creates
 * the channel. Everyone else logs in under an unregistered name with the
 * server password, which is how Murmur treats a name it does not know. Every
 * login goes through `guest()` / `superUser()`: with the relay, give them
 * registered accounts and their own passwords and nothing else changes.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMurmur, type TestMurmur, type TestMurmurOptions } from '../support/murmur.js';
import {
  concatPcm,
  dominantFrequency,
  rms,
  VoiceError,
  VoicePermissionError,
  VoiceRejectedError,
  SAMPLE_RATE,
  sineWave,
  VoiceClient,
  type VoiceConnectOptions,
  type VoiceSessionInfo,
  type VoiceUser,
} from '@alloquy/client/voice';

interface Account {
  username: string;
  password?: string;
}

/** Connection options for `account` on `murmur`, verifying Murmur's certificate. */
function connectOptions(murmur: TestMurmur, account: Account): VoiceConnectOptions {
  return {
    host: murmur.host,
    port: murmur.port,
    username: account.username,
    password: account.password,
    ca: murmur.certPem,
    // The certificate names localhost (and 127.0.0.1); verify against the name.
    servername: 'localhost',
    timeoutMs: 10_000,
  };
}

/** Tracks every client a test opens, so a failing test still disconnects them. */
class Clients {
  private readonly open: VoiceClient[] = [];

  async connect(murmur: TestMurmur, account: Account): Promise<VoiceClient> {
    return (await this.connectWithInfo(murmur, account)).client;
  }

  async connectWithInfo(murmur: TestMurmur, account: Account): Promise<{ client: VoiceClient; info: VoiceSessionInfo }> {
    const client = new VoiceClient();
    const info = await client.connect(connectOptions(murmur, account));
    this.open.push(client);
    return { client, info };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.open.splice(0).map((client) => client.disconnect()));
  }
}

async function withMurmur<T>(options: TestMurmurOptions, body: (murmur: TestMurmur) => Promise<T>): Promise<T> {
  const murmur = await startTestMurmur(options);
  try {
    return await body(murmur);
  } finally {
    await murmur.stop();
  }
}

describe('VoiceClient against Murmur', () => {
  let murmur: TestMurmur;
  const clients = new Clients();
  const superUser = (): Account => ({ username: 'SuperUser', password: murmur.superUserPassword });
  const guest = (username: string): Account => ({ username, password: murmur.serverPassword });

  beforeAll(async () => {
    murmur = await startTestMurmur();
  });

  afterAll(async () => {
    await clients.closeAll();
    await murmur?.stop();
  });

  it('carries a 440 Hz tone from one client to another in the same channel, at the level it was sent', async () => {
    const { client: admin, info } = await clients.connectWithInfo(murmur, superUser());
    expect(info).toMatchObject({ username: 'SuperUser', serverVersion: murmur.version, opus: true });
    expect(admin.self()).toMatchObject({ session: info.session, registeredId: 0 });
    const lounge = await admin.createChannel('Lounge');
    expect(lounge).toMatchObject({ name: 'Lounge', path: 'Lounge', parentId: 0, temporary: false });

    const alice = await clients.connect(murmur, guest('alice'));
    const bob = await clients.connect(murmur, guest('bob'));
    expect(bob.channels().map((channel) => channel.path)).toEqual(['', 'Lounge']);
    expect(bob.findChannel('')?.name).toBe('Alloquy'); // the root channel, named by startMurmur
    await alice.join('Lounge');
    await bob.join(lounge.id);
    const aliceSession = alice.self().session;
    const seenByBob = bob.users().find((user) => user.session === aliceSession);
    expect(seenByBob).toMatchObject({ name: 'alice', channelId: lounge.id, registeredId: undefined });

    // What Bob hears from Alice, and what the admin (left in Root) hears at all.
    const received: Int16Array[] = [];
    const events: string[] = [];
    bob.onPcm((session, pcm) => {
      if (session === aliceSession) received.push(pcm);
    });
    bob.on('speakingStart', (user) => events.push(`start ${user.name} speaking=${user.speaking}`));
    const stopped = new Promise<VoiceUser>((resolve) =>
      bob.on('speakingStop', (user) => {
        events.push(`stop ${user.name} speaking=${user.speaking} after ${received.length} frames`);
        resolve(user);
      }),
    );
    let heardInRoot = 0;
    admin.onPcm(() => heardInRoot++);

    const sent = sineWave({ frequency: 440, durationSeconds: 2, amplitude: 0.5 });
    await alice.play(sent);
    expect(alice.transmitting).toBe(false);
    const stopper = await Promise.race([stopped, sleep(5_000).then(() => undefined)]);
    expect(stopper?.name).toBe('alice');

    // One transmission: a start, then a stop once the last frame is in (the
    // end-of-transmission marker, not the 200 ms timeout, ends it).
    expect(events).toEqual(['start alice speaking=true', `stop alice speaking=false after ${received.length} frames`]);

    const heard = concatPcm(received);
    expect(heard.length / SAMPLE_RATE).toBeGreaterThanOrEqual(1.8);
    expect(heard.length).toBeLessThanOrEqual(sent.length);
    // Judge the steady tone: leave out the first and last 100 ms (Opus start-up, the padded last frame).
    const steady = heard.subarray(SAMPLE_RATE / 10, heard.length - SAMPLE_RATE / 10);
    const { frequency } = dominantFrequency(steady);
    expect(Math.abs(frequency - 440)).toBeLessThanOrEqual(5);
    // Opus at the ~55 kbit/s Murmur's default 72 kbit/s limit allows keeps a
    // steady sine within about 1 % RMS; ±15 % (about ±1.3 dB) leaves room for
    // encoder settings without letting a wrong gain or half-lost audio pass.
    const ratio = rms(steady) / rms(sent);
    expect(ratio).toBeGreaterThan(0.85);
    expect(ratio).toBeLessThan(1.15);

    expect(heardInRoot).toBe(0);
  });

  it('sends 10 ms frames too, and accepts PCM in any chunk size', async () => {
    const frank = await VoiceClient.connect(connectOptions(murmur, guest('frank')), { frameDurationMs: 10 });
    const grace = await clients.connect(murmur, guest('grace'));
    try {
      const frankSession = frank.self().session;
      const frameSizes = new Set<number>();
      const received: Int16Array[] = [];
      grace.onPcm((session, pcm) => {
        if (session !== frankSession) return;
        frameSizes.add(pcm.length);
        received.push(pcm);
      });
      const stopped = once(grace, 'speakingStop');
      // 505 ms (50.5 frames) in 37 ms chunks, paced by hand like a capture callback would.
      const tone = sineWave({ frequency: 880, durationSeconds: 0.505, amplitude: 0.3 });
      const chunk = (SAMPLE_RATE * 37) / 1000;
      let frames = 0;
      for (let offset = 0; offset < tone.length; offset += chunk) {
        frames += frank.sendPcm(tone.subarray(offset, offset + chunk));
        await sleep(37);
      }
      frank.endTransmission();
      await Promise.race([stopped, sleep(5_000)]);
      expect(frames).toBe(50);
      expect([...frameSizes]).toEqual([480]);
      // The half frame left over went out with endTransmission(), padded with silence.
      const heard = concatPcm(received);
      expect(heard.length).toBe(51 * 480);
      expect(Math.abs(dominantFrequency(heard.subarray(4800)).frequency - 880)).toBeLessThanOrEqual(5);
    } finally {
      await frank.disconnect();
    }
  });

  it('reports users joining, moving between channels and leaving', async () => {
    const watcher = await clients.connect(murmur, guest('watcher'));
    const log: string[] = [];
    watcher.on('userJoined', (user) => log.push(`joined ${user.name}`));
    watcher.on('userMoved', (user, from, to) => log.push(`moved ${user.name} ${from?.name}->${to?.name}`));
    const left = new Promise<void>((resolve) =>
      watcher.on('userLeft', (user) => {
        log.push(`left ${user.name}`);
        resolve();
      }),
    );

    const carol = await VoiceClient.connect(connectOptions(murmur, guest('carol')));
    await carol.join('Lounge');
    await carol.disconnect();
    await Promise.race([left, sleep(5_000)]);
    expect(log).toEqual(['joined carol', 'moved carol Alloquy->Lounge', 'left carol']);
  });

  it("refuses a wrong account password with Murmur's Reject reason, promptly", async () => {
    const started = performance.now();
    const failure = await VoiceClient.connect(connectOptions(murmur, { username: 'SuperUser', password: 'not it' })).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(VoiceRejectedError);
    const rejected = failure as VoiceRejectedError;
    expect(rejected.rejectType).toBe('WrongUserPW');
    expect(rejected.reason).toMatch(/password/i);
    expect(rejected.isWrongPassword()).toBe(true);
    expect(rejected.message).toMatch(/^Murmur rejected the login: WrongUserPW \(/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('tells a refused action apart: unregistered users may not create channels, unknown channels are named', async () => {
    const visitor = await clients.connect(murmur, guest('visitor'));
    const failure = await visitor.createChannel('Mine').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(VoicePermissionError);
    expect((failure as VoicePermissionError).deniedType).toBe('Permission');
    await expect(visitor.join('Nowhere')).rejects.toMatchObject({ code: 'no_such_channel' });
  });

  it('refuses a server whose certificate it cannot verify', async () => {
    const options = { ...connectOptions(murmur, guest('dave')), ca: undefined };
    await expect(VoiceClient.connect(options)).rejects.toMatchObject({ name: 'VoiceError', code: 'tls_failed' });
  });

  it('refuses a wrong server password, accepts the right one, and reports the server going away', async () => {
    await withMurmur({ serverPassword: 'letmein' }, async (locked) => {
      const failure = await VoiceClient.connect(connectOptions(locked, { username: 'erin', password: 'nope' })).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(VoiceRejectedError);
      expect(failure).toMatchObject({ rejectType: 'WrongServerPW' });

      const erin = await VoiceClient.connect(connectOptions(locked, { username: 'erin', password: 'letmein' }));
      expect(erin.connected).toBe(true);
      const gone = once(erin, 'disconnected');
      await locked.stop();
      const [info] = (await Promise.race([gone, sleep(5_000).then(() => [undefined])])) as [{ reason: string } | undefined];
      expect(info?.reason).toBe('connection closed');
      expect(erin.connected).toBe(false);
      expect(() => erin.sendPcm(new Int16Array(960))).toThrow(VoiceError);
    });
  });
});
