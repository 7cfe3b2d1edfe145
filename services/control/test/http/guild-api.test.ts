/**
 * The guild API on a real control server (IRC and Murmur off): every route's happy path, the
 * refusals the permission math must produce (hierarchy, permissions one lacks, owner immunity,
 * bans, invites), clear 400s for bad input, 401s for bad tokens, and an audit log that names
 * who did what.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '@alloquy/service-kit/log';
import { startControlServer, type ControlServer } from '../../src/server.js';
import { httpApi, type ApiResponse } from '../support/http-api.js';
import { forgedTokens } from '@alloquy/stack';

let server: ControlServer;
let base: string;
const { call } = httpApi(() => base);
const tokens = new Map<string, string>();

const USERS = ['alice', 'mod', 'mod2', 'helper', 'bob', 'carol', 'dave', 'erin'] as const;
type User = (typeof USERS)[number];

beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), 'alloquy-guild-api-'));
  const config = loadConfig({
    ALLOQUY_HOME: home,
    ALLOQUY_HTTP_HOST: '127.0.0.1',
    ALLOQUY_HTTP_PORT: '0',
    ALLOQUY_IRC_LINK: 'false',
    ALLOQUY_MURMUR: 'false',
    // Invite-only: a kicked member needs an invite to come back.
    ALLOQUY_REGISTRATION: 'invite',
  });
  server = await startControlServer(config, createLogger('silent'));
  base = `http://127.0.0.1:${server.httpPort}`;
  // The operator makes the accounts (registration needs invites); alice, the first, is the admin and owner.
  for (const name of USERS) await server.accounts.register(name, `${name}-password`, { bypassPolicy: true });
  for (const name of USERS) await login(name);
});
afterAll(() => server.stop());

async function login(name: User): Promise<string> {
  const r = await call('POST', '/api/v1/sessions', { username: name, password: `${name}-password` });
  expect(r.status).toBe(200);
  tokens.set(name, r.json.access_token);
  return r.json.access_token;
}

function as(name: User) {
  const token = () => tokens.get(name)!;
  return {
    get: (path: string) => call('GET', `/api/v1${path}`, undefined, token()),
    post: (path: string, body?: unknown) => call('POST', `/api/v1${path}`, body, token()),
    put: (path: string, body?: unknown) => call('PUT', `/api/v1${path}`, body, token()),
    patch: (path: string, body?: unknown) => call('PATCH', `/api/v1${path}`, body, token()),
    delete: (path: string) => call('DELETE', `/api/v1${path}`, undefined, token()),
  };
}

function expectError(r: ApiResponse, status: number, code: string, message?: RegExp): void {
  expect({ status: r.status, body: r.json }).toEqual({ status, body: { error: { code, message: expect.any(String) } } });
  if (message) expect(r.json.error.message).toMatch(message);
}

function expectOk(r: ApiResponse, status = 200): any {
  expect({ status: r.status, error: r.json?.error }).toEqual({ status, error: undefined });
  return r.json;
}

const alice = as('alice');
const mod = as('mod');
const mod2 = as('mod2');
const helper = as('helper');
const bob = as('bob');
const carol = as('carol');
const dave = as('dave');
const erin = as('erin');

describe('the guild', () => {
  it("shows settings, owner and the caller's permissions", async () => {
    const mine = expectOk(await alice.get('/guild'));
    expect(mine).toMatchObject({ name: 'Alloquy', owner: 'alice', member: true, adhoc_channels: false });
    expect(mine.permission_names).toContain('ADMINISTRATOR');
    expect(BigInt(mine.permissions)).toBeGreaterThan(0n);

    const theirs = expectOk(await bob.get('/guild'));
    expect(theirs.owner).toBe('alice');
    expect(theirs.permission_names).toEqual(expect.arrayContaining(['VIEW_CHANNEL', 'SEND_MESSAGES', 'CONNECT']));
    expect(theirs.permission_names).not.toContain('MANAGE_GUILD');
    // The decimal string and the names say the same.
    const { permissionsFromNames } = await import('@alloquy/protocol/permissions');
    expect(theirs.permissions).toBe(permissionsFromNames(theirs.permission_names).toString());
  });

  it('changes settings with MANAGE_GUILD only', async () => {
    expectError(await bob.patch('/guild', { name: 'Mine now' }), 403, 'forbidden', /MANAGE_GUILD/);
    const changed = expectOk(
      await alice.patch('/guild', { name: 'Raiders', description: 'We raid.', icon: 'https://example.org/i.png', adhoc_channels: true }),
    );
    expect(changed).toMatchObject({ name: 'Raiders', description: 'We raid.', icon: 'https://example.org/i.png', adhoc_channels: true });
    expect(expectOk(await bob.get('/guild')).name).toBe('Raiders');
    expect(expectOk(await alice.patch('/guild', { icon: null, adhoc_channels: false }))).toMatchObject({ icon: null, adhoc_channels: false });
  });

  it.each([
    [{ name: 5 }, /name/],
    [{ adhoc_channels: 'yes' }, /adhoc_channels/],
    [{ owner: '' }, /owner/],
    [{ colour: 'red' }, /colour/],
    [{ name: 'x' }, /2 to 100/],
  ])('PATCH /guild %j is a 400 naming the field', async (body, message) => {
    expectError(await alice.patch('/guild', body), 400, 'invalid_request', message);
  });
});

describe('roles and the hierarchy', () => {
  it('creates roles from names or decimal strings, newest just above @everyone', async () => {
    expectError(await bob.post('/roles', { name: 'Mine' }), 403, 'forbidden', /MANAGE_ROLES/);
    const mods = expectOk(
      await alice.post('/roles', {
        name: 'Moderators',
        permissions: ['VIEW_CHANNEL', 'SEND_MESSAGES', 'KICK_MEMBERS', 'BAN_MEMBERS', 'MODERATE_MEMBERS', 'MANAGE_ROLES', 'MANAGE_CHANNELS', 'CREATE_INVITE'],
        color: 0x3366ff,
      }),
      201,
    );
    expect(mods).toMatchObject({ name: 'Moderators', position: 1, color: 0x3366ff, everyone: false });
    expect(mods.permission_names).toEqual([
      'VIEW_CHANNEL',
      'MANAGE_CHANNELS',
      'MANAGE_ROLES',
      'CREATE_INVITE',
      'KICK_MEMBERS',
      'BAN_MEMBERS',
      'MODERATE_MEMBERS',
      'SEND_MESSAGES',
    ]);
    const helpers = expectOk(await alice.post('/roles', { name: 'Helpers', permissions: String(1n << 8n) }), 201);
    expect(helpers).toMatchObject({ name: 'Helpers', position: 1, permission_names: ['MODERATE_MEMBERS'], permissions: '256' });

    const roles = expectOk(await bob.get('/roles')).roles;
    expect(roles.map((r: { name: string; position: number }) => [r.name, r.position])).toEqual([
      ['Moderators', 2],
      ['Helpers', 1],
      ['@everyone', 0],
    ]);
    expect(roles[2].everyone).toBe(true);
    expectError(await alice.post('/roles', { name: 'moderators' }), 409, 'role_taken');
  });

  it('assigns roles; nobody manages a role at or above their own', async () => {
    for (const [user, role] of [
      ['mod', 'Moderators'],
      ['mod2', 'Moderators'],
      ['helper', 'Helpers'],
    ]) {
      const member = expectOk(await alice.put(`/members/${user}/roles/${role}`));
      expect(member.roles.map((r: { name: string }) => r.name)).toEqual([role]);
    }
    // Below their own: fine. At their own: refused, whoever the target.
    expectOk(await mod.put('/members/carol/roles/Helpers'));
    expectError(await mod.put('/members/bob/roles/Moderators'), 403, 'forbidden', /highest role/);
    expectError(await mod.patch('/roles/Moderators', { color: 1 }), 403, 'forbidden');
    expectError(await mod.delete('/roles/Moderators'), 403, 'forbidden');
    expectError(await helper.put('/members/bob/roles/Helpers'), 403, 'forbidden');
    expectError(await mod.put('/members/bob/roles/@everyone'), 400, 'invalid_request', /@everyone/);
    expectOk(await mod.delete('/members/carol/roles/Helpers'));
    expect(expectOk(await carol.get('/members/carol')).roles).toEqual([]);
  });

  it("cannot grant permissions one lacks, nor raise a role to one's own level", async () => {
    expectError(await mod.patch('/roles/Helpers', { permissions: ['MODERATE_MEMBERS', 'MANAGE_GUILD'] }), 403, 'forbidden', /permissions you have/);
    expectError(await mod.post('/roles', { name: 'Admins', permissions: ['ADMINISTRATOR'] }), 403, 'forbidden');
    expectError(await mod.patch('/roles/Helpers', { position: 2 }), 403, 'forbidden', /below your highest/);
    const trial = expectOk(await mod.post('/roles', { name: 'Trial', permissions: ['KICK_MEMBERS'] }), 201);
    expect(trial.position).toBe(1);
    const renamed = expectOk(await mod.patch(`/roles/${trial.id}`, { name: 'Trial Mods', permissions: ['KICK_MEMBERS', 'SEND_MESSAGES'], mentionable: true }));
    expect(renamed).toMatchObject({ name: 'Trial Mods', mentionable: true, permission_names: ['KICK_MEMBERS', 'SEND_MESSAGES'] });
    expectOk(await mod.delete('/roles/Trial%20Mods'), 204);
    expectError(await mod.delete('/roles/Trial%20Mods'), 404, 'not_found');
    expectError(await alice.delete('/roles/@everyone'), 400, 'invalid_request');
  });

  it.each([
    [{ name: 'X', permissions: ['FLY'] }, /unknown permission "FLY"/],
    [{ name: 'X', permissions: '-1' }, /decimal string/],
    [{ name: 'X', permissions: '1' + '0'.repeat(45) }, /decimal string/],
    [{ name: 'X', permissions: String(1n << 60n) }, /undefined bits/],
    [{ name: 'X', permissions: 3072 }, /decimal string.*or an array/],
    [{ name: '' }, /name/],
    [{ name: 'X', color: 0x1000000 }, /color/],
    [{ permissions: '0' }, /name/],
  ])('POST /roles %j is a 400 with a clear message', async (body, message) => {
    expectError(await alice.post('/roles', body), 400, 'invalid_request', message);
  });
});

describe('channels', () => {
  it('a member without MANAGE_CHANNELS cannot create one; a moderator creates text and voice channels', async () => {
    expectError(await bob.post('/channels', { kind: 'text', name: 'mine' }), 403, 'forbidden', /MANAGE_CHANNELS/);
    const text = expectOk(await mod.post('/channels', { kind: 'text', name: '#Off Topic', topic: 'anything goes' }), 201);
    expect(text).toMatchObject({ kind: 'text', name: 'off-topic', irc_name: '#off-topic', topic: 'anything goes', murmur_channel_id: null, category: null });
    const voice = expectOk(await mod.post('/channels', { kind: 'voice', name: 'Raid Night' }), 201);
    expect(voice).toMatchObject({ kind: 'voice', name: 'Raid Night', irc_name: null, murmur_channel_id: null });
    expectError(await mod.post('/channels', { kind: 'text', name: 'off-topic' }), 409, 'channel_taken');
    expectError(await mod.post('/channels', { kind: 'text', name: 'bad/name' }), 400, 'invalid_request', /text channel name/);
    expectError(await mod.post('/channels', { kind: 'forum', name: 'x' }), 400, 'invalid_request', /kind/);
    expectError(await mod.post('/channels', { kind: 'text', name: 'x', category: 'Nowhere' }), 404, 'not_found', /category/);
  });

  it("lists the channels one can see with one's permissions; overwrites only for managers", async () => {
    const list = expectOk(await bob.get('/channels')).channels;
    expect(list.map((c: { kind: string; name: string }) => `${c.kind}:${c.name}`)).toEqual([
      'text:general',
      'text:off-topic',
      'voice:General',
      'voice:Raid Night',
    ]);
    for (const c of list) {
      expect(c.overwrites).toBeUndefined();
      expect(c.permission_names).toContain('VIEW_CHANNEL');
    }
    for (const c of expectOk(await mod.get('/channels')).channels) expect(c.overwrites).toEqual([]);
  });

  it('finds a channel by id or name; General is the voice channel, general the text one', async () => {
    const text = expectOk(await bob.get('/channels/general'));
    expect(text).toMatchObject({ kind: 'text', name: 'general' });
    expect(expectOk(await bob.get('/channels/General'))).toMatchObject({ kind: 'voice', name: 'General' });
    expect(expectOk(await bob.get(`/channels/${text.id}`))).toMatchObject({ kind: 'text', name: 'general' });
    expect(expectOk(await bob.get('/channels/Raid%20Night'))).toMatchObject({ kind: 'voice' });
    expectError(await bob.get('/channels/nowhere'), 404, 'not_found');
  });

  it('edits and deletes with MANAGE_CHANNELS; a rename keeps the channel', async () => {
    expectError(await bob.patch('/channels/off-topic', { topic: 'mine' }), 403, 'forbidden', /MANAGE_CHANNELS/);
    const before = expectOk(await bob.get('/channels/off-topic'));
    const renamed = expectOk(await mod.patch('/channels/off-topic', { name: 'chatter', topic: 'talk', position: 5 }));
    expect(renamed).toMatchObject({ id: before.id, name: 'chatter', irc_name: '#chatter', topic: 'talk', position: 5 });
    expectError(await bob.get('/channels/off-topic'), 404, 'not_found');
    expectError(await mod.patch('/channels/chatter', { name: 'general' }), 409, 'channel_taken');
    expectError(await mod.patch('/channels/chatter', { topic: 'line\nbreak' }), 400, 'invalid_request', /topic/);
    expectError(await mod.patch('/channels/chatter', { position: -1 }), 400, 'invalid_request', /position/);
    expectError(await bob.delete('/channels/Raid%20Night'), 403, 'forbidden');
    expectOk(await mod.delete('/channels/Raid%20Night'), 204);
    expectError(await mod.delete('/channels/Raid%20Night'), 404, 'not_found');
  });

  it('overwrites: a private channel hides from those denied VIEW_CHANNEL', async () => {
    const staff = expectOk(await mod.post('/channels', { kind: 'text', name: 'staff' }), 201);
    // Moderators first: denying @everyone first would take VIEW_CHANNEL (and so everything) from mod too.
    const open = expectOk(await mod.put('/channels/staff/overwrites/role/Moderators', { allow: '2' }));
    expect(open.overwrites).toEqual([
      { type: 'role', id: expect.any(String), name: 'Moderators', allow: '2', allow_names: ['VIEW_CHANNEL'], deny: '0', deny_names: [] },
    ]);
    const closed = expectOk(await mod.put('/channels/staff/overwrites/role/%40everyone', { deny: ['VIEW_CHANNEL'] }));
    expect(closed.overwrites[0]).toEqual({ type: 'role', id: '1', name: '@everyone', allow: '0', allow_names: [], deny: '2', deny_names: ['VIEW_CHANNEL'] });
    expect(closed.overwrites).toHaveLength(2);
    const forHelper = expectOk(await mod.put('/channels/staff/overwrites/member/helper', { allow: ['VIEW_CHANNEL', 'SEND_MESSAGES'] }));
    expect(forHelper.overwrites.find((o: { type: string }) => o.type === 'member')).toMatchObject({
      name: 'helper',
      allow_names: ['VIEW_CHANNEL', 'SEND_MESSAGES'],
    });

    expect(expectOk(await bob.get('/channels')).channels.map((c: { name: string }) => c.name)).not.toContain('staff');
    expectError(await bob.get('/channels/staff'), 404, 'not_found');
    expectError(await bob.get(`/channels/${staff.id}`), 404, 'not_found');
    expect(expectOk(await helper.get('/channels/staff')).permission_names).toContain('SEND_MESSAGES');
    expect(expectOk(await mod2.get('/channels/staff')).name).toBe('staff');

    expectOk(await mod.delete('/channels/staff/overwrites/member/helper'));
    expectError(await helper.get('/channels/staff'), 404, 'not_found');
    expectError(await mod.delete('/channels/staff/overwrites/member/helper'), 404, 'not_found');
  });

  it('overwrites: only with MANAGE_ROLES, and only permissions one has there', async () => {
    expectError(await bob.put('/channels/general/overwrites/member/bob', { allow: ['MANAGE_MESSAGES'] }), 403, 'forbidden', /MANAGE_ROLES/);
    expectError(await mod.put('/channels/general/overwrites/member/bob', { allow: ['MANAGE_GUILD'] }), 403, 'forbidden', /permissions you have/);
    expectError(await alice.put('/channels/general/overwrites/member/bob', { allow: ['ADMINISTRATOR'] }), 400, 'invalid_request', /ADMINISTRATOR/);
    expectError(await alice.put('/channels/general/overwrites/member/bob', { allow: ['SPEAK'], deny: ['SPEAK'] }), 400, 'invalid_request', /both/);
    expectError(await alice.put('/channels/general/overwrites/team/bob', { allow: ['SPEAK'] }), 400, 'invalid_request', /"role" or "member"/);
    expectError(await alice.put('/channels/general/overwrites/role/Nobody', { allow: ['SPEAK'] }), 404, 'not_found', /role/);
    expectError(await alice.put('/channels/general/overwrites/member/nobody', { allow: ['SPEAK'] }), 404, 'not_found');
    expectError(await alice.put('/channels/general/overwrites/member/bob', { allow: 'lots' }), 400, 'invalid_request', /allow/);
  });
});

describe('categories', () => {
  it('are made, used, renamed and removed with MANAGE_CHANNELS', async () => {
    expectError(await bob.post('/categories', { name: 'Mine' }), 403, 'forbidden');
    const cat = expectOk(await mod.post('/categories', { name: 'Social' }), 201);
    expect(cat).toMatchObject({ name: 'Social', position: 0 });
    const lounge = expectOk(await mod.post('/channels', { kind: 'voice', name: 'Lounge', category: 'Social' }), 201);
    expect(lounge.category).toEqual({ id: cat.id, name: 'Social' });
    expect(expectOk(await mod.patch(`/categories/${cat.id}`, { name: 'Hangout', position: 3 }))).toMatchObject({ name: 'Hangout', position: 3 });
    expect(expectOk(await bob.get('/categories')).categories).toEqual([{ id: cat.id, name: 'Hangout', position: 3 }]);
    expect(expectOk(await mod.patch('/channels/Lounge', { category: null })).category).toBeNull();
    expect(expectOk(await mod.patch('/channels/Lounge', { category: 'Hangout' })).category.name).toBe('Hangout');
    expectError(await bob.delete('/categories/Hangout'), 403, 'forbidden');
    expectOk(await mod.delete('/categories/Hangout'), 204);
    expect(expectOk(await bob.get('/channels/Lounge')).category).toBeNull();
    expectError(await mod.patch('/categories/Hangout', { name: 'x' }), 404, 'not_found');
    expectError(await mod.post('/categories', { name: ' padded ' }), 400, 'invalid_request');
  });
});

describe('members and moderation', () => {
  it('lists members with roles, timeouts and the owner', async () => {
    const members = expectOk(await bob.get('/members')).members;
    expect(members.map((m: { username: string }) => m.username)).toEqual([...USERS]);
    expect(members[0]).toMatchObject({ username: 'alice', is_owner: true, is_admin: true, roles: [], timeout_until: null });
    expect(members.find((m: { username: string }) => m.username === 'mod').roles).toEqual([{ id: expect.any(String), name: 'Moderators' }]);
    expect(expectOk(await bob.get('/members/MOD')).username).toBe('mod');
    expectError(await bob.get('/members/nobody'), 404, 'not_found');
  });

  it('timeouts: MODERATE_MEMBERS over lower members only; a timed-out member cannot send', async () => {
    const timed = expectOk(await helper.post('/members/bob/timeout', { duration_seconds: 600, reason: 'cool off' }));
    expect(Date.parse(timed.timeout_until)).toBeGreaterThan(Date.now());
    const perms = expectOk(await bob.get('/guild')).permission_names;
    expect(perms).toContain('VIEW_CHANNEL');
    expect(perms).not.toContain('SEND_MESSAGES');
    expect(expectOk(await bob.get('/channels/general')).permission_names).not.toContain('SEND_MESSAGES');

    expectError(await helper.post('/members/mod/timeout', { duration_seconds: 60 }), 403, 'forbidden', /above mod/);
    expectError(await helper.post('/members/alice/timeout', { duration_seconds: 60 }), 403, 'forbidden', /owner/);
    expectError(await bob.post('/members/carol/timeout', { duration_seconds: 60 }), 403, 'forbidden');
    expectError(await mod.post('/members/mod2/timeout', { duration_seconds: 60 }), 403, 'forbidden');
    expectOk(await mod.post('/members/helper/timeout', { until: new Date(Date.now() + 3_600_000).toISOString() }));
    // A timed-out moderator has none of their moderation permissions.
    expectError(await helper.delete('/members/bob/timeout'), 403, 'forbidden');
    expect(expectOk(await mod.delete('/members/helper/timeout')).timeout_until).toBeNull();
    expect(expectOk(await helper.delete('/members/bob/timeout')).timeout_until).toBeNull();
    expect(expectOk(await bob.get('/guild')).permission_names).toContain('SEND_MESSAGES');
  });

  it.each([
    [{}, /either until or duration_seconds/],
    [{ until: new Date(Date.now() + 60_000).toISOString(), duration_seconds: 60 }, /either until or duration_seconds/],
    [{ duration_seconds: 0 }, /duration_seconds/],
    [{ duration_seconds: 29 * 24 * 3600 }, /duration_seconds/],
    [{ until: 'tomorrow' }, /until/],
    [{ until: '2000-01-01T00:00:00Z' }, /in the future/],
    [{ duration_seconds: 60, reason: 'x'.repeat(513) }, /reason/],
  ])('POST /members/{username}/timeout %j is a 400', async (body, message) => {
    expectError(await mod.post('/members/bob/timeout', body), 400, 'invalid_request', message);
  });

  it('kicks: KICK_MEMBERS over lower members only; the kicked member sees nothing until rejoining with an invite', async () => {
    expectError(await helper.post('/members/bob/kick', { reason: 'no' }), 403, 'forbidden', /KICK_MEMBERS/);
    expectError(await mod.post('/members/mod2/kick'), 403, 'forbidden');
    expectError(await mod.post('/members/alice/kick'), 403, 'forbidden', /owner/);
    expectError(await alice.post('/members/alice/kick'), 403, 'forbidden');
    expectOk(await mod.post('/members/bob/kick', { reason: 'spamming' }), 204);
    expectError(await mod.post('/members/bob/kick'), 404, 'not_found');

    expect(expectOk(await mod.get('/members')).members.map((m: { username: string }) => m.username)).not.toContain('bob');
    expect(expectOk(await bob.get('/guild'))).toMatchObject({ member: false, permissions: '0', permission_names: [] });
    expect(expectOk(await bob.get('/channels')).channels).toEqual([]);
    expectError(await bob.get('/members'), 403, 'forbidden', /not a member/);
    expectError(await bob.post('/channels', { kind: 'text', name: 'sneaky' }), 403, 'forbidden');

    expectError(await bob.post('/guild/join', {}), 403, 'invalid_invite');
    expectError(await bob.post('/guild/join', { invite: 'not-a-code' }), 403, 'invalid_invite');
    const invite = expectOk(await mod.post('/invites', { max_uses: 1 }), 201);
    const back = expectOk(await bob.post('/guild/join', { invite: invite.code }));
    expect(back).toMatchObject({ username: 'bob', roles: [] });
    expect(expectOk(await bob.get('/guild')).member).toBe(true);
    // Already a member: joining again changes nothing and uses no invite.
    expectOk(await bob.post('/guild/join'));
  });

  it('bans: BAN_MEMBERS over lower members only; a banned account cannot rejoin until unbanned', async () => {
    expectError(await bob.put('/bans/dave', { reason: 'no' }), 403, 'forbidden');
    expectError(await mod.put('/bans/alice'), 403, 'forbidden', /owner/);
    expectError(await mod.put('/bans/mod2'), 403, 'forbidden');
    expectError(await mod.put('/bans/nobody'), 404, 'not_found');
    expectOk(await mod.put('/bans/dave', { reason: 'raiding' }), 204);
    expectError(await mod.put('/bans/dave'), 400, 'invalid_request', /already banned/);

    const bans = expectOk(await mod.get('/bans')).bans;
    expect(bans).toEqual([{ username: 'dave', reason: 'raiding', created_at: expect.any(String) }]);
    expectError(await bob.get('/bans'), 403, 'forbidden', /BAN_MEMBERS/);
    expect(expectOk(await dave.get('/guild')).member).toBe(false);

    const invite = expectOk(await alice.post('/invites', {}), 201);
    expectError(await dave.post('/guild/join', { invite: invite.code }), 403, 'banned');
    expectError(await bob.delete('/bans/dave'), 403, 'forbidden');
    expectOk(await mod.delete('/bans/dave'), 204);
    expectError(await mod.delete('/bans/dave'), 404, 'not_found');
    expect(expectOk(await mod.get('/bans')).bans).toEqual([]);
    // Unbanned is not rejoined: it takes an invite.
    expect(expectOk(await dave.get('/guild')).member).toBe(false);
    expectOk(await dave.post('/guild/join', { invite: invite.code }));
    expect(expectOk(await dave.get('/guild')).member).toBe(true);
  });

  it('bans an account that is not a member (after a kick) too', async () => {
    expectOk(await mod.post('/members/erin/kick'), 204);
    expectOk(await mod.put('/bans/erin', { reason: 'ban evasion' }), 204);
    const invite = expectOk(await alice.post('/invites'), 201);
    expectError(await erin.post('/guild/join', { invite: invite.code }), 403, 'banned');
    expectOk(await alice.delete('/bans/erin'), 204);
    expectOk(await erin.post('/guild/join', { invite: invite.code }));
  });
});

describe('invites', () => {
  it('are made with CREATE_INVITE, listed with MANAGE_GUILD, revoked by their maker or a manager', async () => {
    const bobs = expectOk(await bob.post('/invites', { max_uses: 5, expires_in: 3600 }), 201);
    expect(bobs).toMatchObject({ created_by: 'bob', max_uses: 5, uses: 0, expires_at: expect.any(String) });
    expect(Date.parse(bobs.expires_at)).toBeGreaterThan(Date.now());
    const alices = expectOk(await alice.post('/invites'), 201);
    expectError(await bob.get('/invites'), 403, 'forbidden', /MANAGE_GUILD/);
    const codes = expectOk(await alice.get('/invites')).invites.map((i: { code: string }) => i.code);
    expect(codes).toEqual(expect.arrayContaining([bobs.code, alices.code]));
    expectError(await bob.delete(`/invites/${alices.code}`), 403, 'forbidden');
    expectOk(await bob.delete(`/invites/${bobs.code}`), 204);
    expectOk(await alice.delete(`/invites/${alices.code}`), 204);
    expect(expectOk(await alice.get('/invites')).invites.map((i: { code: string }) => i.code)).not.toContain(bobs.code);
    expectError(await alice.delete('/invites/nope'), 404, 'not_found');
  });

  it('a used-up or revoked invite readmits nobody', async () => {
    const once = expectOk(await alice.post('/invites', { max_uses: 1 }), 201);
    expectOk(await mod.post('/members/carol/kick'), 204);
    expectOk(await mod.post('/members/bob/kick'), 204);
    expectOk(await carol.post('/guild/join', { invite: once.code }));
    expectError(await bob.post('/guild/join', { invite: once.code }), 403, 'invalid_invite');
    expect(expectOk(await alice.get('/invites')).invites.map((i: { code: string }) => i.code)).not.toContain(once.code);

    const revoked = expectOk(await alice.post('/invites'), 201);
    expectOk(await alice.delete(`/invites/${revoked.code}`), 204);
    expectError(await bob.post('/guild/join', { invite: revoked.code }), 403, 'invalid_invite');
    // Nor does it register a new account on this invite-only server.
    expectError(await call('POST', '/api/v1/accounts', { username: 'mallory', password: 'mallory-password', invite: revoked.code }), 403, 'invalid_invite');
  });

  it('an expired invite readmits nobody', async () => {
    const brief = expectOk(await alice.post('/invites', { expires_in: 1 }), 201);
    const expiresAt = Date.parse(brief.expires_at);
    // Wait for the expiry to pass (no timing assertion: only what happens after it).
    while (Date.now() <= expiresAt + 50) await new Promise((r) => setTimeout(r, 100));
    expectError(await bob.post('/guild/join', { invite: brief.code }), 403, 'invalid_invite');
    expect(expectOk(await alice.get('/invites')).invites.map((i: { code: string }) => i.code)).not.toContain(brief.code);
    const fresh = expectOk(await alice.post('/invites', { max_uses: 1 }), 201);
    expectOk(await bob.post('/guild/join', { invite: fresh.code }));
  });

  it.each([[{ max_uses: 0 }], [{ max_uses: 1.5 }], [{ expires_in: 0 }], [{ expires_in: '60' }], [{ uses: 1 }]])('POST /invites %j is a 400', async (body) => {
    expectError(await alice.post('/invites', body), 400, 'invalid_request');
  });

  it('the admin /registration-invites route still works', async () => {
    const r = expectOk(await alice.post('/registration-invites', { max_uses: 1 }), 201);
    expect(r.code).toMatch(/^[A-Za-z0-9_-]+$/);
    expectError(await bob.post('/registration-invites', {}), 403, 'forbidden');
  });
});

describe('ownership', () => {
  it('only the owner or an admin transfers it; the new owner is above every role', async () => {
    expectError(await mod.patch('/guild', { owner: 'mod' }), 403, 'forbidden');
    expectError(await alice.patch('/guild', { owner: 'nobody' }), 404, 'not_found');
    expect(expectOk(await alice.patch('/guild', { owner: 'mod2' })).owner).toBe('mod2');
    const members = expectOk(await bob.get('/members')).members;
    expect(members.filter((m: { is_owner: boolean }) => m.is_owner).map((m: { username: string }) => m.username)).toEqual(['mod2']);
    // mod2 now outranks mod, an equal before.
    expectOk(await mod2.post('/members/mod/timeout', { duration_seconds: 60 }));
    expectError(await mod.post('/members/mod2/kick'), 403, 'forbidden', /owner/);
    expectOk(await mod2.delete('/members/mod/timeout'));
    expect(expectOk(await mod2.patch('/guild', { owner: 'alice' })).owner).toBe('alice');
  });
});

describe('the audit log', () => {
  it('lists each action with who did it, newest first, filtered and paged', async () => {
    expectError(await bob.get('/audit-log'), 403, 'forbidden');
    const all = expectOk(await alice.get('/audit-log?limit=500')).entries;
    const expectEntry = (action: string, actor: string, target: string | null, more: Record<string, unknown> = {}) =>
      expect(all).toContainEqual(expect.objectContaining({ action, actor, ...(target === null ? {} : { target_name: target }), ...more }));
    expectEntry('guild.update', 'alice', 'Alloquy', { changes: expect.objectContaining({ name: 'Raiders' }) });
    expectEntry('role.create', 'alice', 'Moderators');
    expectEntry('member.role_add', 'alice', 'mod', { changes: { role: 'Moderators' } });
    expectEntry('channel.create', 'mod', 'off-topic');
    expectEntry('channel.update', 'mod', 'off-topic', { changes: expect.objectContaining({ name: { from: 'off-topic', to: 'chatter' } }) });
    expectEntry('channel.delete', 'mod', 'Raid Night');
    expectEntry('overwrite.set', 'mod', 'staff');
    expectEntry('member.timeout', 'helper', 'bob', { reason: 'cool off', changes: { until: expect.any(String) } });
    expectEntry('member.kick', 'mod', 'bob', { reason: 'spamming', target_type: 'member' });
    expectEntry('member.ban', 'mod', 'dave', { reason: 'raiding' });
    expectEntry('member.unban', 'mod', 'dave');
    expectEntry('member.join', 'bob', 'bob');
    expectEntry('invite.create', 'bob', null, { target_type: 'invite' });
    expectEntry('category.create', 'mod', 'Social');
    const ids = all.map((e: { id: number }) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    const kicks = expectOk(await mod.get('/audit-log?action=member.kick&actor=mod')).entries;
    expect(kicks.length).toBeGreaterThanOrEqual(3);
    expect(kicks.every((e: { action: string; actor: string }) => e.action === 'member.kick' && e.actor === 'mod')).toBe(true);

    const page1 = expectOk(await alice.get('/audit-log?limit=2')).entries;
    expect(page1.map((e: { id: number }) => e.id)).toEqual(ids.slice(0, 2));
    const page2 = expectOk(await alice.get(`/audit-log?limit=2&before=${page1[1].id}`)).entries;
    expect(page2.map((e: { id: number }) => e.id)).toEqual(ids.slice(2, 4));
  });

  it.each([['limit=0'], ['limit=abc'], ['limit=501'], ['before=-3'], ['action=']])('GET /audit-log?%s is a 400', async (query) => {
    expectError(await alice.get(`/audit-log?${query}`), 400, 'invalid_request', /query/);
  });
});

describe('the API around the guild routes', () => {
  it('documents every guild route in the OpenAPI document, the audit-log query too', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json')).json;
    const expected: [string, string][] = [
      ['get', '/api/v1/guild'],
      ['patch', '/api/v1/guild'],
      ['post', '/api/v1/guild/join'],
      ['get', '/api/v1/channels'],
      ['post', '/api/v1/channels'],
      ['get', '/api/v1/channels/{channel}'],
      ['patch', '/api/v1/channels/{channel}'],
      ['delete', '/api/v1/channels/{channel}'],
      ['put', '/api/v1/channels/{channel}/overwrites/{type}/{target}'],
      ['delete', '/api/v1/channels/{channel}/overwrites/{type}/{target}'],
      ['get', '/api/v1/categories'],
      ['post', '/api/v1/categories'],
      ['patch', '/api/v1/categories/{category}'],
      ['delete', '/api/v1/categories/{category}'],
      ['get', '/api/v1/roles'],
      ['post', '/api/v1/roles'],
      ['patch', '/api/v1/roles/{role}'],
      ['delete', '/api/v1/roles/{role}'],
      ['get', '/api/v1/members'],
      ['get', '/api/v1/members/{username}'],
      ['put', '/api/v1/members/{username}/roles/{role}'],
      ['delete', '/api/v1/members/{username}/roles/{role}'],
      ['post', '/api/v1/members/{username}/kick'],
      ['post', '/api/v1/members/{username}/timeout'],
      ['delete', '/api/v1/members/{username}/timeout'],
      ['get', '/api/v1/bans'],
      ['put', '/api/v1/bans/{username}'],
      ['delete', '/api/v1/bans/{username}'],
      ['get', '/api/v1/invites'],
      ['post', '/api/v1/invites'],
      ['delete', '/api/v1/invites/{code}'],
      ['get', '/api/v1/audit-log'],
    ];
    for (const [method, path] of expected) expect(doc.paths[path]?.[method]?.security, `${method} ${path}`).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/v1/audit-log'].get.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual([
      'query:limit',
      'query:before',
      'query:action',
      'query:actor',
    ]);
    expect(doc.paths['/api/v1/roles'].post.requestBody.content['application/json'].schema.properties.permissions.anyOf).toHaveLength(2);
  });

  it('refuses missing and forged tokens on every guild route', async () => {
    const session = (await call('POST', '/api/v1/sessions', { username: 'alice', password: 'alice-password' })).json;
    const forged = forgedTokens(session.access_token);
    const doc = (await call('GET', '/api/v1/openapi.json')).json;
    const guildPaths = Object.entries(doc.paths as Record<string, Record<string, { tags: string[] }>>).filter(([, ops]) =>
      Object.values(ops).some((op) => ['guild', 'channels', 'roles', 'members', 'invites'].includes(op.tags[0]!)),
    );
    let checked = 0;
    for (const [path, ops] of guildPaths) {
      for (const method of Object.keys(ops)) {
        const url = path.replace(/\{[a-z]+\}/g, 'x');
        const missing = await call(method.toUpperCase(), url);
        expect({ method, path, status: missing.status, code: missing.json?.error?.code }).toEqual({ method, path, status: 401, code: 'unauthorized' });
        for (const token of forged) {
          const r = await call(method.toUpperCase(), url, undefined, token);
          expect({ method, path, status: r.status, code: r.json?.error?.code }).toEqual({ method, path, status: 401, code: 'invalid_token' });
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(32 * 3);
  });

  it("publishes each change to the guild's listeners (the enforcers)", async () => {
    const changes: string[] = [];
    const removals: string[] = [];
    const onChange = (_s: unknown, c: { action: string }) => changes.push(c.action);
    const onRemoval = (r: { username: string; kind: string; reason: string; by: string }) => removals.push(`${r.kind}:${r.username}:${r.reason}:${r.by}`);
    server.guild.on('changed', onChange);
    server.guild.on('memberRemoved', onRemoval);
    try {
      expectOk(await mod.patch('/channels/general', { topic: 'welcome' }));
      expectOk(await mod.post('/members/carol/kick', { reason: 'bye' }), 204);
    } finally {
      server.guild.off('changed', onChange);
      server.guild.off('memberRemoved', onRemoval);
    }
    expect(changes).toEqual(['channel.update', 'member.kick']);
    expect(removals).toEqual(['kick:carol:bye:mod']);
  });
});
