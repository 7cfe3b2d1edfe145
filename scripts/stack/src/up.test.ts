/**
 * `up` end to end, through startStack: the real InspIRCd, the real supervisor,
 * and a stand-in control server (fixtures/fake-control.mjs) so this package is
 * testable while services/control evolves on its own.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ircLinkUp } from './health.js';
import { MumbleProbe } from './murmur/mumble-probe.js';
import { murmurRunUser } from './murmur/process.js';
import { acceptsTcp } from './net-wait.js';
import { PORT_ENV_VARS, PORT_NAMES } from './ports.js';
import { startStack, type RunningStack } from './stack-testing.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const FAKE_CONTROL = join(packageDir, 'fixtures', 'fake-control.mjs');
const env = { ALLOQUY_CONTROL_ENTRY: FAKE_CONTROL };

let home: string;
const stacks: RunningStack[] = [];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'alloquy-up-'));
  // startStack runs dist/up.js: make sure it is this source, not a stale build.
  // A type error elsewhere in the package still emits JavaScript, so test that
  // (loudly) rather than fail every test here for someone else's error.
  await promisify(execFile)(join(packageDir, 'node_modules', '.bin', 'tsc'), ['-b'], { cwd: packageDir }).catch((error: { stdout?: string }) => {
    console.warn(`tsc -b reported errors; testing the JavaScript it emitted anyway:\n${error.stdout ?? ''}`);
  });
  await stat(join(packageDir, 'dist', 'up.js'));
}, 120_000);

afterEach(async () => {
  await Promise.all(stacks.splice(0).map((stack) => stack.stop()));
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

async function start(options: { env?: NodeJS.ProcessEnv } = {}): Promise<RunningStack> {
  const stack = await startStack({ home, env: { ...env, ...options.env } });
  stacks.push(stack);
  return stack;
}

/** Alive and not a zombie: orphans are reparented to an init that may never reap them. */
function running(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(25);
  }
}

/** Runs up.js to completion (for the cases where it refuses to start). */
async function runUp(extraEnv: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('ALLOQUY_')));
  return promisify(execFile)(process.execPath, [join(packageDir, 'dist', 'up.js')], {
    env: { ...inherited, ...extraEnv },
    timeout: 30_000,
  }).then(
    ({ stderr }) => ({ code: 0, stderr }),
    (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
  );
}

/** Connects to Murmur's voice port like a Mumble client and logs in. */
async function mumbleLogin(port: number, username: string, password: string): Promise<{ release: string; ok: boolean }> {
  const probe = await MumbleProbe.connect({ host: '127.0.0.1', port });
  try {
    const { release } = await probe.serverVersion();
    return { release, ok: (await probe.login(username, password)).ok };
  } finally {
    probe.close();
  }
}

describe('up', () => {
  it('prepares the data folder and runs InspIRCd, Murmur and the control server linked together', async () => {
    const stack = await start();

    for (const secret of ['irc-link.key', 'jwt.key', 'irc-cloak.key', 'murmur-ice.key', 'murmur-server.key']) {
      const path = join(home, 'secrets', secret);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(await readFile(path, 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    }
    const superUserPassword = await readFile(join(home, 'secrets', 'murmur-superuser.key'), 'utf8');
    expect(superUserPassword).toMatch(/^[0-9a-f]{32}$/);
    expect((await stat(join(home, 'tls', 'key.pem'))).mode & 0o777).toBe(0o600);
    const config = join(home, 'inspircd', 'inspircd.conf');
    expect((await stat(config)).mode & 0o777).toBe(0o600);
    expect(await readFile(config, 'utf8')).toContain(`port="${stack.ports.ircLink}" type="servers"`);

    const inspircd = stack.pidOf('inspircd');
    const murmur = stack.pidOf('murmur');
    const control = stack.pidOf('control');
    expect(running(inspircd)).toBe(true);
    expect(running(murmur)).toBe(true);
    expect(running(control)).toBe(true);

    // Murmur: its config private and outside its data folder, its database in the data folder, both ports up.
    const murmurIni = join(home, 'murmur.ini');
    expect((await stat(murmurIni)).mode & 0o777).toBe(0o600);
    const murmurConfig = await readFile(murmurIni, 'utf8');
    expect(murmurConfig).toContain(`port=${stack.ports.mumble}\n`);
    expect(murmurConfig).toContain(`ice="tcp -h 127.0.0.1 -p ${stack.ports.mumbleIce}"`);
    expect(murmurConfig).toContain(`host="127.0.0.1"`);
    expect(murmurConfig).toContain(`database="${join(home, 'murmur', 'murmur.sqlite')}"`);
    expect(murmurConfig).toContain(`sslCert="${join(home, 'tls', 'cert.pem')}"`);
    expect(murmurConfig).toMatch(/^icesecretread=\S+$/m);
    const murmurUser = await murmurRunUser();
    if (murmurUser !== null) expect((await stat(join(home, 'murmur', 'murmur.sqlite'))).uid).toBe(murmurUser.uid);
    expect(await acceptsTcp('127.0.0.1', stack.ports.mumbleIce)).toBe(true);
    const superUser = await mumbleLogin(stack.ports.mumble, 'SuperUser', superUserPassword);
    expect(superUser).toEqual({ release: expect.stringMatching(/^1\.3\./), ok: true });
    // Only registered accounts get in: the server password is nobody's.
    expect((await mumbleLogin(stack.ports.mumble, 'stranger', 'guess')).ok).toBe(false);
    expect(await readFile(stack.logPath('murmur'), 'utf8')).toMatch(/Server listening on 127\.0\.0\.1:/);

    // Every setting the components must agree on reaches the control server explicitly.
    const controlEnv = (await (await fetch(`${stack.httpUrl}/env`)).json()) as Record<string, string>;
    for (const name of PORT_NAMES) expect(controlEnv[PORT_ENV_VARS[name]]).toBe(String(stack.ports[name]));
    expect(controlEnv).toMatchObject({
      ALLOQUY_HOME: home,
      ALLOQUY_HTTP_HOST: '127.0.0.1',
      ALLOQUY_IRC_SERVER_NAME: 'irc.alloquy.local',
      ALLOQUY_IRC_SERVER_SID: '1AL',
      ALLOQUY_IRC_NETWORK: 'Alloquy',
      ALLOQUY_IRC_SERVICES_NAME: 'services.alloquy.local',
      ALLOQUY_IRC_SERVICES_SID: '0AS',
      ALLOQUY_IRC_LINK_HOST: '127.0.0.1',
      ALLOQUY_IRC_LINK_PASSWORD_PATH: join(home, 'secrets', 'irc-link.key'),
      ALLOQUY_JWT_SECRET_PATH: join(home, 'secrets', 'jwt.key'),
      ALLOQUY_DB_PATH: join(home, 'control.sqlite'),
      ALLOQUY_MURMUR_ICE_HOST: '127.0.0.1',
      ALLOQUY_MURMUR_ICE_SECRET_PATH: join(home, 'secrets', 'murmur-ice.key'),
    });
    // Settings only the control server reads are its own (env or control.json), never pinned by up.
    expect(controlEnv.ALLOQUY_REGISTRATION).toBeUndefined();
    expect(controlEnv.ALLOQUY_LOG_LEVEL).toBeUndefined();

    const upLog = await readFile(join(home, 'logs', 'up.log'), 'utf8');
    expect(upLog).toMatch(new RegExp(`IRC over TLS +ircs://localhost:${stack.ports.ircTls}`));
    expect(upLog).toContain(`${stack.httpUrl}/healthz`);
    expect(upLog).toMatch(new RegExp(`Voice \\(Mumble\\) +127\\.0\\.0\\.1:${stack.ports.mumble} .*certificate ${join(home, 'tls', 'cert.pem')}`));
    expect(upLog).toMatch(new RegExp(`Murmur Ice +127\\.0\\.0\\.1:${stack.ports.mumbleIce} +loopback only`));
    for (const secret of ['irc-link.key', 'murmur-ice.key', 'murmur-server.key', 'murmur-superuser.key']) {
      const value = await readFile(join(home, 'secrets', secret), 'utf8');
      expect(upLog).not.toContain(value);
      expect(await readFile(stack.logPath('murmur'), 'utf8')).not.toContain(value);
    }
    // Murmur's first start would otherwise print a generated SuperUser password.
    expect(await readFile(stack.logPath('murmur'), 'utf8')).not.toMatch(/Password for 'SuperUser' set to/);

    await stack.stop();
    expect(running(inspircd)).toBe(false);
    expect(running(murmur)).toBe(false);
    expect(running(control)).toBe(false);
    expect(await readdir(join(home, 'run'))).toEqual([]);
    const stopped = await readFile(join(home, 'logs', 'up.log'), 'utf8');
    expect(stopped).toMatch(/SIGTERM: stopping Alloquy[\s\S]*\[control\] stopped[\s\S]*\[murmur\] stopped\n[\s\S]*\[inspircd\] stopped/);
    // Murmur exits with 0 on SIGTERM: a clean stop, not a crash.
    expect(await readFile(stack.logPath('murmur'), 'utf8')).toMatch(/murmur exited with code 0/);
  });

  it('reuses the data folder on the next run', async () => {
    const files = ['irc-link.key', 'jwt.key', 'murmur-ice.key', 'murmur-server.key', 'murmur-superuser.key'];
    const secrets = await Promise.all(files.map((file) => readFile(join(home, 'secrets', file), 'utf8')));
    const cert = await readFile(join(home, 'tls', 'cert.pem'), 'utf8');
    const murmurDatabase = await stat(join(home, 'murmur', 'murmur.sqlite'));
    const stack = await start();
    expect(await Promise.all(files.map((file) => readFile(join(home, 'secrets', file), 'utf8')))).toEqual(secrets);
    expect(await readFile(join(home, 'tls', 'cert.pem'), 'utf8')).toBe(cert);
    expect((await stat(join(home, 'murmur', 'murmur.sqlite'))).ino).toBe(murmurDatabase.ino);
    expect((await mumbleLogin(stack.ports.mumble, 'SuperUser', secrets[4]!)).ok).toBe(true);
  });

  it('restarts the control server after kill -9, and it links again', async () => {
    const stack = await start();
    const first = stack.pidOf('control')!;
    process.kill(first, 'SIGKILL');
    await until(() => {
      const pid = stack.pidOf('control');
      return pid !== undefined && pid !== first && running(pid);
    });
    await until(async () => ircLinkUp(await stack.health()));
    expect(await readFile(stack.logPath('control'), 'utf8')).toMatch(/control was killed by SIGKILL/);
  });

  it('restarts Murmur after kill -9, and it serves voice again', async () => {
    const stack = await start();
    const first = stack.pidOf('murmur')!;
    process.kill(first, 'SIGKILL');
    await until(() => {
      const pid = stack.pidOf('murmur');
      return pid !== undefined && pid !== first && running(pid);
    });
    const superUserPassword = await readFile(join(home, 'secrets', 'murmur-superuser.key'), 'utf8');
    await until(async () => acceptsTcp('127.0.0.1', stack.ports.mumble));
    expect((await mumbleLogin(stack.ports.mumble, 'SuperUser', superUserPassword)).ok).toBe(true);
    expect(await readFile(stack.logPath('murmur'), 'utf8')).toMatch(/murmur was killed by SIGKILL/);
  });

  it('cleans up after a supervisor that was killed with SIGKILL', async () => {
    const crashed = await start();
    const orphans = [crashed.pidOf('inspircd')!, crashed.pidOf('murmur')!, crashed.pidOf('control')!];
    process.kill(crashed.upPid, 'SIGKILL');
    await sleep(200);
    // Its components are in their own process groups and survive it, holding the ports.
    expect(orphans.map(running)).toEqual([true, true, true]);

    const next = await start({ env: crashed.env });
    expect(orphans.map(running)).toEqual([false, false, false]);
    expect(running(next.pidOf('murmur'))).toBe(true);
    expect(next.pidOf('inspircd')).not.toBe(orphans[0]);
    expect(await readFile(join(home, 'logs', 'up.log'), 'utf8')).toContain('stopping a leftover process from an earlier run');
  });

  it('refuses to start on ports another stack holds, naming the variables', async () => {
    const first = await start();
    const other = join(home, 'other-home');
    const result = await runUp({ ...first.env, ALLOQUY_HOME: other, ...env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Cannot start the stack, these ports are in use:');
    expect(result.stderr).toContain(`inspircd: port ${first.ports.irc} on 127.0.0.1 (ALLOQUY_IRC_PORT)`);
    expect(result.stderr).toContain(`control: port ${first.ports.http} on 127.0.0.1 (ALLOQUY_HTTP_PORT)`);
    expect(result.stderr).toContain(`murmur: port ${first.ports.mumble} on 127.0.0.1 (ALLOQUY_MUMBLE_PORT)`);
    expect(result.stderr).toContain(`murmur: UDP port ${first.ports.mumble} on 127.0.0.1 (ALLOQUY_MUMBLE_PORT)`);
    expect(result.stderr).toContain(`murmur: port ${first.ports.mumbleIce} on 127.0.0.1 (ALLOQUY_MUMBLE_ICE_PORT)`);
    // The running stack is not disturbed.
    expect(ircLinkUp(await first.health())).toBe(true);
  });

  it('refuses bad settings with the variable named, before touching anything', async () => {
    const badHome = join(home, 'never-created');
    const result = await runUp({ ALLOQUY_HOME: badHome, ALLOQUY_HTTP_PORT: 'eighty', ALLOQUY_IRC_SERVER_SID: 'X' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ALLOQUY_HTTP_PORT must be a port number between 1 and 65535, got "eighty"');
    expect(result.stderr).toContain('ALLOQUY_IRC_SERVER_SID must be a digit followed by two digits or capital letters');
    await expect(stat(badHome)).rejects.toThrow(/ENOENT/);
  });
});
