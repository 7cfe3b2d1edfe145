/**
 * The operator CLI on its own (it works on the database directly; no stack needed): hostile
 * arguments get a clear message and a usage exit code, never a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');
const home = mkdtempSync(join(tmpdir(), 'alloquy-cli-'));

function cli(args: string[], input?: string) {
  // A port nothing listens on, so `status` and the operator socket never reach a live stack.
  const env = { ...process.env, ALLOQUY_HOME: home, ALLOQUY_HTTP_PORT: '1' };
  const r = spawnSync(process.execPath, [CLI, ...args], { env, input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('alloquy CLI', () => {
  it('adds, lists and disables accounts in the data folder', () => {
    expect(cli(['user', 'add', 'alice'], 'alice-password\n')).toMatchObject({ code: 0, out: expect.stringContaining('created alice (admin)') });
    expect(cli(['user', 'disable', 'alice']).code).toBe(0);
    expect(cli(['user', 'list']).out).toMatch(/^alice\s+admin\s+disabled/m);
  });

  it.each([
    [['user', 'add'], /needs a NAME/],
    [['user', 'list', '--bogus'], /bogus/],
    [['invite', 'create', '--max-uses'], /max-uses/],
    [['invite', 'create', '--max-uses', '0'], /positive whole numbers/],
    [['invite', 'create', '--max-uses', 'abc'], /positive whole numbers/],
    [['invite', 'create', '--expires', '1.5'], /positive whole numbers/],
    [['frobnicate'], /unknown command/],
  ])('%j is a usage error (exit 2) without a stack trace', (args, message) => {
    const r = cli(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/^\s+at /m);
  });

  it.each([
    [['user', 'disable', 'nobody'], /no account named "nobody"/],
    [['user', 'add', 'bad name'], /username/],
    [['user', 'add', 'bob'], /password/],
  ])('%j fails with a clear message (exit 1)', (args, message) => {
    const r = cli(args, args[2] === 'bob' ? 'short\n' : 'long-enough-password\n');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/^\s+at /m);
  });

  it('says when the control server is not reachable', () => {
    expect(cli(['status'])).toMatchObject({ code: 1, out: expect.stringMatching(/not reachable/) });
  });
});
