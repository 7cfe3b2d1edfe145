/**
 * Integration tests against the real /usr/bin/turnserver (Debian's coturn 4.6)
 * configured the way the stack configures it, driven by coturn's own
 * turnutils_uclient (TURN allocations relaying between two loopback clients).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, freeUdpPortRange } from '../ports.js';
import { startCoturn, turnRestCredentials, type CoturnHandle } from './process.js';

const UCLIENT = '/usr/bin/turnutils_uclient';
let dir: string;
let coturn: CoturnHandle;
let port: number;
const secret = randomBytes(32).toString('hex');

interface ClientRun {
  code: number;
  output: string;
}

/** Two clients (-y: client to client through their relays), 3 messages each, over UDP. */
function uclient(username: string, password: string, serverPort = port): Promise<ClientRun> {
  return new Promise((resolve) => {
    execFile(
      UCLIENT,
      ['-p', String(serverPort), '-u', username, '-w', password, '-y', '-n', '3', '-m', '1', '-l', '100', '127.0.0.1'],
      { timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, output: stdout + stderr });
      },
    );
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alloquy-coturn-'));
  [port] = (await freePorts(1)) as [number];
  const relay = await freeUdpPortRange(20);
  coturn = await startCoturn({ workDir: dir, port, relayMin: relay.min, relayMax: relay.max, secret });
}, 30_000);

afterAll(async () => {
  await coturn?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('coturn with TURN REST API credentials', () => {
  it('relays between two clients with valid credentials', async () => {
    const { username, password } = turnRestCredentials(secret, 'alice', new Date(Date.now() + 600_000));
    const run = await uclient(username, password);
    expect(run.output).not.toMatch(/Cannot complete Allocation/);
    expect(run.code).toBe(0);
    // Every message came back through the relays.
    expect(run.output).toMatch(/tot_send_bytes ~ (\d+), tot_recv_bytes ~ \1\b/);
    expect(run.output).toMatch(/Total lost packets 0 /);
  }, 40_000);

  it('refuses a wrong password', async () => {
    const { username } = turnRestCredentials(secret, 'mallory', new Date(Date.now() + 600_000));
    const forged = turnRestCredentials('not-the-secret', 'mallory', new Date(Date.now() + 600_000));
    const run = await uclient(username, forged.password);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/Cannot complete Allocation/);
    expect(await readFile(coturn.logPath, 'utf8')).toContain(`check_stun_auth: Cannot find credentials of user <${username}>`);
  }, 40_000);

  it('refuses expired credentials signed with the right secret', async () => {
    const { username, password } = turnRestCredentials(secret, 'alice', new Date(Date.now() - 60_000));
    const run = await uclient(username, password);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/Cannot complete Allocation/);
    expect(await readFile(coturn.logPath, 'utf8')).toContain(`check_stun_auth: Cannot find credentials of user <${username}>`);
  }, 40_000);

  it('keeps the secret in a private config file and never logs it', async () => {
    expect((await stat(coturn.configPath)).mode & 0o777).toBe(0o600);
    expect(await readFile(coturn.configPath, 'utf8')).toContain(`static-auth-secret=${secret}`);
    expect(await readFile(coturn.logPath, 'utf8')).not.toContain(secret);
  });
});

describe('production peer rules', () => {
  it('refuses to relay to loopback peers without allow-loopback-peers, and exits on SIGTERM', async () => {
    const [otherPort] = (await freePorts(1)) as [number];
    const relay = await freeUdpPortRange(4);
    const strict = await startCoturn({
      workDir: join(dir, 'strict'),
      port: otherPort,
      relayMin: relay.min,
      relayMax: relay.max,
      secret,
      allowLoopbackPeers: false,
    });
    try {
      const { username, password } = turnRestCredentials(secret, 'alice', new Date(Date.now() + 600_000));
      const run = await uclient(username, password, otherPort);
      // The allocation succeeds; the permission for a 127.0.0.1 peer is what coturn refuses (403).
      expect(run.code).not.toBe(0);
      expect(run.output).not.toMatch(/Total lost packets 0 /);
    } finally {
      await strict.stop();
    }
    // coturn 4.6 dies of SIGTERM rather than exiting (the stack counts that signal as a clean stop).
    expect(await strict.exited).toEqual({ code: null, signal: 'SIGTERM' });
  }, 40_000);
});
