/**
 * Issue 4's "Must show" for guild enforcement, end to end: the whole stack as `scripts/up` starts
 * it, the guild managed over the HTTP API, and what stock IRC clients (a raw client and
 * irc-framework) experience live in InspIRCd.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack, type RunningStack } from '@alloquy/stack';
import IRC from 'irc-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawIrcClient, connectWithSasl } from '../irc-link/raw-client.js';
import { httpApi } from '../support/http-api.js';

let stack: RunningStack;
const open: RawIrcClient[] = [];
const frameworkClients: { quit(message?: string): void }[] = [];
const tokens = new Map<string, string>();
const { call } = httpApi(() => stack.httpUrl);

const as = (user: string) => ({
  get: (path: string) => call('GET', `/api/v1${path}`, undefined, tokens.get(user)),
  post: (path: string, body: unknown = {}) => call('POST', `/api/v1${path}`, body, tokens.get(user)),
  put: (path: string, body: unknown = {}) => call('PUT', `/api/v1${path}`, body, tokens.get(user)),
  patch: (path: string, body: unknown) => call('PATCH', `/api/v1${path}`, body, tokens.get(user)),
  del: (path: string) => call('DELETE', `/api/v1${path}`, undefined, tokens.get(user)),
});

async function raw(nick: string, account: string): Promise<RawIrcClient> {
  const outcome = await connectWithSasl(stack.ports.ircTls, nick, { authcid: account, password: `${account}-password` }, { tls: true });
  open.push(outcome.client);
  expect(outcome.success).toBe(true);
  return outcome.client;
}

/** JOIN and wait for either our JOIN echo or the numeric that refused it. */
async function joinChannel(client: RawIrcClient, nick: string, channel: string): Promise<string> {
  const mark = client.mark();
  client.send(`JOIN ${channel}`);
  const reply = await client.waitFor(
    (m) => (m.command === 'JOIN' && m.source?.startsWith(`${nick}!`) === true) || (/^4\d\d$/.test(m.command) && m.params.includes(channel)),
    10_000,
    mark,
  );
  return reply.command;
}

/** An irc-framework client logged in with SASL, with every raw line kept. */
async function framework(nick: string, account: string) {
  const client = new IRC.Client();
  const lines: string[] = [];
  client.on('raw', (event: { line: string; from_server: boolean }) => {
    if (event.from_server) lines.push(event.line.replace(/[\r\n]+$/, ''));
  });
  const registered = new Promise<void>((resolve, reject) => {
    client.once('registered', () => resolve());
    client.once('close', () => reject(new Error('irc-framework connection closed before registration')));
  });
  client.connect({
    host: '127.0.0.1',
    port: stack.ports.ircTls,
    tls: true,
    rejectUnauthorized: false,
    nick,
    username: nick,
    gecos: nick,
    account: { account, password: `${account}-password` },
    auto_reconnect: false,
  });
  frameworkClients.push(client);
  await registered;
  const waitLine = async (pattern: RegExp, timeoutMs = 10_000, from = 0): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.slice(from).find((l) => pattern.test(l));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no line matching ${pattern} within ${timeoutMs} ms; last lines:\n${lines.slice(-40).join('\n')}`);
      await sleep(25);
    }
  };
  return { client, lines, waitLine, mark: () => lines.length };
}

beforeAll(async () => {
  stack = await startStack({ home: mkdtempSync(join(tmpdir(), 'alloquy-guild-')) });
  for (const name of ['alice', 'bob', 'carol', 'dave']) {
    const created = await call('POST', '/api/v1/accounts', { username: name, password: `${name}-password` });
    expect(created.status).toBe(201);
    const session = await call('POST', '/api/v1/sessions', { username: name, password: `${name}-password` });
    tokens.set(name, session.json.access_token);
  }
}, 120_000);

afterAll(async () => {
  for (const c of frameworkClients) c.quit('bye');
  for (const c of open) c.destroy();
  await stack?.stop();
}, 60_000);

describe('the guild, enforced in InspIRCd', () => {
  let moderatorRole: string;

  it('starts with #general and a General voice channel', async () => {
    const channels = await as('carol').get('/channels');
    expect(channels.status).toBe(200);
    const names = channels.json.channels.map((c: { kind: string; name: string }) => `${c.kind}:${c.name}`);
    expect(names).toContain('text:general');
    expect(names).toContain('voice:General');
  });

  it('keeps a member without VIEW_CHANNEL out of a private channel, over IRC and the API', async () => {
    const role = await as('alice').post('/roles', {
      name: 'Moderator',
      permissions: ['KICK_MEMBERS', 'BAN_MEMBERS', 'MODERATE_MEMBERS', 'MANAGE_MESSAGES', 'MANAGE_CHANNELS'],
    });
    expect(role.status).toBe(201);
    moderatorRole = role.json.id;
    expect((await as('alice').put(`/members/bob/roles/${moderatorRole}`)).status).toBeLessThan(300);

    expect((await as('alice').post('/channels', { kind: 'text', name: 'staff' })).status).toBe(201);
    expect((await as('alice').put('/channels/staff/overwrites/role/@everyone', { allow: [], deny: ['VIEW_CHANNEL'] })).status).toBeLessThan(300);
    expect((await as('alice').put(`/channels/staff/overwrites/role/${moderatorRole}`, { allow: ['VIEW_CHANNEL'], deny: [] })).status).toBeLessThan(300);

    const bob = await raw('bob', 'bob');
    expect(await joinChannel(bob, 'bob', '#staff')).toBe('JOIN');
    const carol = await framework('carol', 'carol');
    const mark = carol.mark();
    carol.client.join('#staff');
    // 473: #staff is invite-only, and carol is not on its list.
    await carol.waitLine(/ 473 carol #staff /, 10_000, mark);

    const messages = await as('carol').get('/channels/staff/messages');
    expect(messages.status).toBe(403);
    expect((await as('bob').get('/channels/staff/messages')).status).toBe(200);
    const visible = (await as('carol').get('/channels')).json.channels.map((c: { name: string }) => c.name);
    expect(visible).not.toContain('staff');
  });

  it('refuses a sender without SEND_MESSAGES in a read-only channel', async () => {
    expect((await as('alice').post('/channels', { kind: 'text', name: 'announcements', topic: 'Read me' })).status).toBe(201);
    expect((await as('alice').put('/channels/announcements/overwrites/role/@everyone', { allow: [], deny: ['SEND_MESSAGES'] })).status).toBeLessThan(300);
    expect((await as('alice').put(`/channels/announcements/overwrites/role/${moderatorRole}`, { allow: ['SEND_MESSAGES'], deny: [] })).status).toBeLessThan(
      300,
    );

    const carol = await raw('carol_ro', 'carol');
    const bob = await raw('bob_ro', 'bob');
    expect(await joinChannel(carol, 'carol_ro', '#announcements')).toBe('JOIN');
    expect(await joinChannel(bob, 'bob_ro', '#announcements')).toBe('JOIN');

    let mark = carol.mark();
    carol.send('PRIVMSG #announcements :can I talk?');
    const refused = await carol.waitFor((m) => m.command === '404', 10_000, mark);
    expect(refused.params[1]).toBe('#announcements');

    mark = carol.mark();
    bob.send('PRIVMSG #announcements :release on friday');
    const seen = await carol.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'release on friday', 10_000, mark);
    expect(seen.tags.get('account')).toBe('bob');
  });

  it('delivers topic and role changes to stock clients live', async () => {
    const carol = await framework('carol_live', 'carol');
    let mark = carol.mark();
    carol.client.join('#general');
    await carol.waitLine(/ 366 carol_live #general /, 10_000, mark);

    mark = carol.mark();
    expect((await as('bob').patch('/channels/general', { topic: 'Welcome, be kind' })).status).toBe(200);
    await carol.waitLine(/ TOPIC #general :Welcome, be kind$/, 10_000, mark);

    // MANAGE_MESSAGES is channel operator: granting the role ops carol where she sits.
    mark = carol.mark();
    expect((await as('alice').put(`/members/carol/roles/${moderatorRole}`)).status).toBeLessThan(300);
    await carol.waitLine(/ MODE #general \+o :?carol_live/, 10_000, mark);
    mark = carol.mark();
    expect((await as('alice').del(`/members/carol/roles/${moderatorRole}`)).status).toBeLessThan(300);
    await carol.waitLine(/ MODE #general -o :?carol_live/, 10_000, mark);
  });

  it('mutes a timed-out member, then lets them talk again when the timeout ends', async () => {
    const dave = await raw('dave', 'dave');
    expect(await joinChannel(dave, 'dave', '#general')).toBe('JOIN');
    expect((await as('bob').post('/members/dave/timeout', { duration_seconds: 6, reason: 'cool down' })).status).toBe(200);

    let mark = dave.mark();
    // The mute reaches InspIRCd a moment after the API answers.
    let refused = false;
    for (let i = 0; i < 40 && !refused; i++) {
      dave.send('PRIVMSG #general :still muted?');
      refused = await dave
        .waitFor((m) => m.command === '404', 250, mark)
        .then(
          () => true,
          () => false,
        );
      mark = dave.mark();
    }
    expect(refused).toBe(true);

    const watcher = await raw('bob_watch', 'bob');
    expect(await joinChannel(watcher, 'bob_watch', '#general')).toBe('JOIN');
    let heard = false;
    const deadline = Date.now() + 15_000;
    while (!heard && Date.now() < deadline) {
      const wmark = watcher.mark();
      dave.send('PRIVMSG #general :I am back');
      heard = await watcher
        .waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'I am back', 500, wmark)
        .then(
          () => true,
          () => false,
        );
    }
    expect(heard).toBe(true);
  });

  it('kicks live, and a ban by account keeps the user out under another nick', async () => {
    const dave = await raw('dave_k', 'dave');
    expect(await joinChannel(dave, 'dave_k', '#general')).toBe('JOIN');
    let mark = dave.mark();
    expect((await as('bob').post('/members/dave/kick', { reason: 'spam' })).status).toBeLessThan(300);
    const kick = await dave.waitFor((m) => m.command === 'KICK' && m.params[0] === '#general' && m.params[1] === 'dave_k', 10_000, mark);
    expect(kick.params[2]).toMatch(/spam/);
    // Not a member any more: the channel is closed to dave until they rejoin the guild.
    expect(await joinChannel(dave, 'dave_k', '#general')).toMatch(/^4\d\d$/);
    expect((await as('dave').post('/guild/join', {})).status).toBeLessThan(300);
    let joined = '';
    for (let i = 0; i < 40 && joined !== 'JOIN'; i++) {
      joined = await joinChannel(dave, 'dave_k', '#general');
      if (joined !== 'JOIN') await sleep(250);
    }
    expect(joined).toBe('JOIN');

    mark = dave.mark();
    expect((await as('bob').put('/bans/dave', { reason: 'repeat spam' })).status).toBeLessThan(300);
    const banKick = await dave.waitFor((m) => m.command === 'KICK' && m.params[1] === 'dave_k', 10_000, mark);
    expect(banKick.params[2]).toMatch(/repeat spam/);
    dave.destroy();

    const again = await raw('definitely_not_dave', 'dave');
    expect(await joinChannel(again, 'definitely_not_dave', '#general')).toBe('474');
    expect((await as('dave').post('/guild/join', {})).status).toBe(403);
  });

  it('lists every action in the audit log with who did it', async () => {
    const log = await as('alice').get('/audit-log?limit=100');
    expect(log.status).toBe(200);
    const entries = log.json.entries as { actor: string; action: string; target_name: string | null; reason: string | null }[];
    const seen = entries.map((e) => `${e.actor} ${e.action} ${e.target_name ?? ''}`);
    expect(seen).toContain('alice role.create Moderator');
    expect(seen).toContain('alice member.role_add bob');
    expect(seen).toContain('alice channel.create staff');
    expect(seen).toContain('alice overwrite.set staff');
    expect(seen).toContain('bob channel.update general');
    expect(seen).toContain('bob member.timeout dave');
    expect(seen).toContain('bob member.kick dave');
    expect(seen).toContain('bob member.ban dave');
    expect(entries.find((e) => e.action === 'member.ban')?.reason).toBe('repeat spam');
    // Members without a moderation permission cannot read it.
    expect((await as('carol').get('/audit-log')).status).toBe(403);
  });
});
