import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountService } from '../accounts/account-service.js';
import { AccessTokens } from '../accounts/tokens.js';
import { createLogger } from '../log/logger.js';
import { openDatabase } from '../store/database.js';
import { notifyOperatorSocket, startOperatorSocket } from './operator-socket.js';

let server: Server;
let socketPath: string;
let accounts: AccountService;
const emitted: string[] = [];
const passwordsSeen: string[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alloquy-operator-'));
  accounts = new AccountService(openDatabase(join(dir, 'control.sqlite')), {
    registration: 'open',
    accessTokens: new AccessTokens('x'.repeat(64), 'alloquy', 900),
    refreshTtlSeconds: 3600,
    maxFailuresPerAccount: 5,
    maxFailuresPerAddress: 5,
    failureWindowSeconds: 60,
  });
  await accounts.register('alice', 'alice-password');
  for (const change of ['created', 'disabled', 'enabled', 'password-changed'] as const) {
    accounts.on(change, (a) => emitted.push(`${change}:${a.username}`));
  }
  accounts.observePasswords((seen) => passwordsSeen.push(`${seen.reason}:${seen.account.username}`));
  emitted.length = 0;
  passwordsSeen.length = 0;
  socketPath = join(dir, 'run', 'control.sock');
  server = await startOperatorSocket(socketPath, accounts, createLogger('silent'));
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function send(method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('operator socket', () => {
  it('relays a change to the account service', async () => {
    expect(await notifyOperatorSocket(socketPath, 'alice', 'disabled')).toBe(true);
    expect(emitted).toEqual(['disabled:alice']);
  });

  it('hands over the current password, and ignores one that is not', async () => {
    emitted.length = 0;
    expect(await notifyOperatorSocket(socketPath, 'alice', 'password-changed', 'alice-password')).toBe(true);
    expect(passwordsSeen).toEqual(['operator:alice']);
    expect(await notifyOperatorSocket(socketPath, 'alice', 'password-changed', 'not-her-password')).toBe(true);
    expect(passwordsSeen).toEqual(['operator:alice']);
    expect(emitted).toEqual(['password-changed:alice', 'password-changed:alice']);
  });

  it.each([
    ['GET', '/accounts/alice/created', 404],
    ['POST', '/', 404],
    ['POST', '/accounts/alice/promoted', 404],
    ['POST', '/accounts/alice/created/extra', 404],
    ['POST', '/accounts/nobody/disabled', 404],
    ['POST', '/accounts/%E0%A4%A/disabled', 404],
    ['POST', '/accounts/%/disabled', 404],
  ])('refuses %s %s with %i and changes nothing', async (method, path, status) => {
    emitted.length = 0;
    expect(await send(method, path)).toBe(status);
    expect(emitted).toEqual([]);
  });

  it('treats a body that is not JSON as no password', async () => {
    emitted.length = 0;
    passwordsSeen.length = 0;
    expect(await send('POST', '/accounts/alice/created', '{not json')).toBe(204);
    expect(passwordsSeen).toEqual([]);
    expect(emitted).toEqual(['created:alice']);
  });

  it('refuses a huge body without acting on it', async () => {
    emitted.length = 0;
    expect(await send('POST', '/accounts/alice/created', JSON.stringify({ password: 'p'.repeat(200_000) }))).toBe(413);
    expect(emitted).toEqual([]);
    // And keeps serving.
    expect(await notifyOperatorSocket(socketPath, 'alice', 'enabled')).toBe(true);
  });
});
