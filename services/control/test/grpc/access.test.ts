/**
 * The gRPC Access service of a real control server (free ports, temp folder), called by a real
 * grpc-js client: tokens, channel and guild permissions from the live guild, per-role upload
 * limits set through GuildService, the HTTP API and the CLI, and every malformed request.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { Permission } from '@alloquy/protocol/permissions';
import { OPERATOR } from '../../src/guild/service.js';
import { AccessCallError, AccessClient, type ChannelRef } from '@alloquy/access';
import { createLogger } from '@alloquy/service-kit/log';
import { startControlServer, type ControlServer } from '../../src/server.js';
import { runCli, type CliResult } from '../support/cli.js';
import { httpApi } from '../support/http-api.js';
import { ConfigError } from '@alloquy/service-kit/config';
import { eventually, forgedTokens } from '@alloquy/stack';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const USERS = ['owner', 'alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'mallory'] as const;
type User = (typeof USERS)[number];

let home: string;
let server: ControlServer;
let client: AccessClient;
const tokens = {} as Record<User, string>;
const { call } = httpApi(() => `http://127.0.0.1:${server.httpPort}`);

const text = (name: string): ChannelRef => ({ kind: 'CHANNEL_KIND_TEXT', name });
const voice = (name: string): ChannelRef => ({ kind: 'CHANNEL_KIND_VOICE', name });

async function login(user: User): Promise<string> {
  const session = await server.accounts.login(user, `${user}-password`, { via: 'cli' });
  tokens[user] = session.access_token;
  return session.access_token;
}

/** The built CLI on this server's data folder; not spawnSync, since this process serves its operator socket. */
function alloquy(...args: string[]): Promise<CliResult> {
  return runCli(args, { ...process.env, ALLOQUY_HOME: home });
}

/** The call's failure, asserting it failed with `code`. */
async function failure(promise: Promise<unknown>, code: status): Promise<AccessCallError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${status[code]}`).toBeInstanceOf(AccessCallError);
  expect(status[(err as AccessCallError).code]).toBe(status[code]);
  return err as AccessCallError;
}

const upload = (user: User, channel = 'general') => client.authorizeChannel({ token: tokens[user], channel: text(channel), permissions: ['ATTACH_FILES'] });
const limitOf = async (user: User) => (await upload(user)).max_upload_bytes;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'alloquy-grpc-'));
  const config = loadConfig({
    ALLOQUY_HOME: home,
    ALLOQUY_HTTP_HOST: '127.0.0.1',
    ALLOQUY_HTTP_PORT: '0',
    ALLOQUY_CONTROL_GRPC_PORT: '0',
    ALLOQUY_IRC_LINK: 'false',
    ALLOQUY_MURMUR: 'false',
  });
  server = await startControlServer(config, createLogger('silent'));
  // The first account is the admin, and so the owner.
  for (const user of USERS) await server.accounts.register(user, `${user}-password`, { bypassPolicy: true });
  for (const user of USERS) await login(user);
  client = new AccessClient({ address: server.grpc.address, timeoutMs: 5000 });

  const g = server.guild;
  // Each new role starts just above @everyone, so the first made ends up on top.
  // RoleManager: MANAGE_ROLES over every role below, but not MANAGE_GUILD (no upload limits).
  g.createRole(OPERATOR, { name: 'RoleManager', permissions: Permission.MANAGE_ROLES });
  g.createRole(OPERATOR, { name: 'Emoji', permissions: Permission.MANAGE_EMOJIS });
  g.createRole(OPERATOR, { name: 'Staff' });
  g.createRole(OPERATOR, { name: 'Plain' });
  g.createRole(OPERATOR, { name: 'Big', maxUploadBytes: 2 * GiB });
  g.createRole(OPERATOR, { name: 'Uploaders', maxUploadBytes: 500 * MiB });
  g.createRole(OPERATOR, { name: 'Small', maxUploadBytes: 10 * MiB });
  g.addMemberRole(OPERATOR, 'bob', 'Staff');
  g.addMemberRole(OPERATOR, 'erin', 'Emoji');
  g.addMemberRole(OPERATOR, 'frank', 'RoleManager');

  g.createChannel(OPERATOR, { kind: 'text', name: 'staff' });
  g.setOverwrite(OPERATOR, 'staff', { type: 'role', target: '@everyone', allow: 0n, deny: Permission.VIEW_CHANNEL });
  g.setOverwrite(OPERATOR, 'staff', { type: 'role', target: 'Staff', allow: Permission.VIEW_CHANNEL, deny: 0n });
  g.createChannel(OPERATOR, { kind: 'text', name: 'announcements' });
  g.setOverwrite(OPERATOR, 'announcements', { type: 'role', target: '@everyone', allow: 0n, deny: Permission.SEND_MESSAGES });
  g.createChannel(OPERATOR, { kind: 'voice', name: 'Lounge' });
  g.createChannel(OPERATOR, { kind: 'voice', name: 'Stage' });
  g.setOverwrite(OPERATOR, 'Stage', { type: 'role', target: '@everyone', allow: 0n, deny: Permission.VIDEO });
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe('Identify', () => {
  it('names the bearer of a valid token', async () => {
    expect(await client.identify({ token: tokens.alice })).toEqual({
      account: 'alice',
      account_id: server.accounts.get('alice').id,
      member: true,
      admin: false,
    });
    expect(await client.identify({ token: tokens.owner })).toMatchObject({ account: 'owner', member: true, admin: true });
  });

  it('refuses forged, tampered, alg-none, expired, garbage and missing tokens as UNAUTHENTICATED', async () => {
    const claims = jwt.decode(tokens.alice) as { sub: string; name: string; pwv: number };
    const secret = readFileSync(server.config.auth.jwtSecretPath, 'utf8').trim();
    // Signed with another key, alg none, and garbage.
    const forgeries = forgedTokens(tokens.alice);
    const expired = jwt.sign({ name: 'alice', pwv: claims.pwv, typ: 'access', exp: Math.floor(Date.now() / 1000) - 60 }, secret, {
      algorithm: 'HS256',
      issuer: 'alloquy',
      subject: claims.sub,
    });
    const tampered = tokens.alice.slice(0, -3) + (tokens.alice.endsWith('AAA') ? 'BBB' : 'AAA');
    for (const token of [...forgeries, tampered, '']) {
      const err = await failure(client.identify({ token }), status.UNAUTHENTICATED);
      expect(err.reason).toBe('invalid_token');
    }
    expect((await failure(client.identify({ token: expired }), status.UNAUTHENTICATED)).message).toMatch(/expired/);
    // The same claims under the server's key pass: the forgeries fail on their signature alone.
    const genuine = jwt.sign({ name: 'alice', pwv: claims.pwv, typ: 'access' }, secret, { algorithm: 'HS256', issuer: 'alloquy', subject: claims.sub });
    expect(await client.identify({ token: genuine })).toMatchObject({ account: 'alice' });
    // Refused by every method that takes a token.
    await failure(client.authorizeChannel({ token: forgeries[0]!, channel: text('general'), permissions: ['ATTACH_FILES'] }), status.UNAUTHENTICATED);
    await failure(client.authorizeGuild({ token: expired, permissions: ['MANAGE_EMOJIS'] }), status.UNAUTHENTICATED);
  });

  it('voids old tokens on a password change and refuses a disabled account as PERMISSION_DENIED', async () => {
    const old = tokens.mallory;
    await server.accounts.setPassword('mallory', 'mallory-password-2');
    await failure(client.identify({ token: old }), status.UNAUTHENTICATED);
    const fresh = (await server.accounts.login('mallory', 'mallory-password-2', { via: 'cli' })).access_token;
    expect((await client.identify({ token: fresh })).account).toBe('mallory');
    server.accounts.setDisabled('mallory', true);
    const err = await failure(client.identify({ token: fresh }), status.PERMISSION_DENIED);
    expect(err.reason).toBe('account_disabled');
    await failure(client.authorizeChannel({ token: fresh, channel: text('general'), permissions: ['ATTACH_FILES'] }), status.PERMISSION_DENIED);
  });
});

describe('AuthorizeChannel', () => {
  it('allows ATTACH_FILES in a public channel and says what the channel is', async () => {
    const general = server.guild.channel('general', 'text');
    expect(await upload('alice')).toEqual({
      account: 'alice',
      account_id: server.accounts.get('alice').id,
      member: true,
      allowed: true,
      missing: [],
      max_upload_bytes: GiB,
      channel: { id: general.id, name: 'general', kind: 'CHANNEL_KIND_TEXT', is_public: true, created_at_ms: general.createdAt },
    });
    // `#General` and the id name the same channel.
    expect((await upload('alice', '#General')).channel.id).toBe(general.id);
    const byId = await client.authorizeChannel({ token: tokens.alice, channel: { kind: 'CHANNEL_KIND_TEXT', id: general.id }, permissions: ['ATTACH_FILES'] });
    expect(byId).toMatchObject({ allowed: true, channel: { name: 'general' } });
  });

  it('refuses a private channel to those who cannot see it and allows its role', async () => {
    const denied = await client.authorizeChannel({ token: tokens.alice, channel: text('staff'), permissions: ['VIEW_CHANNEL', 'ATTACH_FILES'] });
    expect(denied).toMatchObject({ member: true, allowed: false, missing: ['VIEW_CHANNEL', 'ATTACH_FILES'], channel: { name: 'staff', is_public: false } });
    expect(await upload('bob', 'staff')).toMatchObject({ allowed: true, missing: [] });
    // The owner sees everything.
    expect(await upload('owner', 'staff')).toMatchObject({ allowed: true });
  });

  it('applies the implicit rules: no SEND_MESSAGES, no ATTACH_FILES', async () => {
    const answer = await client.authorizeChannel({
      token: tokens.alice,
      channel: text('announcements'),
      permissions: ['VIEW_CHANNEL', 'SEND_MESSAGES', 'ATTACH_FILES'],
    });
    expect(answer).toMatchObject({ allowed: false, missing: ['SEND_MESSAGES', 'ATTACH_FILES'], channel: { is_public: true } });
  });

  it('refuses uploads to a timed-out member, who can still read', async () => {
    server.guild.timeout(OPERATOR, 'carol', Date.now() + 3600_000);
    try {
      expect(await upload('carol')).toMatchObject({ allowed: false, missing: ['ATTACH_FILES'] });
      const read = await client.checkAccount({ account: 'carol', channel: text('general'), permissions: ['VIEW_CHANNEL', 'READ_HISTORY'] });
      expect(read).toMatchObject({ allowed: true, missing: [] });
    } finally {
      server.guild.timeout(OPERATOR, 'carol', null);
    }
    expect(await upload('carol')).toMatchObject({ allowed: true });
  });

  it('answers SPEAK and VIDEO in voice channels (for signalling)', async () => {
    const lounge = await client.authorizeChannel({ token: tokens.alice, channel: voice('lounge'), permissions: ['CONNECT', 'SPEAK', 'VIDEO'] });
    expect(lounge).toMatchObject({ allowed: true, channel: { name: 'Lounge', kind: 'CHANNEL_KIND_VOICE' } });
    const stage = await client.authorizeChannel({ token: tokens.alice, channel: voice('Stage'), permissions: ['SPEAK', 'VIDEO'] });
    expect(stage).toMatchObject({ allowed: false, missing: ['VIDEO'] });
    // A voice channel is not a text channel of the same name.
    await failure(upload('alice', 'Lounge'), status.NOT_FOUND);
  });

  it('follows a rename by id, and refuses a kicked member', async () => {
    const channel = server.guild.createChannel(OPERATOR, { kind: 'text', name: 'temp' });
    server.guild.updateChannel(OPERATOR, channel.id, { name: 'renamed' });
    const byId = await client.authorizeChannel({ token: tokens.dave, channel: { kind: 'CHANNEL_KIND_TEXT', id: channel.id }, permissions: ['ATTACH_FILES'] });
    expect(byId.channel.name).toBe('renamed');
    await failure(upload('dave', 'temp'), status.NOT_FOUND);
    // Ids are per kind: a voice lookup with a text channel's id finds nothing.
    await failure(
      client.authorizeChannel({ token: tokens.dave, channel: { kind: 'CHANNEL_KIND_VOICE', id: channel.id }, permissions: ['SPEAK'] }),
      status.NOT_FOUND,
    );
    server.guild.deleteChannel(OPERATOR, channel.id);

    server.guild.kick(OPERATOR, 'frank', 'test');
    try {
      expect(await upload('frank')).toMatchObject({ member: false, allowed: false, missing: ['ATTACH_FILES'], max_upload_bytes: 0 });
      expect(await client.identify({ token: tokens.frank })).toMatchObject({ account: 'frank', member: false });
    } finally {
      server.guild.join(server.accounts.get('frank'));
      server.guild.addMemberRole(OPERATOR, 'frank', 'RoleManager');
    }
  });

  it('answers NOT_FOUND for an unknown channel', async () => {
    const err = await failure(upload('alice', 'nowhere'), status.NOT_FOUND);
    expect(err).toMatchObject({ reason: 'not_found', message: 'there is no text channel #nowhere' });
    await failure(
      client.authorizeChannel({ token: tokens.alice, channel: { kind: 'CHANNEL_KIND_TEXT', id: '999999' }, permissions: ['ATTACH_FILES'] }),
      status.NOT_FOUND,
    );
  });
});

describe('upload limits per role', () => {
  it('gives the configured default when no role sets a limit', async () => {
    expect(await limitOf('alice')).toBe(GiB);
  });

  it("takes the largest of the member's role limits, even below the default", async () => {
    const g = server.guild;
    g.addMemberRole(OPERATOR, 'dave', 'Small');
    expect(await limitOf('dave')).toBe(10 * MiB);
    g.addMemberRole(OPERATOR, 'dave', 'Plain');
    expect(await limitOf('dave')).toBe(10 * MiB);
    g.addMemberRole(OPERATOR, 'dave', 'Uploaders');
    expect(await limitOf('dave')).toBe(500 * MiB);
    g.addMemberRole(OPERATOR, 'dave', 'Big');
    expect(await limitOf('dave')).toBe(2 * GiB);
    for (const role of ['Small', 'Plain', 'Uploaders', 'Big']) g.removeMemberRole(OPERATOR, 'dave', role);
    expect(await limitOf('dave')).toBe(GiB);
  });

  it('gives the owner and administrators the largest limit there is', async () => {
    expect(await limitOf('owner')).toBe(2 * GiB);
    // An @everyone limit applies to everyone without a role of their own.
    server.guild.updateRole(OPERATOR, '@everyone', { maxUploadBytes: 50 * MiB });
    try {
      expect(await limitOf('alice')).toBe(50 * MiB);
      server.guild.addMemberRole(OPERATOR, 'alice', 'Uploaders');
      expect(await limitOf('alice')).toBe(500 * MiB);
      server.guild.removeMemberRole(OPERATOR, 'alice', 'Uploaders');
      expect(await limitOf('owner')).toBe(2 * GiB);
    } finally {
      server.guild.updateRole(OPERATOR, '@everyone', { maxUploadBytes: null });
    }
    expect(await limitOf('alice')).toBe(GiB);
  });

  it('is set over the roles API, needs MANAGE_GUILD besides MANAGE_ROLES, and is audited', async () => {
    const created = await call('POST', '/api/v1/roles', { name: 'Media', max_upload_bytes: 300 * MiB }, tokens.owner);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'Media', max_upload_bytes: 300 * MiB });
    const patched = await call('PATCH', '/api/v1/roles/Media', { max_upload_bytes: 400 * MiB }, tokens.owner);
    expect(patched.json).toMatchObject({ max_upload_bytes: 400 * MiB });
    server.guild.addMemberRole(OPERATOR, 'erin', 'Media');
    expect(await limitOf('erin')).toBe(400 * MiB);

    // frank holds MANAGE_ROLES above Small: he may rename it but not change its limit.
    const refused = await call('PATCH', '/api/v1/roles/Small', { max_upload_bytes: 5 * GiB }, tokens.frank);
    expect(refused.status).toBe(403);
    expect(refused.json.error.message).toMatch(/MANAGE_GUILD/);
    expect((await call('PATCH', '/api/v1/roles/Small', { color: 0x00ff00 }, tokens.frank)).status).toBe(200);
    expect(server.guild.role('Small').maxUploadBytes).toBe(10 * MiB);

    for (const bad of [0, -5, 1.5, '100', Number.MAX_SAFE_INTEGER + 2]) {
      const r = await call('PATCH', '/api/v1/roles/Media', { max_upload_bytes: bad }, tokens.owner);
      expect(r.status, String(bad)).toBe(400);
    }
    const cleared = await call('PATCH', '/api/v1/roles/Media', { max_upload_bytes: null }, tokens.owner);
    expect(cleared.json.max_upload_bytes).toBeNull();
    expect(await limitOf('erin')).toBe(GiB);

    const audit = await call('GET', '/api/v1/audit-log?action=role.update', undefined, tokens.owner);
    const limits = (audit.json.entries as { target_name: string; changes: Record<string, unknown> }[]).filter((e) => e.target_name === 'Media');
    expect(limits.map((e) => e.changes.max_upload_bytes)).toEqual([
      { from: 400 * MiB, to: null },
      { from: 300 * MiB, to: 400 * MiB },
    ]);
    const roles = await call('GET', '/api/v1/roles', undefined, tokens.alice);
    expect(roles.json.roles.find((r: { name: string }) => r.name === 'Big').max_upload_bytes).toBe(2 * GiB);
  });

  it('is set with `alloquy role limit`, and a running server answers the new limit', async () => {
    server.guild.addMemberRole(OPERATOR, 'carol', 'Plain');
    const set = await alloquy('role', 'limit', 'plain', '25M');
    expect({ code: set.code, err: set.err }).toEqual({ code: 0, err: '' });
    expect(set.out).toMatch(/Plain: uploads up to 25 MiB \(26214400 bytes\)/);
    await eventually(async () => (await limitOf('carol')) === 25 * MiB, 10_000, 'the CLI limit to reach the server');
    expect((await alloquy('role', 'list')).out).toMatch(/Plain\s+25 MiB/);

    const bad = await alloquy('role', 'limit', 'Plain', 'lots');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/"lots" is not a size/);
    const cleared = await alloquy('role', 'limit', 'Plain', 'none');
    expect(cleared.out).toMatch(/no upload limit of its own/);
    await eventually(async () => (await limitOf('carol')) === GiB, 10_000, 'the cleared limit to reach the server');
  });
});

describe('CheckAccount', () => {
  it('answers for an account by name or id without a token', async () => {
    const bobId = server.accounts.get('bob').id;
    const byName = await client.checkAccount({ account: 'BOB', channel: text('staff'), permissions: ['VIEW_CHANNEL', 'READ_HISTORY'] });
    expect(byName).toMatchObject({ account: 'bob', account_id: bobId, member: true, allowed: true });
    const byId = await client.checkAccount({ account_id: server.accounts.get('alice').id, channel: text('staff'), permissions: ['VIEW_CHANNEL'] });
    expect(byId).toMatchObject({ account: 'alice', allowed: false, missing: ['VIEW_CHANNEL'] });
  });

  it('allows nothing to unknown or disabled accounts', async () => {
    expect(await client.checkAccount({ account: 'nobody', channel: text('general'), permissions: ['VIEW_CHANNEL'] })).toMatchObject({
      account: '',
      account_id: 0,
      member: false,
      allowed: false,
      missing: ['VIEW_CHANNEL'],
    });
    expect(await client.checkAccount({ account_id: 424242, channel: text('general'), permissions: ['VIEW_CHANNEL'] })).toMatchObject({ allowed: false });
    expect(await client.checkAccount({ account: 'mallory', channel: text('general'), permissions: ['VIEW_CHANNEL'] })).toMatchObject({
      account: 'mallory',
      member: false,
      allowed: false,
    });
  });
});

describe('LookupAccounts', () => {
  it('answers each name in order: members, a kicked one, a disabled one, an unknown one', async () => {
    // mallory was disabled by an earlier test of this file.
    server.guild.kick(OPERATOR, 'frank', 'test');
    let answer;
    try {
      answer = await client.lookupAccounts({ accounts: ['BOB', 'frank', 'mallory', 'nobody', 'alice'] });
    } finally {
      server.guild.join(server.accounts.get('frank'));
      server.guild.addMemberRole(OPERATOR, 'frank', 'RoleManager');
    }
    expect(answer.accounts).toEqual([
      { account: 'bob', account_id: server.accounts.get('bob').id, member: true, disabled: false },
      { account: 'frank', account_id: server.accounts.get('frank').id, member: false, disabled: false },
      { account: 'mallory', account_id: server.accounts.get('mallory').id, member: false, disabled: true },
      { account: '', account_id: 0, member: false, disabled: false },
      { account: 'alice', account_id: server.accounts.get('alice').id, member: true, disabled: false },
    ]);
  });

  it('refuses no names, 26 names and empty or overlong names as INVALID_ARGUMENT', async () => {
    await failure(client.lookupAccounts({ accounts: [] }), status.INVALID_ARGUMENT);
    await failure(client.lookupAccounts({ accounts: Array(26).fill('bob') }), status.INVALID_ARGUMENT);
    await failure(client.lookupAccounts({ accounts: ['bob', ''] }), status.INVALID_ARGUMENT);
    await failure(client.lookupAccounts({ accounts: ['x'.repeat(65)] }), status.INVALID_ARGUMENT);
  });
});

describe('AuthorizeGuild and GetChannel', () => {
  it('answers guild-wide permissions: MANAGE_EMOJIS and MANAGE_GUILD', async () => {
    expect(await client.authorizeGuild({ token: tokens.owner, permissions: ['MANAGE_EMOJIS', 'MANAGE_GUILD'] })).toMatchObject({
      account: 'owner',
      allowed: true,
      missing: [],
    });
    expect(await client.authorizeGuild({ token: tokens.alice, permissions: ['MANAGE_EMOJIS'] })).toMatchObject({ allowed: false, missing: ['MANAGE_EMOJIS'] });
    expect(await client.authorizeGuild({ token: tokens.erin, permissions: ['MANAGE_EMOJIS', 'MANAGE_GUILD'] })).toMatchObject({
      member: true,
      allowed: false,
      missing: ['MANAGE_GUILD'],
    });
  });

  it('describes a channel and whether everyone may read it', async () => {
    expect(await client.getChannel({ channel: text('general') })).toMatchObject({ name: 'general', is_public: true });
    expect(await client.getChannel({ channel: text('staff') })).toMatchObject({ name: 'staff', is_public: false });
    expect(await client.getChannel({ channel: voice('stage') })).toMatchObject({ name: 'Stage', kind: 'CHANNEL_KIND_VOICE', is_public: true });
    await failure(client.getChannel({ channel: text('nowhere') }), status.NOT_FOUND);
  });
});

describe('malformed requests', () => {
  const token = () => tokens.alice;
  it.each([
    ['no channel', () => ({ token: token(), permissions: ['ATTACH_FILES'] })],
    ['no kind', () => ({ token: token(), channel: { name: 'general' }, permissions: ['ATTACH_FILES'] })],
    ['an unknown kind', () => ({ token: token(), channel: { kind: 7, name: 'general' }, permissions: ['ATTACH_FILES'] })],
    ['neither name nor id', () => ({ token: token(), channel: { kind: 'CHANNEL_KIND_TEXT' }, permissions: ['ATTACH_FILES'] })],
    ['an empty name', () => ({ token: token(), channel: text(''), permissions: ['ATTACH_FILES'] })],
    ['a 201-character name', () => ({ token: token(), channel: text('x'.repeat(201)), permissions: ['ATTACH_FILES'] })],
    ['a non-numeric id', () => ({ token: token(), channel: { kind: 'CHANNEL_KIND_TEXT', id: '12abc' }, permissions: ['ATTACH_FILES'] })],
    ['no permissions', () => ({ token: token(), channel: text('general'), permissions: [] })],
    ['an unknown permission', () => ({ token: token(), channel: text('general'), permissions: ['ATTACH_FILES', 'FLY'] })],
    ['a lowercase permission', () => ({ token: token(), channel: text('general'), permissions: ['attach_files'] })],
    ['65 permissions', () => ({ token: token(), channel: text('general'), permissions: Array(65).fill('VIEW_CHANNEL') })],
    ['a 9000-character token', () => ({ token: 'x'.repeat(9000), channel: text('general'), permissions: ['ATTACH_FILES'] })],
  ])('AuthorizeChannel with %s is INVALID_ARGUMENT', async (_what, request) => {
    const err = await failure(client.authorizeChannel(request() as never), status.INVALID_ARGUMENT);
    expect(err.reason).toBe('invalid_request');
    expect(err.message.length).toBeGreaterThan(10);
  });

  it('CheckAccount without an account, or with account id 0, is INVALID_ARGUMENT', async () => {
    await failure(client.checkAccount({ channel: text('general'), permissions: ['VIEW_CHANNEL'] } as never), status.INVALID_ARGUMENT);
    await failure(client.checkAccount({ account_id: 0, channel: text('general'), permissions: ['VIEW_CHANNEL'] }), status.INVALID_ARGUMENT);
    await failure(client.checkAccount({ account: '', channel: text('general'), permissions: ['VIEW_CHANNEL'] }), status.INVALID_ARGUMENT);
  });

  it('AuthorizeGuild without permissions and GetChannel without a channel are INVALID_ARGUMENT', async () => {
    await failure(client.authorizeGuild({ token: tokens.owner, permissions: [] }), status.INVALID_ARGUMENT);
    await failure(client.getChannel({} as never), status.INVALID_ARGUMENT);
  });

  it('refuses a message over 64 KiB before reading it', async () => {
    await failure(client.identify({ token: 'x'.repeat(100_000) }), status.RESOURCE_EXHAUSTED);
    // The connection stays usable.
    expect((await client.identify({ token: tokens.alice })).account).toBe('alice');
  });
});

describe('operations', () => {
  it('reports grpc in /healthz and its calls in /metrics', async () => {
    const health = await call('GET', '/healthz');
    expect(health.json.components.grpc).toEqual({ status: 'up', address: server.grpc.address });
    const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/alloquy_grpc_request_duration_seconds_count\{method="AuthorizeChannel",code="OK"\} [1-9]/);
    expect(metrics).toMatch(/alloquy_grpc_request_duration_seconds_count\{method="Identify",code="UNAUTHENTICATED"\} [1-9]/);
  });

  it('listens on 50051 by default, moves with ALLOQUY_CONTROL_GRPC_PORT, and only on loopback', () => {
    const at = mkdtempSync(join(tmpdir(), 'alloquy-grpc-config-'));
    expect(loadConfig({ ALLOQUY_HOME: at }).grpc).toEqual({ host: '127.0.0.1', port: 50051 });
    expect(loadConfig({ ALLOQUY_HOME: at }).attachments.defaultMaxUploadBytes).toBe(GiB);
    expect(loadConfig({ ALLOQUY_HOME: at, ALLOQUY_CONTROL_GRPC_PORT: '50999', ALLOQUY_CONTROL_GRPC_HOST: '::1' }).grpc).toEqual({ host: '::1', port: 50999 });
    expect(loadConfig({ ALLOQUY_HOME: at, ALLOQUY_MAX_UPLOAD_BYTES: '1000' }).attachments.defaultMaxUploadBytes).toBe(1000);
    // A throwaway server (any free HTTP port) never takes the well-known gRPC port.
    expect(loadConfig({ ALLOQUY_HOME: at, ALLOQUY_HTTP_PORT: '0' }).grpc.port).toBe(0);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'example.org']) {
      expect(() => loadConfig({ ALLOQUY_HOME: at, ALLOQUY_CONTROL_GRPC_HOST: host }), host).toThrow(/grpc\.host.*loopback/);
    }
    expect(() => loadConfig({ ALLOQUY_HOME: at, ALLOQUY_MAX_UPLOAD_BYTES: '0' })).toThrow(ConfigError);
  });
});
