import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureCertificate } from './tls.js';

const run = promisify(execFile);
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alloquy-tls-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ensureCertificate', () => {
  it('creates a self-signed certificate openssl can read, with the names and a private key', async () => {
    const files = await ensureCertificate(join(dir, 'tls'), ['irc.example.test', 'chat.example.test', '192.0.2.7']);
    expect(files).toEqual({ certPath: join(dir, 'tls', 'cert.pem'), keyPath: join(dir, 'tls', 'key.pem'), created: true });

    const { stdout } = await run('openssl', ['x509', '-in', files.certPath, '-noout', '-text', '-ext', 'subjectAltName']);
    expect(stdout).toContain('DNS:irc.example.test');
    expect(stdout).toContain('DNS:chat.example.test');
    expect(stdout).toContain('DNS:localhost');
    expect(stdout).toContain('IP Address:127.0.0.1');
    expect(stdout).toContain('IP Address:192.0.2.7');
    const subject = await run('openssl', ['x509', '-in', files.certPath, '-noout', '-subject', '-enddate']);
    expect(subject.stdout).toMatch(/subject=CN ?= ?irc\.example\.test/);
    const notAfter = new Date(/notAfter=(.*)/.exec(subject.stdout)![1]!);
    const days = (notAfter.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(824);
    expect(days).toBeLessThan(826);

    // The key belongs to the certificate.
    const certKey = await run('openssl', ['x509', '-in', files.certPath, '-noout', '-pubkey']);
    const key = await run('openssl', ['pkey', '-in', files.keyPath, '-pubout']);
    expect(key.stdout).toBe(certKey.stdout);
    expect((await stat(files.keyPath)).mode & 0o777).toBe(0o600);
  });

  it('reuses an existing pair', async () => {
    const first = await ensureCertificate(dir, ['irc.example.test']);
    const cert = await readFile(first.certPath, 'utf8');
    const second = await ensureCertificate(dir, ['other.example.test']);
    expect(second.created).toBe(false);
    expect(await readFile(second.certPath, 'utf8')).toBe(cert);
  });

  it('refuses to overwrite half a pair', async () => {
    await writeFile(join(dir, 'cert.pem'), 'operator certificate');
    await expect(ensureCertificate(dir, ['irc.example.test'])).rejects.toThrow(/key\.pem is missing but its partner exists/);
    expect(await readFile(join(dir, 'cert.pem'), 'utf8')).toBe('operator certificate');
  });

  it('rejects host names a certificate cannot carry', async () => {
    await expect(ensureCertificate(dir, ['bad name'])).rejects.toThrow(/"bad name" is not a valid host name/);
  });
});
