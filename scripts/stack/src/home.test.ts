import { mkdtemp, readFile, rm, stat, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureHome, homeLayout, repoRoot, resolveHome, writePrivateFile } from './home.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alloquy-home-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('resolveHome', () => {
  it('defaults to .alloquy at the repository root', async () => {
    expect(resolveHome({})).toBe(join(repoRoot(), '.alloquy'));
    expect(await stat(join(repoRoot(), 'pnpm-workspace.yaml'))).toBeTruthy();
  });

  it('resolves a relative ALLOQUY_HOME against the working directory', () => {
    expect(resolveHome({ ALLOQUY_HOME: 'data' }, '/srv/alloquy')).toBe('/srv/alloquy/data');
    expect(resolveHome({ ALLOQUY_HOME: '/var/lib/alloquy' })).toBe('/var/lib/alloquy');
  });
});

describe('homeLayout and ensureHome', () => {
  it('follows the shared layout and honours the path overrides', async () => {
    const layout = homeLayout(dir, { ALLOQUY_JWT_SECRET_PATH: 'keys/jwt', ALLOQUY_DB_PATH: '/tmp/db.sqlite' });
    expect(layout.linkPasswordPath).toBe(join(dir, 'secrets', 'irc-link.key'));
    expect(layout.jwtSecretPath).toBe(join(dir, 'keys', 'jwt'));
    expect(layout.dbPath).toBe('/tmp/db.sqlite');
    expect(layout.murmurDir).toBe(join(dir, 'murmur'));
    expect(layout.murmurConfigPath).toBe(join(dir, 'murmur.ini'));
    expect(layout.murmurIceSecretPath).toBe(join(dir, 'secrets', 'murmur-ice.key'));
    expect(layout.murmurServerPasswordPath).toBe(join(dir, 'secrets', 'murmur-server.key'));
    expect(layout.murmurSuperUserPasswordPath).toBe(join(dir, 'secrets', 'murmur-superuser.key'));
    expect(homeLayout(dir, { ALLOQUY_MURMUR_ICE_SECRET_PATH: 'keys/ice' }).murmurIceSecretPath).toBe(join(dir, 'keys', 'ice'));
    await ensureHome(layout);
    for (const sub of ['secrets', 'tls', 'inspircd', 'logs', 'run', 'murmur']) expect((await stat(join(dir, sub))).isDirectory()).toBe(true);
    expect((await stat(layout.secretsDir)).mode & 0o777).toBe(0o700);
  });
});

describe('writePrivateFile', () => {
  it('creates the folder and writes the file 0600, tightening a file that was readable by others', async () => {
    const path = join(dir, 'conf', 'daemon.conf');
    await writePrivateFile(path, 'password=one\n');
    expect(await readFile(path, 'utf8')).toBe('password=one\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await chmod(path, 0o644);
    await writePrivateFile(path, 'password=two\n');
    expect(await readFile(path, 'utf8')).toBe('password=two\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});
