import { request, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountService } from '../accounts/account-service.js';
import { AccessTokens } from '../accounts/tokens.js';
import { createLogger } from '@alloquy/service-kit/log';
import type { GuildChange, MemberRemoval } from '../guild/model.js';
import { GuildService, OPERATOR } from '../guild/service.js';
import { HistoryStore } from '../history/store.js';
import { openControlDatabase } from '../store/database.js';
import { notifyGuildChanged, notifyMemberRemoved, notifyOperatorSocket, startOperatorSocket } from './operator-socket.js';

let server: Server;
let socketPath: string;
let dbPath: string;
let accounts: AccountService;
const emitted: string[] = [];
const passwordsSeen: string[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alloquy-operator-'));
  dbPath = join(dir, 'control.sqlite');
  accounts = accountService(dbPath);
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

function accountService(path: string): AccountService {
  return new AccountService(openControlDatabase(path), {
    registration: 'open',
    accessTokens: new AccessTokens('x'.repeat(64), 'alloquy', 900),
    refreshTtlSeconds: 3600,
    maxFailuresPerAccount: 5,
    maxFailuresPerAddress: 5,
    failureWindowSeconds: 60,
  });
}

function send(method: string, path: string, body?: string, at = socketPath): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: at, method, path }, (res) => {
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

  it.each([
    ['created', JSON.stringify({ password: 5 })],
    ['created', 'null'],
    ['created', JSON.stringify(['alice-password'])],
    ['password-changed', JSON.stringify({ pass: 'alice-password' })],
    // The right password, but with a change that never carries one.
    ['enabled', JSON.stringify({ password: 'alice-password' })],
  ])('treats POST /accounts/alice/%s %s as no password', async (change, body) => {
    emitted.length = 0;
    passwordsSeen.length = 0;
    expect(await send('POST', `/accounts/alice/${change}`, body)).toBe(204);
    expect(passwordsSeen).toEqual([]);
    expect(emitted).toEqual([`${change}:alice`]);
  });

  it('refuses a huge body without acting on it', async () => {
    emitted.length = 0;
    expect(await send('POST', '/accounts/alice/created', JSON.stringify({ password: 'p'.repeat(200_000) }))).toBe(413);
    expect(emitted).toEqual([]);
    // And keeps serving.
    expect(await notifyOperatorSocket(socketPath, 'alice', 'enabled')).toBe(true);
  });
});

describe('operator socket: guild changes', () => {
  /** The server's side: its own GuildService, wired to the socket as server.ts wires it. */
  let serverGuild: GuildService;
  let guildSocket: Server;
  let guildSocketPath: string;
  const heard: string[] = [];

  beforeAll(async () => {
    const serverDb = openControlDatabase(dbPath);
    serverGuild = new GuildService(serverDb, accounts, { history: new HistoryStore(serverDb) });
    serverGuild.on('changed', (_s, change) => heard.push(`changed:${change.action}:${change.targetId ?? ''}`));
    serverGuild.on('memberRemoved', (r) => heard.push(`removed:${r.kind}:${r.username}:${r.reason}:${r.by}`));
    guildSocketPath = join(mkdtempSync(join(tmpdir(), 'alloquy-operator-guild-')), 'control.sock');
    guildSocket = await startOperatorSocket(guildSocketPath, accounts, createLogger('silent'), {
      guildChanged: (change) => serverGuild.reload(change),
      memberRemoved: (removal) => serverGuild.emit('memberRemoved', removal),
    });
  });
  afterAll(async () => {
    serverGuild.close();
    await new Promise<void>((resolve) => guildSocket.close(() => resolve()));
  });

  it('a CLI-side kick reaches the server: it disconnects with the reason, then reloads', async () => {
    await accounts.register('bob', 'bob-password');
    serverGuild.reload();
    expect(serverGuild.member(accounts.get('bob'))).toBeDefined();
    heard.length = 0;

    // The CLI: another GuildService on the same database, as the operator, forwarding what it emitted.
    const cliDb = openControlDatabase(dbPath);
    const cli = new GuildService(cliDb, accountService(dbPath), { history: new HistoryStore(cliDb) });
    const events: ({ changed: GuildChange } | { removed: MemberRemoval })[] = [];
    cli.on('changed', (_s, change) => events.push({ changed: change }));
    cli.on('memberRemoved', (removal) => events.push({ removed: removal }));
    cli.kick(OPERATOR, 'bob', 'flooding');
    cli.close();
    expect(events).toHaveLength(2);
    for (const e of events) {
      const ok = 'changed' in e ? await notifyGuildChanged(guildSocketPath, e.changed) : await notifyMemberRemoved(guildSocketPath, e.removed);
      expect(ok).toBe(true);
    }

    const bobId = String(accounts.get('bob').id);
    expect(heard).toEqual([`removed:kick:bob:flooding:operator`, `changed:member.kick:${bobId}`]);
    expect(serverGuild.member(accounts.get('bob'))).toBeUndefined();
    expect(serverGuild.snapshot().outsiders).toContainEqual({ accountId: Number(bobId), username: 'bob', why: 'kicked' });
  });

  it.each([
    ['/guild/changed', '{not json'],
    ['/guild/changed', '{}'],
    ['/guild/changed', JSON.stringify({ action: 'x', targetId: 5 })],
    ['/guild/changed', JSON.stringify({ action: 'x', extra: true })],
    ['/guild/removed', JSON.stringify({ accountId: 1, username: 'bob', kind: 'mute', reason: '', by: 'operator' })],
    ['/guild/removed', JSON.stringify({ accountId: '1', username: 'bob', kind: 'kick', reason: '', by: 'operator' })],
    ['/guild/removed', ''],
  ])('refuses POST %s %s with 400 and tells nobody', async (path, body) => {
    heard.length = 0;
    expect(await send('POST', path, body, guildSocketPath)).toBe(400);
    expect(heard).toEqual([]);
  });

  it('refuses a huge body and other methods', async () => {
    heard.length = 0;
    expect(await send('POST', '/guild/changed', JSON.stringify({ action: 'x'.repeat(100_000) }), guildSocketPath)).toBe(413);
    expect(await send('GET', '/guild/changed', undefined, guildSocketPath)).toBe(404);
    expect(heard).toEqual([]);
  });

  it('a server without the guild hooks does not take guild changes (the CLI then says so)', async () => {
    expect(await notifyGuildChanged(socketPath, { action: 'channel.create', targetId: '9' })).toBe(false);
    expect(await notifyMemberRemoved(socketPath, { accountId: 1, username: 'alice', kind: 'ban', reason: '', by: 'operator' })).toBe(false);
  });
});
