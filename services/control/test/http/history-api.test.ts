/**
 * The history endpoints through the real express app, with a real HistoryStore and a real
 * GuildService on a temporary database, and accounts and tokens from the real account routes.
 * Messages go into the store directly: the recorder is tested on its own and end to end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountService } from '../../src/accounts/create-account-service.js';
import type { AccountService } from '../../src/accounts/account-service.js';
import { loadConfig } from '../../src/config/config.js';
import { GuildService, OPERATOR } from '../../src/guild/service.js';
import { Permission as P } from '@alloquy/protocol/permissions';
import { Health } from '@alloquy/service-kit/health';
import { HistoryStore, type IngestMessage } from '../../src/history/store.js';
import { createHttpApp } from '../../src/http/app.js';
import { accountRoutes } from '../../src/http/routes/account-routes.js';
import { historyRoutes } from '../../src/http/routes/history-routes.js';
import { createLogger } from '@alloquy/service-kit/log';
import { ControlMetrics } from '../../src/metrics/metrics.js';
import { openControlDatabase, type Db } from '../../src/store/database.js';
import { httpApi } from '../support/http-api.js';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const N = 300;

let home: string;
let db: Db;
let accounts: AccountService;
let guild: GuildService;
let store: HistoryStore;
let server: Server;
let base: string;
const tokens: Record<string, string> = {};

const { call } = httpApi(() => base);
const get = (path: string, who: string) => call('GET', path, undefined, tokens[who]);

function expectError(r: { status: number; json: any }, status: number, code: string, message?: RegExp) {
  expect(r.status, JSON.stringify(r.json)).toBe(status);
  expect(r.json).toEqual({ error: { code, message: expect.any(String) } });
  if (message) expect(r.json.error.message).toMatch(message);
}

function msg(i: number, over: Partial<IngestMessage> = {}): IngestMessage {
  return { msgid: `1AL~9~${i}`, channel: '#general', account: 'bob', nick: 'Bob', kind: 'PRIVMSG', time: T0 + i * 1000, text: `message ${i}`, ...over };
}
const ids = (r: { json: any }): string[] => r.json.messages.map((m: { msgid: string }) => m.msgid);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => `1AL~9~${from + k}`);

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'alloquy-history-api-'));
  const config = loadConfig({ ALLOQUY_HOME: home, ALLOQUY_IRC_LINK: 'false', ALLOQUY_MURMUR: 'false' });
  db = openControlDatabase(config.database.path);
  accounts = createAccountService(config, db);
  store = new HistoryStore(db);
  guild = new GuildService(db, accounts, { history: store });
  const app = createHttpApp({
    routes: [...accountRoutes(accounts), ...historyRoutes({ store, guild })],
    accounts,
    health: new Health(),
    metrics: new ControlMetrics(),
    log: createLogger('silent'),
    version: 'test',
  });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // alice is the first account: admin, so the guild's owner.
  for (const name of ['alice', 'bob', 'carol']) {
    expect((await call('POST', '/api/v1/accounts', { username: name, password: `${name}-password` })).status).toBe(201);
    tokens[name] = (await call('POST', '/api/v1/sessions', { username: name, password: `${name}-password` })).json.access_token;
  }
  guild.createChannel(OPERATOR, { kind: 'text', name: 'secret' });
  guild.setOverwrite(OPERATOR, 'secret', { type: 'role', target: '1', allow: 0n, deny: P.VIEW_CHANNEL });
  guild.setOverwrite(OPERATOR, 'secret', { type: 'member', target: 'bob', allow: P.VIEW_CHANNEL, deny: 0n });
  guild.createChannel(OPERATOR, { kind: 'text', name: 'noread' });
  guild.setOverwrite(OPERATOR, 'noread', { type: 'role', target: '1', allow: 0n, deny: P.READ_HISTORY });
  guild.createChannel(OPERATOR, { kind: 'text', name: 'ops' });

  const batch: IngestMessage[] = [];
  for (let i = 0; i < N; i++) batch.push(msg(i, { time: T0 + Math.floor(i / 3) * 1000 })); // three per second
  store.ingest(batch);
  store.ingest([
    msg(1000, { channel: '#secret', text: 'the secret plan' }),
    msg(1001, { channel: '#noread', text: 'unreadable plan' }),
    msg(1002, { channel: '#ops', text: 'ops plan https://ops.example/x', account: 'carol', nick: 'carol' }),
    msg(1003, { channel: '#ops', text: 'plan attached', tags: { '+alloquy/attachment': 'https://files/p.pdf' } }),
    msg(1004, { channel: '#ops', text: 'hey alice, carol: plan?' }),
    msg(1005, { channel: '#ops', kind: 'TAGMSG', account: 'carol', tags: { '+draft/react': '👍', '+draft/reply': '1AL~9~1004' } }),
    msg(1006, { channel: '#ops', kind: 'ACTION', account: 'alice', nick: 'Alice', text: 'reads the plan', tags: { '+reply': '1AL~9~1004' } }),
    msg(1007, { channel: '#ops', text: 'a deleted plan' }),
    msg(1008, { channel: '#ops', text: 'first plan draft' }),
  ]);
  store.delete('1AL~9~1007', 'bob');
  store.edit('1AL~9~1008', 'final plan', 'bob', { time: T0 + 600_000 });
}, 60_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  guild?.close();
  db?.close();
  rmSync(home, { recursive: true, force: true });
});

describe('GET /api/v1/channels/{channel}/messages', () => {
  it('returns the newest 50, newest last, each with every field', async () => {
    const r = await get('/api/v1/channels/general/messages', 'carol');
    expect(r.status).toBe(200);
    expect(r.json.channel).toBe('general');
    expect(ids(r)).toEqual(range(N - 50, N));
    expect(r.json.messages[49]).toEqual({
      msgid: `1AL~9~${N - 1}`,
      channel: 'general',
      account: 'bob',
      nick: 'Bob',
      time: new Date(T0 + Math.floor((N - 1) / 3) * 1000).toISOString(),
      kind: 'PRIVMSG',
      text: `message ${N - 1}`,
      tags: {},
      reply_to: null,
      edited_at: null,
      has_link: false,
      has_attachment: false,
      reactions: [],
    });
  });

  it('shows reactions, replies, actions and edits, and never deleted messages or reaction TAGMSGs', async () => {
    const r = await get('/api/v1/channels/ops/messages', 'carol');
    expect(r.json.messages.map((m: any) => [m.msgid, m.kind, m.text])).toEqual([
      ['1AL~9~1002', 'PRIVMSG', 'ops plan https://ops.example/x'],
      ['1AL~9~1003', 'PRIVMSG', 'plan attached'],
      ['1AL~9~1004', 'PRIVMSG', 'hey alice, carol: plan?'],
      ['1AL~9~1006', 'ACTION', 'reads the plan'],
      ['1AL~9~1008', 'PRIVMSG', 'final plan'],
    ]);
    const [link, attached, asked, action, edited] = r.json.messages;
    expect(link.has_link).toBe(true);
    expect(attached).toMatchObject({ has_attachment: true, tags: { '+alloquy/attachment': 'https://files/p.pdf' } });
    expect(asked.reactions).toEqual([{ emoji: '👍', count: 1, accounts: ['carol'] }]);
    expect(action).toMatchObject({ reply_to: '1AL~9~1004', account: 'alice', nick: 'Alice' });
    expect(edited.edited_at).toBe(new Date(T0 + 600_000).toISOString());
  });

  it('pages backwards and forwards by msgid over everything, exactly once and in order', async () => {
    const back: string[] = [];
    let r = await get('/api/v1/channels/general/messages?limit=47', 'bob');
    while (r.json.messages.length > 0) {
      back.unshift(...ids(r));
      r = await get(`/api/v1/channels/general/messages?limit=47&before=${encodeURIComponent(ids(r)[0]!)}`, 'bob');
    }
    expect(back).toEqual(range(0, N));

    const forward: string[] = [];
    r = await get('/api/v1/channels/general/messages?limit=61&after=0', 'bob');
    while (r.json.messages.length > 0) {
      forward.push(...ids(r));
      r = await get(`/api/v1/channels/general/messages?limit=61&after=${encodeURIComponent(ids(r).at(-1)!)}`, 'bob');
    }
    expect(forward).toEqual(back);
  });

  it('pages by ISO time and Unix ms, between two positions, and around a message or a time', async () => {
    // Messages 30, 31, 32 share T0 + 10 s.
    const at = new Date(T0 + 10_000).toISOString();
    expect(ids(await get(`/api/v1/channels/general/messages?limit=2&before=${at}`, 'bob'))).toEqual(range(28, 30));
    expect(ids(await get(`/api/v1/channels/general/messages?limit=2&after=${T0 + 10_000}`, 'bob'))).toEqual(range(33, 35));
    expect(ids(await get('/api/v1/channels/general/messages?limit=2&after=2025-03-01T12:00:10Z', 'bob'))).toEqual(range(33, 35));
    expect(ids(await get('/api/v1/channels/general/messages?limit=2&after=2025-03-01T13:00:10%2B01:00', 'bob'))).toEqual(range(33, 35));
    expect(ids(await get('/api/v1/channels/general/messages?after=1AL~9~10&before=1AL~9~14', 'bob'))).toEqual(range(11, 14));
    expect(ids(await get('/api/v1/channels/general/messages?limit=5&around=1AL~9~100', 'bob'))).toEqual(range(98, 103));
    expect(ids(await get(`/api/v1/channels/general/messages?limit=6&around=${at}`, 'bob'))).toEqual(range(30, 36));
    expect(ids(await get('/api/v1/channels/%23general/messages?limit=1', 'bob'))).toEqual(range(N - 1, N));
    expect(ids(await get('/api/v1/channels/GENERAL/messages?limit=1', 'bob'))).toEqual(range(N - 1, N));
  });

  it('answers 403 alike for a private channel and for one without READ_HISTORY, 404 for unknown ones', async () => {
    expect(ids(await get('/api/v1/channels/secret/messages', 'bob'))).toEqual(['1AL~9~1000']);
    expectError(await get('/api/v1/channels/secret/messages', 'carol'), 403, 'forbidden', /#secret/);
    expectError(await get('/api/v1/channels/noread/messages', 'carol'), 403, 'forbidden', /#noread/);
    // The owner holds every permission.
    expect(ids(await get('/api/v1/channels/noread/messages', 'alice'))).toEqual(['1AL~9~1001']);
    expectError(await get('/api/v1/channels/nowhere/messages', 'carol'), 404, 'not_found');
    expectError(await get('/api/v1/channels/General/messages?before=1AL~9~1000', 'bob'), 404, 'not_found', /1AL~9~1000/);
    expectError(await get('/api/v1/channels/general/messages?around=nope', 'bob'), 404, 'not_found', /nope/);
    expectError(await call('GET', '/api/v1/channels/general/messages'), 401, 'unauthorized');
  });

  it('checks permissions at read time', async () => {
    guild.setOverwrite(OPERATOR, 'secret', { type: 'member', target: 'bob', allow: 0n, deny: P.READ_HISTORY });
    try {
      expectError(await get('/api/v1/channels/secret/messages', 'bob'), 403, 'forbidden');
      expectError(await get('/api/v1/search?q=secret&channel=secret', 'bob'), 403, 'forbidden');
      expect(ids(await get('/api/v1/search?q=secret', 'bob'))).toEqual([]);
    } finally {
      guild.setOverwrite(OPERATOR, 'secret', { type: 'member', target: 'bob', allow: P.VIEW_CHANNEL, deny: 0n });
    }
    expect(ids(await get('/api/v1/channels/secret/messages', 'bob'))).toEqual(['1AL~9~1000']);
  });

  it.each([
    ['limit=0', /limit/],
    ['limit=abc', /limit/],
    ['limit=1001', /limit/],
    ['limit=2.5', /limit/],
    ['limit=1&limit=2', /limit/],
    ['before=', /before/],
    ['before=has%20space', /before/],
    ['after=2025-13-45T00:00:00Z', /after.*not a valid time/],
    [`before=${'x'.repeat(201)}`, /before/],
    ['around=1AL~9~5&before=1AL~9~9', /around cannot be combined/],
    ['befor=1AL~9~9', /befor/],
  ])('rejects a bad query string: %s', async (qs, message) => {
    expectError(await get(`/api/v1/channels/general/messages?${qs}`, 'bob'), 400, 'invalid_request', message);
  });
});

describe('GET /api/v1/search', () => {
  const search = async (qs: string, who = 'carol') => {
    const r = await get(`/api/v1/search?${qs}`, who);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    return ids(r);
  };

  it('searches only the channels the caller may read, newest first', async () => {
    expect(await search('q=plan')).toEqual(['1AL~9~1008', '1AL~9~1006', '1AL~9~1004', '1AL~9~1003', '1AL~9~1002']);
    expect(await search('q=plan', 'bob')).toEqual(['1AL~9~1008', '1AL~9~1006', '1AL~9~1004', '1AL~9~1003', '1AL~9~1002', '1AL~9~1000']);
    expect(await search('q=plan', 'alice')).toContain('1AL~9~1001');
    expect(await search('q=plan&channel=ops&limit=2')).toEqual(['1AL~9~1008', '1AL~9~1006']);
    // An edit is found by its new text only; a deletion not at all.
    expect(await search('q=draft')).toEqual([]);
    expect(await search('q=deleted')).toEqual([]);
    const first = (await get('/api/v1/search?q=final', 'carol')).json.messages[0];
    expect(first).toMatchObject({ msgid: '1AL~9~1008', channel: 'ops', text: 'final plan' });
  });

  it('filters by sender, link, attachment and time', async () => {
    expect(await search('q=plan&from=carol')).toEqual(['1AL~9~1002']);
    expect(await search('q=plan&from=CAROL')).toEqual(['1AL~9~1002']);
    expect(await search('q=plan&has=link')).toEqual(['1AL~9~1002']);
    expect(await search('q=plan&has=attachment')).toEqual(['1AL~9~1003']);
    expect(await search(`q=plan&after=${T0 + 1_003_500}`)).toEqual(['1AL~9~1008', '1AL~9~1006', '1AL~9~1004']);
    expect(await search('q=plan&before=1AL~9~1004')).toEqual(['1AL~9~1003', '1AL~9~1002']);
    expect(await search('q=message&channel=general&before=2025-03-01T12:00:01Z')).toEqual(range(0, 3).reverse());
  });

  it('answers 403 for a forbidden channel, 404 for an unknown one and for a msgid the caller cannot see', async () => {
    expectError(await get('/api/v1/search?q=plan&channel=secret', 'carol'), 403, 'forbidden');
    expectError(await get('/api/v1/search?q=plan&channel=noread', 'carol'), 403, 'forbidden');
    expectError(await get('/api/v1/search?q=plan&channel=nowhere', 'carol'), 404, 'not_found');
    expectError(await get('/api/v1/search?q=plan&before=1AL~9~1000', 'carol'), 404, 'not_found');
  });

  it.each([
    ['', /q/],
    ['q=', /q/],
    ['q=plan&has=video', /has/],
    ['q=plan&limit=101', /limit/],
    ['q=plan&sort=old', /sort/],
    ['q=plan&after=yesterday%20noon', /after/],
  ])('rejects a bad query string: %s', async (qs, message) => {
    expectError(await get(`/api/v1/search?${qs}`, 'carol'), 400, 'invalid_request', message);
  });

  it('treats hostile search text as words', async () => {
    expect(await search(`q=${encodeURIComponent('plan" OR NEAR(x')}`)).toEqual([]);
    expect(await search(`q=${encodeURIComponent('-plan')}`)).toHaveLength(5);
  });
});

describe('read markers and unread counts', () => {
  it('counts unread messages by others and mentions of the account name, per readable channel', async () => {
    const r = await get('/api/v1/unread', 'carol');
    expect(r.status).toBe(200);
    expect(r.json.channels).toEqual([
      { channel: 'general', unread: N, mentions: 0, capped: false, last_read: null },
      { channel: 'ops', unread: 4, mentions: 1, capped: false, last_read: null },
    ]);
    const alice = (await get('/api/v1/unread', 'alice')).json.channels.map((c: any) => c.channel);
    expect(alice).toEqual(['general', 'secret', 'noread', 'ops']);
  });

  it('moves the marker forward only, by msgid or time', async () => {
    const put = (channel: string, body: unknown, who = 'carol') => call('PUT', `/api/v1/channels/${channel}/read-marker`, body, tokens[who]);
    let r = await put('ops', { msgid: '1AL~9~1004' });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ channel: 'ops', moved: true, last_read: { msgid: '1AL~9~1004', time: new Date(T0 + 1_004_000).toISOString() } });
    expect((await put('ops', { msgid: '1AL~9~1003' })).json).toMatchObject({ moved: false, last_read: { msgid: '1AL~9~1004' } });
    const ops = (await get('/api/v1/unread', 'carol')).json.channels.find((c: any) => c.channel === 'ops');
    expect(ops).toMatchObject({ unread: 2, mentions: 0, last_read: { msgid: '1AL~9~1004' } });

    r = await put('general', { time: new Date(T0 + 10_000).toISOString() });
    expect(r.json).toMatchObject({ moved: true, last_read: { msgid: null, time: new Date(T0 + 10_000).toISOString() } });
    expect((await put('general', { time: T0 + 20_000 })).json.moved).toBe(true);
    const general = (await get('/api/v1/unread', 'carol')).json.channels.find((c: any) => c.channel === 'general');
    expect(general.unread).toBe(N - 63);

    expectError(await put('ops', { msgid: '1AL~9~5' }), 404, 'not_found');
    expectError(await put('secret', { msgid: '1AL~9~1000' }), 403, 'forbidden');
    expectError(await put('nowhere', { msgid: 'x' }), 404, 'not_found');
    expectError(await put('ops', { msgid: '1AL~9~1004', time: 5 }), 400, 'invalid_request');
    expectError(await put('ops', {}), 400, 'invalid_request');
    expectError(await put('ops', { time: 'noon' }), 400, 'invalid_request', /time/);
  });
});

describe('the OpenAPI document', () => {
  it('documents the query parameters of each history route', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json')).json;
    const messages = doc.paths['/api/v1/channels/{channel}/messages'].get;
    expect(messages.parameters.map((p: any) => [p.name, p.in, p.required])).toEqual([
      ['channel', 'path', true],
      ['limit', 'query', false],
      ['before', 'query', false],
      ['after', 'query', false],
      ['around', 'query', false],
    ]);
    expect(messages.parameters[2].description).toMatch(/msgid/);
    expect(messages.responses['400']).toBeDefined();
    expect(messages.responses['403']).toBeDefined();
    const search = doc.paths['/api/v1/search'].get;
    expect(search.parameters.find((p: any) => p.name === 'q')).toMatchObject({ in: 'query', required: true });
    expect(search.parameters.find((p: any) => p.name === 'has').schema.enum).toEqual(['link', 'attachment']);
    expect(doc.paths['/api/v1/unread'].get.responses['200']).toBeDefined();
    expect(doc.paths['/api/v1/channels/{channel}/read-marker'].put.requestBody).toBeDefined();
  });
});
