import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from './layered-config.js';
import { ensureSecret } from './secrets.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'alloquy-secret-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('ensureSecret', () => {
  it('creates a private hex secret once, in a private folder, and reuses it', () => {
    const path = join(dir, 'secrets', 'a.key');
    const secret = ensureSecret(path, 32);
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700);
    // No trailing newline: a reader that does not trim sees the same secret.
    expect(readFileSync(path, 'utf8')).toBe(secret);
    expect(ensureSecret(path, 32)).toBe(secret);
  });

  it('agrees with concurrent creators in other processes (the supervisor and a service)', async () => {
    const path = join(dir, 'b.key');
    // The built module (scripts/test builds first): a child process cannot run TypeScript.
    const module = fileURLToPath(new URL('../../dist/config/secrets.js', import.meta.url));
    // Each child waits for the same instant, then creates: the link makes exactly one win.
    const start = Date.now() + 400;
    const script = `const { ensureSecret } = await import(${JSON.stringify(module)}); while (Date.now() < ${start}); console.log(ensureSecret(${JSON.stringify(path)}));`;
    const run = promisify(execFile);
    const outputs = await Promise.all(Array.from({ length: 6 }, () => run(process.execPath, ['--input-type=module', '-e', script])));
    const secrets = new Set(outputs.map((o) => o.stdout.trim()));
    expect(secrets.size).toBe(1);
    expect(readFileSync(path, 'utf8')).toBe([...secrets][0]);
  });

  it('reads secrets written by others (trimmed) and makes them private', () => {
    const path = join(dir, 'c.key');
    writeFileSync(path, 'abcdef0123456789abcdef\n');
    chmodSync(path, 0o644);
    expect(ensureSecret(path)).toBe('abcdef0123456789abcdef');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses an empty secret file', () => {
    const path = join(dir, 'd.key');
    writeFileSync(path, '\n');
    expect(() => ensureSecret(path)).toThrow(/exists but is empty/);
  });

  it('refuses a secret too short to be one', () => {
    const path = join(dir, 'short.key');
    writeFileSync(path, 'abc\n');
    expect(() => ensureSecret(path)).toThrow(ConfigError);
    expect(() => ensureSecret(path)).toThrow(/too short/);
  });
});
