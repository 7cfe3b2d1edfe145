/**
 * The control API as a browser client sees it: requests built with @alloquy/protocol's request
 * types, every answer parsed by the protocol's schema for it. An answer the schema would change
 * (a field it lacks is stripped, a wrong type refused) fails here before it reaches a client.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AccountList,
  AccountView,
  AuditEntryList,
  BanList,
  CategoryList,
  CategoryView,
  ChannelList,
  ChannelView,
  ErrorBody,
  GuildView,
  InviteList,
  InviteView,
  MemberList,
  MemberView,
  MessagePage,
  ReadMarkerMove,
  RegistrationInviteView,
  RoleList,
  RoleView,
  SearchResults,
  SessionView,
  UnreadList,
  VoiceCertificateList,
  VoiceCertificateView,
  type CategoryCreate,
  type ChannelCreate,
  type Credentials,
  type InviteCreate,
  type OverwriteBody,
  type ReadMarkerBody,
  type Registration,
  type RoleCreate,
  type TimeoutBody,
} from '@alloquy/protocol/http';
import { createLogger } from '@alloquy/service-kit/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { loadConfig } from '../../src/config/config.js';
import { startControlServer, type ControlServer } from '../../src/server.js';
import { httpApi } from '../support/http-api.js';

let server: ControlServer;
let base: string;
const { call } = httpApi(() => base);

beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), 'alloquy-wire-schemas-'));
  const config = loadConfig({ ALLOQUY_HOME: home, ALLOQUY_HTTP_HOST: '127.0.0.1', ALLOQUY_HTTP_PORT: '0', ALLOQUY_IRC_LINK: 'false', ALLOQUY_MURMUR: 'false' });
  server = await startControlServer(config, createLogger('silent'));
  base = `http://127.0.0.1:${server.httpPort}`;
});
afterAll(() => server.stop());

/** The answer's body as `schema` parses it, after checking the status and that parsing changed nothing. */
async function answer<S extends z.ZodType>(schema: S, status: number, pending: ReturnType<typeof call>): Promise<z.infer<S>> {
  const r = await pending;
  expect({ status: r.status, error: r.json?.error }).toEqual({ status, error: undefined });
  const parsed = schema.parse(r.json);
  expect(parsed).toEqual(r.json);
  return parsed;
}

describe('the control API through the protocol schemas', () => {
  it('answers every resource in the shape a client parses', async () => {
    const registration: Registration = { username: 'alice', password: 'alice-password' };
    await answer(AccountView, 201, call('POST', '/api/v1/accounts', registration));
    await call('POST', '/api/v1/accounts', { username: 'bob', password: 'bob-password' } satisfies Registration);
    const credentials: Credentials = { username: 'alice', password: 'alice-password' };
    const token = (await answer(SessionView, 200, call('POST', '/api/v1/sessions', credentials))).access_token;
    const get = (path: string) => call('GET', `/api/v1${path}`, undefined, token);
    const send = (method: string, path: string, body?: unknown) => call(method, `/api/v1${path}`, body, token);

    expect((await answer(AccountView, 200, get('/me'))).username).toBe('alice');
    expect((await answer(AccountList, 200, get('/accounts'))).accounts.map((a) => a.username)).toEqual(['alice', 'bob']);
    await answer(RegistrationInviteView, 201, send('POST', '/registration-invites', { max_uses: 1 }));
    expect((await answer(GuildView, 200, get('/guild'))).owner).toBe('alice');

    const category: CategoryCreate = { name: 'Staff' };
    await answer(CategoryView, 201, send('POST', '/categories', category));
    await answer(CategoryList, 200, get('/categories'));
    const role: RoleCreate = { name: 'helpers', permissions: ['SEND_MESSAGES', 'READ_HISTORY'], color: 0x00ff00 };
    expect((await answer(RoleView, 201, send('POST', '/roles', role))).permission_names).toEqual(['SEND_MESSAGES', 'READ_HISTORY']);
    await answer(RoleList, 200, get('/roles'));
    const channel: ChannelCreate = { kind: 'text', name: 'staff', category: 'Staff' };
    await answer(ChannelView, 201, send('POST', '/channels', channel));
    const overwrite: OverwriteBody = { allow: ['VIEW_CHANNEL'], deny: '0' };
    const withOverwrite = await answer(ChannelView, 200, send('PUT', '/channels/staff/overwrites/role/helpers', overwrite));
    expect(withOverwrite.overwrites?.map((o) => o.name)).toEqual(['helpers']);
    expect((await answer(ChannelList, 200, get('/channels'))).channels.map((c) => c.name)).toContain('staff');

    await answer(MemberView, 200, send('PUT', '/members/bob/roles/helpers'));
    const timeout: TimeoutBody = { duration_seconds: 60, reason: 'calm down' };
    expect((await answer(MemberView, 200, send('POST', '/members/bob/timeout', timeout))).timeout_until).not.toBeNull();
    await answer(MemberList, 200, get('/members'));
    expect((await call('PUT', '/api/v1/bans/bob', { reason: 'spam' }, token)).status).toBe(204);
    expect((await answer(BanList, 200, get('/bans'))).bans.map((b) => b.username)).toEqual(['bob']);
    const invite: InviteCreate = { max_uses: 3, expires_in: 3600 };
    await answer(InviteView, 201, send('POST', '/invites', invite));
    await answer(InviteList, 200, get('/invites'));
    const audit = await answer(AuditEntryList, 200, get('/audit-log?limit=5'));
    expect(audit.entries.map((e) => e.action).slice(0, 2)).toEqual(['invite.create', 'member.ban']);

    expect(await answer(MessagePage, 200, get('/channels/staff/messages?limit=10'))).toEqual({ channel: 'staff', messages: [] });
    await answer(SearchResults, 200, get('/search?q=hello'));
    const marker: ReadMarkerBody = { time: Date.UTC(2030, 0, 1) };
    expect((await answer(ReadMarkerMove, 200, send('PUT', '/channels/staff/read-marker', marker))).last_read.msgid).toBeNull();
    expect((await answer(UnreadList, 200, get('/unread'))).channels.find((c) => c.channel === 'staff')?.last_read).not.toBeNull();

    await answer(VoiceCertificateView, 201, send('POST', '/me/voice-certificates', { hash: 'c'.repeat(40) }));
    await answer(VoiceCertificateList, 200, get('/me/voice-certificates'));
  });

  it('answers failures with the error body', async () => {
    const r = await call('GET', '/api/v1/guild');
    expect(r.status).toBe(401);
    expect(ErrorBody.parse(r.json)).toEqual(r.json);
  });
});
