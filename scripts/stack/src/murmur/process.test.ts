/**
 * Integration tests against the real /usr/sbin/murmurd (Debian's mumble-server
 * 1.3), configured the way the stack configures it.
 */
import { X509Certificate } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { chmod, chown, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptsTcp } from '../net-wait.js';
import { freePorts } from '../ports.js';
import { ensureCertificate } from '../tls.js';
import { DEFAULT_MURMUR_AUTOBAN } from './config.js';
import { decodeProto, encodeProto, MumbleMessage, MumbleProbe, MumbleRejectType, mumbleUdpPing } from './mumble-probe.js';
import { murmurRunUser, parseMurmurStartup, startMurmur, type MurmurHandle, type StartMurmurOptions } from './process.js';

const run = promisify(execFile);
let dir: string;
let murmur: MurmurHandle;
const probes: MumbleProbe[] = [];

async function probe(handle: MurmurHandle = murmur): Promise<MumbleProbe> {
  const connection = await MumbleProbe.connect({ host: handle.address, port: handle.ports.mumble });
  probes.push(connection);
  return connection;
}

/** startMurmur must fail with `pattern`; a Murmur that starts anyway is stopped, not leaked. */
async function expectStartFailure(options: StartMurmurOptions, pattern: RegExp): Promise<void> {
  let handle: MurmurHandle;
  try {
    handle = await startMurmur(options);
  } catch (error) {
    expect((error as Error).message).toMatch(pattern);
    return;
  }
  await handle.stop();
  throw new Error(`startMurmur succeeded, expected a failure matching ${pattern}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alloquy-murmur-'));
  // A certificate only root can read, like the stack's: Murmur must read it before dropping privileges.
  const tls = await ensureCertificate(join(dir, 'tls'), ['localhost']);
  await chmod(join(dir, 'tls'), 0o700);
  // The stack's autoban limits, not the test default (off), to show they do not lock loopback out.
  murmur = await startMurmur({ workDir: join(dir, 'work'), tls, autoban: DEFAULT_MURMUR_AUTOBAN });
}, 60_000);

afterAll(async () => {
  for (const connection of probes) connection.close();
  await murmur?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('startMurmur', () => {
  it('serves the Mumble protocol over TLS with the stack certificate', async () => {
    const connection = await probe();
    const version = await connection.serverVersion();
    // Murmur 1.3.x announces (1 << 16) | (3 << 8) | patch.
    expect(version.version >> 8).toBe(0x0103);
    expect(version.release).toMatch(/^1\.3\./);
    const served = connection.certificate.fingerprint256;
    const ours = new X509Certificate(await readFile(murmur.certPath)).fingerprint256;
    expect(served).toBe(ours);
  });

  it('answers the UDP ping on the voice port, with the configured limits', async () => {
    const pong = await mumbleUdpPing(murmur.address, murmur.ports.mumble);
    expect(pong).toMatchObject({ maxUsers: 1000, maxBandwidth: 72000 });
    expect(pong!.version >> 8).toBe(0x0103);
  });

  it('accepts Ice connections on loopback', async () => {
    expect(await acceptsTcp('127.0.0.1', murmur.ports.mumbleIce)).toBe(true);
    expect(murmur.iceProxy).toBe(`Meta:tcp -h 127.0.0.1 -p ${murmur.ports.mumbleIce}`);
  });

  it('refuses names that are not registered unless they know the server password', async () => {
    const stranger = await (await probe()).login('stranger');
    expect(stranger).toMatchObject({ ok: false, type: MumbleRejectType.WrongServerPW });
    const wrong = await (await probe()).login('stranger', 'guess');
    expect(wrong).toMatchObject({ ok: false, type: MumbleRejectType.WrongServerPW });
    const insider = await (await probe()).login('insider', murmur.serverPassword);
    expect(insider).toMatchObject({ ok: true });
  });

  it('lets a registered user in with their own password, without the server password', async () => {
    // SuperUser (id 0) is the one account a fresh database has; its password was set before the first start.
    const login = await (await probe()).login('SuperUser', murmur.superUserPassword);
    expect(login).toMatchObject({ ok: true });
    const wrong = await (await probe()).login('SuperUser', murmur.serverPassword);
    expect(wrong).toMatchObject({ ok: false, type: MumbleRejectType.WrongUserPW });
    // A generated SuperUser password would have been logged.
    expect(await readFile(murmur.logPath, 'utf8')).not.toMatch(/Password for 'SuperUser' set to/);
  });

  it('negotiates Opus and welcomes users to the network', async () => {
    const connection = await probe();
    const login = await connection.login('opus-user', murmur.serverPassword);
    expect(login).toMatchObject({ ok: true, welcomeText: expect.stringContaining('Alloquy') });
    const codec = decodeProto((await connection.waitFor((frame) => frame.type === MumbleMessage.CodecVersion)).payload);
    expect(codec.get(4)?.[0]).toBe(1);
    expect(connection.channels().get(0)).toBe('Alloquy');
  });

  it('takes every Alloquy username', async () => {
    for (const name of ['a^b`c\\d', 'x|y{z}[w]']) {
      expect(await (await probe()).login(name, murmur.serverPassword), name).toMatchObject({ ok: true });
    }
  });

  it('does not ban an address that connects many times (many users behind one address)', async () => {
    // Murmur's own defaults ban after 10 connections in 120 s, successful ones included.
    for (let i = 0; i < 15; i++) {
      const connection = await probe();
      expect(await connection.login(`user${i}`, murmur.serverPassword)).toMatchObject({ ok: true });
      connection.close();
    }
  });

  it('keeps the database in a folder of its user and murmur.ini private', async () => {
    const user = await murmurRunUser();
    const config = await stat(murmur.configPath);
    expect(config.mode & 0o777).toBe(0o600);
    expect(await readFile(murmur.configPath, 'utf8')).toMatch(/^icesecretread=\S+$/m);
    const database = await stat(murmur.databasePath);
    if (user !== null) {
      expect(config.uid).toBe(0);
      expect((await stat(murmur.dataDir)).uid).toBe(user.uid);
      expect(database.uid).toBe(user.uid);
      expect(await readFile(murmur.logPath, 'utf8')).toMatch(new RegExp(`Successfully switched to uid ${user.uid}`));
    }
  });
});

describe('reaching the data folder', () => {
  it('lets Murmur through a 0700 folder above the data folder (like /root) with an ACL for its user only', async () => {
    const user = await murmurRunUser();
    if (user === null) return; // Not root: Murmur runs as us and needs no help.
    const blocking = await mkdtemp(join(tmpdir(), 'alloquy-murmur-acl-'));
    await chmod(blocking, 0o700);
    // ownedRoot is the data folder's own tree: the 0700 folder above it is not ours to open to everyone.
    const workDir = join(blocking, 'home');
    const handle = await startMurmur({ workDir, ownedRoot: workDir });
    try {
      const visitor = await probe(handle);
      expect(await visitor.login('visitor', handle.serverPassword)).toMatchObject({ ok: true });
      // Nobody else gains anything (with an ACL the group bits show its mask, so read the entries).
      expect((await stat(blocking)).mode & 0o007).toBe(0);
      const { stdout } = await run('getfacl', ['-p', blocking]);
      expect(stdout).toContain(`user:${user.name}:--x`);
      expect(stdout).toMatch(/^group::---$/m);
      expect(stdout).toMatch(/^other::---$/m);
    } finally {
      await handle.stop();
      await rm(blocking, { recursive: true, force: true });
    }
  });
});

describe('stopping and restarting', () => {
  it('stops cleanly on SIGTERM and keeps the database across a restart', async () => {
    const workDir = join(dir, 'restart');
    const first = await startMurmur({ workDir });
    try {
      const admin = await probe(first);
      expect(await admin.login('SuperUser', first.superUserPassword)).toMatchObject({ ok: true });
      // A permanent channel (SuperUser may create one) lives in the database; the name is one Murmur's default pattern refuses.
      admin.send(
        MumbleMessage.ChannelState,
        encodeProto([
          [2, 0],
          [3, "Lobby's room, #1"],
        ]),
      );
      await admin.waitFor((frame) => frame.type === MumbleMessage.ChannelState && decodeProto(frame.payload).get(3)?.[0]?.toString() === "Lobby's room, #1");
      admin.close();
    } finally {
      await first.stop();
    }
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(await readFile(first.logPath, 'utf8')).toMatch(/Caught SIGTERM, exiting/);
    // As a backup restored by root would be: the next start hands it back to Murmur's user.
    const user = await murmurRunUser();
    if (user !== null) await chown(first.databasePath, 0, 0);

    const second = await startMurmur({ workDir });
    try {
      expect(second.databasePath).toBe(first.databasePath);
      if (user !== null) expect((await stat(second.databasePath)).uid).toBe(user.uid);
      const visitor = await probe(second);
      expect(await visitor.login('visitor', second.serverPassword)).toMatchObject({ ok: true });
      expect([...visitor.channels().values()]).toContain("Lobby's room, #1");
      // The SuperUser password follows the one given at each start.
      expect(await (await probe(second)).login('SuperUser', second.superUserPassword)).toMatchObject({ ok: true });
    } finally {
      await second.stop();
    }
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  it('fails with the port named when the Mumble TCP port is taken', async () => {
    const [port] = await freePorts(1);
    const holder = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => holder.once('listening', resolve));
    try {
      await expectStartFailure({ workDir: join(dir, 'taken-tcp'), ports: { mumble: port! } }, new RegExp(`Murmur could not open TCP 127\\.0\\.0\\.1:${port}`));
    } finally {
      holder.close();
    }
  });

  it('fails with the port named when the Mumble UDP port is taken', async () => {
    const [port] = await freePorts(1);
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(port, '127.0.0.1', resolve));
    try {
      await expectStartFailure({ workDir: join(dir, 'taken-udp'), ports: { mumble: port! } }, new RegExp(`Murmur could not open UDP 127\\.0\\.0\\.1:${port}`));
    } finally {
      holder.close();
    }
  });
});

describe('parseMurmurStartup', () => {
  it('reads what Murmur 1.3.4 prints', () => {
    const output = [
      '<W>2026-01-01 10:00:00.000 MurmurIce: Endpoint "tcp -h 127.0.0.1 -p 6502 -t 60000" running',
      '<W>2026-01-01 10:00:00.010 1 => Server listening on 0.0.0.0:64738',
    ].join('\n');
    expect(parseMurmurStartup(output)).toEqual({ listening: true, iceRunning: true, failures: [] });
    const failed = [
      '<C>2026-01-01 10:00:00.000 MurmurIce: Initialization failed: ::Ice::SocketException',
      '<W>2026-01-01 10:00:00.010 1 => Server: TCP Listen on 127.0.0.1:64738 failed: The bound address is already in use',
      '<W>2026-01-01 10:00:00.011 1 => Failed to bind UDP Socket to 127.0.0.1:64738',
      '<F>2026-01-01 10:00:00.012 No password provided',
    ].join('\n');
    expect(parseMurmurStartup(failed)).toEqual({
      listening: false,
      iceRunning: false,
      failures: [
        'the Ice endpoint (::Ice::SocketException)',
        'TCP 127.0.0.1:64738 (The bound address is already in use)',
        'UDP 127.0.0.1:64738',
        'No password provided',
      ],
    });
  });
});
