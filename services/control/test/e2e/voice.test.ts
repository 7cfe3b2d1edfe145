/**
 * The voice half of the "Must show", end to end: the whole stack as `scripts/up` runs
 * it (supervisor, InspIRCd, Murmur, control server) on free ports; accounts made over HTTP;
 * Mumble logins with @alloquy/stack's MumbleProbe (a bare protocol client) over TLS; the
 * control server and Murmur killed with SIGKILL and brought back by the supervisor.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VoiceClient, VoiceRejectedError, concatPcm, dominantFrequency, rms, sineWave, SAMPLE_RATE } from '@alloquy/client/voice';
import { MumbleProbe, mumbleLogin, startStack, type RunningStack } from '@alloquy/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpApi } from '../support/http-api.js';

let stack: RunningStack;
const held: MumbleProbe[] = [];
const ACCOUNTS = [
  ['alice', 'alice-password'],
  ['bob', 'bob-password'],
  ['carol', 'carol-password'],
] as const;

const { post } = httpApi(() => stack.httpUrl);

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const murmurUp = async () => (await stack.health())?.components.murmur?.status === 'up';
const synced = async () => {
  const m = (await stack.health())?.components.murmur;
  return m?.status === 'up' && typeof m.lastSyncAt === 'string';
};
const mumbleServer = () => ({ host: '127.0.0.1', port: stack.ports.mumble });
const login = (name: string, password: string) => mumbleLogin(mumbleServer(), name, password);

beforeAll(async () => {
  stack = await startStack({ home: mkdtempSync(join(tmpdir(), 'alloquy-e2e-voice-')) });
  await until('the relay connected to Murmur and in sync', synced);
  for (const [name, password] of ACCOUNTS) expect((await post('/api/v1/accounts', { username: name, password })).status).toBe(201);
}, 90_000);

afterAll(async () => {
  for (const c of held) c.close();
  await stack?.stop();
}, 60_000);

describe('voice through the stack', () => {
  it('lets every account into Murmur with its own password, and nobody else', async () => {
    for (const [name, password] of ACCOUNTS) {
      await until(`${name} logs in to Murmur`, async () => (await login(name, password)).ok);
    }
    expect(await login('alice', 'bob-password')).toMatchObject({ ok: false });
    expect(await login('mallory', 'mallory-password')).toMatchObject({ ok: false });
  });

  it('carries a 440 Hz tone between two accounts in the General voice channel, with the client library', async () => {
    const connect = (username: string, password: string) =>
      VoiceClient.connect({
        host: '127.0.0.1',
        port: stack.ports.mumble,
        username,
        password,
        // The stack's own certificate, verified, as a desktop client pinning it would.
        ca: readFileSync(join(stack.home, 'tls', 'cert.pem'), 'utf8'),
        servername: 'localhost',
        timeoutMs: 10_000,
      });
    const alice = await connect('alice', 'alice-password');
    const bob = await connect('bob', 'bob-password');
    try {
      await alice.join('General');
      await bob.join('General');
      const aliceSession = alice.self().session;
      const received: Int16Array[] = [];
      bob.onPcm((session, pcm) => {
        if (session === aliceSession) received.push(pcm);
      });
      const stopped = new Promise((resolve) => bob.on('speakingStop', resolve));

      const sent = sineWave({ frequency: 440, durationSeconds: 2, amplitude: 0.5 });
      await alice.play(sent);
      await Promise.race([stopped, sleep(5000)]);

      const heard = concatPcm(received);
      expect(heard.length / SAMPLE_RATE).toBeGreaterThanOrEqual(1.8);
      // The steady part: Opus start-up and the padded last frame left out.
      const steady = heard.subarray(SAMPLE_RATE / 10, heard.length - SAMPLE_RATE / 10);
      expect(Math.abs(dominantFrequency(steady).frequency - 440)).toBeLessThanOrEqual(5);
      const ratio = rms(steady) / rms(sent);
      expect(ratio).toBeGreaterThan(0.85);
      expect(ratio).toBeLessThan(1.15);
    } finally {
      await alice.disconnect();
      await bob.disconnect();
    }
    // A wrong password is a clear rejection, not a hang.
    await expect(connect('alice', 'bob-password')).rejects.toBeInstanceOf(VoiceRejectedError);
  });

  it('keeps voice sessions up through kill -9 of the control server, and new logins keep working', async () => {
    const alice = await MumbleProbe.connect({ ...mumbleServer(), keepAlive: true });
    held.push(alice);
    expect(await alice.login('alice', 'alice-password')).toMatchObject({ ok: true });

    const before = stack.pidOf('control');
    process.kill(before!, 'SIGKILL');
    // Murmur needs nothing from the control server to let accounts in.
    expect(await login('bob', 'bob-password')).toMatchObject({ ok: true });
    await until('the control server restarted by the supervisor', async () => {
      const pid = stack.pidOf('control');
      return pid !== undefined && pid !== before && (await synced());
    });
    expect(alice.isClosed).toBe(false);
    expect(await login('carol', 'carol-password')).toMatchObject({ ok: true });
    // And the restarted relay works: a new account gets voice.
    expect((await post('/api/v1/accounts', { username: 'dave', password: 'dave-password' })).status).toBe(201);
    await until('dave logs in to Murmur', async () => (await login('dave', 'dave-password')).ok, 5000);
    alice.close();
  });

  it('after Murmur is killed and restarted, the relay reconnects and every account still logs in', async () => {
    const before = stack.pidOf('murmur');
    expect(before).toBeTypeOf('number');
    process.kill(before!, 'SIGKILL');
    await until('murmur restarted and the relay back in sync', async () => {
      const pid = stack.pidOf('murmur');
      return pid !== undefined && pid !== before && (await murmurUp()) && (await synced());
    });
    for (const [name, password] of [...ACCOUNTS, ['dave', 'dave-password']] as const) {
      await until(`${name} logs in to Murmur after its restart`, async () => (await login(name, password)).ok, 5000);
    }
  });
});
