/**
 * The Murmur relay against a real Murmur 1.3 (no mocks): the control server started in-process
 * with its relay pointed at a Murmur of our own; every claim checked through Murmur itself,
 * over Ice (getRegisteredUsers, verifyPassword, getChannels, getACL) and with @alloquy/stack's
 * MumbleProbe (a bare Mumble protocol client, no Mumble library) logging in over TLS.
 */
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeProto, MumbleMessage, MumbleProbe, MumbleRejectType, mumbleLogin as probeLogin, type MumbleProbeOptions, eventually } from '@alloquy/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountService } from '../../src/accounts/create-account-service.js';
import { loadConfig, type ControlConfig } from '../../src/config/config.js';
import { createLogger } from '@alloquy/service-kit/log';
import { CONNECT_GROUP, MEMBER_GROUP, MUTE_GROUP, SPEAK_GROUP } from '../../src/murmur/acl.js';
import { MurmurIceClient, Permission } from '../../src/murmur/ice-client.js';
import { startControlServer, type ControlServer } from '../../src/server.js';
import { openControlDatabase } from '../../src/store/database.js';
import { httpApi } from '../support/http-api.js';
import { startMurmurFixture, type MurmurFixture } from './murmur-fixture.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');
const silent = createLogger('silent');

let work: string;
let home: string;
let murmur: MurmurFixture;
let config: ControlConfig;
let server: ControlServer | undefined;
let base: string;
let ice: MurmurIceClient;
let adminToken: string;
const held: MumbleProbe[] = [];

const { call } = httpApi(() => base);

async function login(username: string, password: string): Promise<string> {
  const r = await call('POST', '/api/v1/sessions', { username, password });
  expect(r.status).toBe(200);
  return r.json.access_token;
}

async function startServer(): Promise<void> {
  server = await startControlServer(config, silent);
  base = `http://127.0.0.1:${server.httpPort}`;
  // Up and the first full sync done.
  await eventually(() => server!.murmur!.relay.status().syncs > 0, 15_000, 'the first Murmur sync');
}

async function stopServer(): Promise<void> {
  await server?.stop();
  server = undefined;
}

async function startMurmur(): Promise<void> {
  murmur = await startMurmurFixture({
    workDir: join(work, 'murmur'),
    ...(murmur ? { ports: murmur.ports, iceSecret: murmur.iceSecret, serverPassword: murmur.serverPassword } : {}),
  });
}

async function registered(): Promise<Map<number, string>> {
  return ice.getRegisteredUsers();
}

async function murmurIdOf(name: string): Promise<number | undefined> {
  for (const [id, n] of await registered()) if (n.toLowerCase() === name.toLowerCase()) return id;
  return undefined;
}

/** Runs the operator CLI. Asynchronously: the control server it talks to runs in this process. */
function cli(args: string[], input?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ALLOQUY_HOME: home, ALLOQUY_IRC_LINK: 'false', ALLOQUY_MUMBLE_ICE_PORT: String(murmur.ports.mumbleIce) },
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, out, err });
    });
    child.stdin.end(input ?? '');
  });
}

/** A client certificate and its key (PEM), as makeClientCertificate makes them. */
type ClientCertificate = { cert: string; key: string };

/** Where the Mumble clients connect: read at each call, Murmur is restarted on the same ports. */
function mumbleServer(certificate?: ClientCertificate): MumbleProbeOptions {
  return { host: murmur.address, port: murmur.ports.mumble, ...(certificate === undefined ? {} : { cert: certificate.cert, key: certificate.key }) };
}

/** One login, closed again: whether Murmur lets this name in now. */
function mumbleLogin(username: string, password?: string, certificate?: ClientCertificate) {
  return probeLogin(mumbleServer(certificate), username, password);
}

/** A login that stays connected (pinging) until the test closes it. */
async function holdMumble(username: string, password?: string, certificate?: ClientCertificate): Promise<MumbleProbe> {
  const client = await MumbleProbe.connect({ ...mumbleServer(certificate), keepAlive: true });
  held.push(client);
  const outcome = await client.login(username, password);
  expect(outcome).toMatchObject({ ok: true });
  return client;
}

function makeClientCertificate(name: string): { cert: string; key: string; hash: string } {
  const dir = join(work, `cert-${name}`);
  mkdirSync(dir, { recursive: true });
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  return { cert, key: readFileSync(join(dir, 'key.pem'), 'utf8'), hash: new X509Certificate(cert).fingerprint.replaceAll(':', '').toLowerCase() };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'alloquy-relay-'));
  home = join(work, 'home');
  await startMurmur();
  mkdirSync(join(home, 'secrets'), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'secrets', 'murmur-ice.key'), `${murmur.iceSecret}\n`, { mode: 0o600 });
  config = loadConfig({
    ALLOQUY_HOME: home,
    ALLOQUY_HTTP_HOST: '127.0.0.1',
    ALLOQUY_HTTP_PORT: '0',
    ALLOQUY_IRC_LINK: 'false',
    ALLOQUY_MUMBLE_ICE_PORT: String(murmur.ports.mumbleIce),
  });
  ice = new MurmurIceClient({
    host: '127.0.0.1',
    port: murmur.ports.mumbleIce,
    secret: murmur.iceSecret,
    serverId: 1,
    log: silent,
    minBackoffMs: 100,
    maxBackoffMs: 500,
  });
  ice.start();
  await eventually(() => ice.isUp(), 10_000, 'the test Ice client');
  await startServer();
  expect((await call('POST', '/api/v1/accounts', { username: 'alice', password: 'alice-password' })).status).toBe(201);
  adminToken = await login('alice', 'alice-password');
}, 60_000);

afterAll(async () => {
  for (const c of held) c.close();
  await stopServer();
  await ice?.stop();
  await murmur?.stop();
}, 30_000);

describe('accounts in Murmur', () => {
  it('registers an account created over the API, with the same name and password', async () => {
    const id = await eventually(() => murmurIdOf('alice'), 5000, 'alice registered');
    expect(id).toBeGreaterThan(0);
    expect(await ice.verifyPassword('alice', 'alice-password')).toBe(id);
    expect(await mumbleLogin('alice', 'alice-password')).toMatchObject({ ok: true });
    expect(await mumbleLogin('alice', 'wrong-password')).toMatchObject({ ok: false, type: MumbleRejectType.WrongUserPW });
    // A name that is no account needs the server password, which nobody is given.
    expect(await mumbleLogin('nobody', 'whatever')).toMatchObject({ ok: false, type: MumbleRejectType.WrongServerPW });
    // Murmur's own SuperUser is left alone.
    expect((await registered()).get(0)).toBe('SuperUser');
  });

  it('updates the Murmur password on a password change; the old one stops working', async () => {
    expect((await call('POST', '/api/v1/accounts', { username: 'dave', password: 'dave-password' })).status).toBe(201);
    const token = await login('dave', 'dave-password');
    expect((await call('POST', '/api/v1/me/password', { current_password: 'dave-password', new_password: 'dave-password-2' }, token)).status).toBe(204);
    const id = await eventually(async () => ((await ice.verifyPassword('dave', 'dave-password-2')) > 0 ? true : undefined), 5000, 'new password in Murmur');
    expect(id).toBe(true);
    expect(await ice.verifyPassword('dave', 'dave-password')).toBe(-1);
    expect(await mumbleLogin('dave', 'dave-password-2')).toMatchObject({ ok: true });
    expect(await mumbleLogin('dave', 'dave-password')).toMatchObject({ ok: false, type: MumbleRejectType.WrongUserPW });
  });

  it('gets the password from the operator CLI too (user add, user passwd)', async () => {
    const added = await cli(['user', 'add', 'erin'], 'erin-password\n');
    expect(added.code, added.err).toBe(0);
    await eventually(async () => (await ice.verifyPassword('erin', 'erin-password')) > 0, 5000, 'erin in Murmur with her password');
    const changed = await cli(['user', 'passwd', 'erin'], 'erin-password-2\n');
    expect(changed.code, changed.err).toBe(0);
    await eventually(async () => (await ice.verifyPassword('erin', 'erin-password-2')) > 0, 5000, "erin's new password in Murmur");
    expect(await ice.verifyPassword('erin', 'erin-password')).toBe(-1);
  });

  it('removes a disabled account from Murmur and kicks it; enabling brings it back at the next password login', async () => {
    expect((await call('POST', '/api/v1/accounts', { username: 'frank', password: 'frank-password' })).status).toBe(201);
    await eventually(() => murmurIdOf('frank'), 5000, 'frank registered');
    const frank = await holdMumble('frank', 'frank-password');

    expect((await call('POST', '/api/v1/accounts/frank/disable', {}, adminToken)).status).toBe(200);
    await Promise.race([frank.closed, sleep(5000).then(() => Promise.reject(new Error('frank was not kicked')))]);
    expect(await murmurIdOf('frank')).toBeUndefined();
    expect(await mumbleLogin('frank', 'frank-password')).toMatchObject({ ok: false, type: MumbleRejectType.WrongServerPW });

    expect((await call('POST', '/api/v1/accounts/frank/enable', {}, adminToken)).status).toBe(200);
    // Registered again, but the relay has not seen the password since: random until the next login.
    await eventually(() => murmurIdOf('frank'), 5000, 'frank registered again');
    expect(await ice.verifyPassword('frank', 'frank-password')).toBe(-1);
    await login('frank', 'frank-password');
    await eventually(async () => (await ice.verifyPassword('frank', 'frank-password')) > 0, 5000, "frank's password after his login");
    expect(await mumbleLogin('frank', 'frank-password')).toMatchObject({ ok: true });
  });

  it('disables from the CLI as well', async () => {
    expect((await call('POST', '/api/v1/accounts', { username: 'gina', password: 'gina-password' })).status).toBe(201);
    await eventually(() => murmurIdOf('gina'), 5000, 'gina registered');
    const gina = await holdMumble('gina', 'gina-password');
    expect((await cli(['user', 'disable', 'gina'])).code).toBe(0);
    await Promise.race([gina.closed, sleep(5000).then(() => Promise.reject(new Error('gina was not kicked')))]);
    expect(await murmurIdOf('gina')).toBeUndefined();
  });

  it('links a client certificate: Murmur lets its holder in without a password', async () => {
    expect((await call('POST', '/api/v1/accounts', { username: 'hana', password: 'hana-password' })).status).toBe(201);
    const token = await login('hana', 'hana-password');
    const cert = makeClientCertificate('hana');
    const added = await call('POST', '/api/v1/me/voice-certificates', { hash: cert.hash.toUpperCase() }, token);
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ hash: cert.hash, active: true });
    const id = (await murmurIdOf('hana'))!;
    expect((await ice.getRegistration(id)).certHash).toBe(cert.hash);
    expect(await mumbleLogin('hana', undefined, cert)).toMatchObject({ ok: true });
    // Without the certificate, no password is no login.
    expect(await mumbleLogin('hana', undefined)).toMatchObject({ ok: false });

    // Someone else's certificate, and malformed hashes, are refused.
    expect((await call('POST', '/api/v1/me/voice-certificates', { hash: cert.hash }, adminToken)).status).toBe(409);
    expect((await call('POST', '/api/v1/me/voice-certificates', { hash: 'z'.repeat(40) }, token)).status).toBe(400);

    expect((await call('DELETE', `/api/v1/me/voice-certificates/${cert.hash}`, undefined, token)).status).toBe(204);
    expect((await ice.getRegistration(id)).certHash).toBe('');
    expect(await mumbleLogin('hana', undefined, cert)).toMatchObject({ ok: false });
  });
});

describe('the Ice client', () => {
  it('stays down and says why when Murmur refuses its secret, or nothing listens', async () => {
    const wrong = new MurmurIceClient({ host: '127.0.0.1', port: murmur.ports.mumbleIce, secret: 'not-the-secret', serverId: 1, log: silent });
    const nowhere = new MurmurIceClient({ host: '127.0.0.1', port: 1, secret: 'x', serverId: 1, log: silent });
    wrong.start();
    nowhere.start();
    try {
      await eventually(() => wrong.status().lastError?.includes('write secret'), 5000, 'the secret to be refused');
      await eventually(() => nowhere.status().lastError?.includes('ConnectionRefused'), 5000, 'the connection to be refused');
      expect(wrong.isUp()).toBe(false);
      await expect(wrong.getUsers()).rejects.toThrow(/not connected/);
    } finally {
      await wrong.stop();
      await nowhere.stop();
    }
  });
});

describe('voice channels', () => {
  /**
   * The ACL a voice channel must carry. With the guild wired in (`voiceAcls: 'guild'`), the
   * default @everyone role may connect and speak, so every account's Murmur id is in the connect
   * and speak groups and only the owner (alice, the first account) may mute; without it, every
   * registered user (`auth`) may enter and speak.
   */
  async function expectVoiceAcl(channelId: number): Promise<void> {
    const acl = await ice.getACL(channelId);
    expect(acl.inherit).toBe(true);
    const own = acl.acls.filter((a) => !a.inherited);
    if (server!.murmur!.relay.status().voiceAcls === 'open') {
      const voice = Permission.Enter | Permission.Speak | Permission.Whisper;
      expect(own).toEqual([
        { applyHere: true, applySubs: true, inherited: false, userId: -1, group: 'all', allow: 0, deny: voice },
        { applyHere: true, applySubs: true, inherited: false, userId: -1, group: 'auth', allow: voice, deny: 0 },
      ]);
      expect(acl.groups.filter((g) => !g.inherited)).toEqual([]);
      return;
    }
    expect(own.map((a) => [a.group, a.allow, a.deny])).toEqual([
      ['all', 0, Permission.Enter | Permission.Speak | Permission.Whisper | Permission.MuteDeafen | Permission.MakeChannel | Permission.MakeTempChannel],
      [CONNECT_GROUP, Permission.Enter, 0],
      [SPEAK_GROUP, Permission.Speak | Permission.Whisper, 0],
      [MUTE_GROUP, Permission.MuteDeafen, 0],
    ]);
    const groups = new Map(acl.groups.filter((g) => !g.inherited).map((g) => [g.name, [...g.add].sort((a, b) => a - b)]));
    const everyone = [...(await registered()).keys()].filter((id) => id !== 0).sort((a, b) => a - b);
    expect(groups.get(CONNECT_GROUP)).toEqual(everyone);
    expect(groups.get(SPEAK_GROUP)).toEqual(everyone);
    expect(groups.get(MUTE_GROUP)).toEqual([await murmurIdOf('alice')]);
  }

  it("makes Murmur's root channel a silent lobby: every member listed, nobody speaks or makes channels there", async () => {
    const root = await ice.getACL(0);
    const denied = Permission.Speak | Permission.Whisper | Permission.TextMessage | Permission.MakeChannel | Permission.MakeTempChannel;
    const members = server!.murmur!.relay.status().voiceAcls === 'open' ? 'auth' : MEMBER_GROUP;
    expect(root.acls.map((a) => [a.group, a.allow, a.deny, a.applyHere])).toEqual([
      ['all', 0, denied, true],
      ['all', 0, Permission.Enter, false],
      [members, Permission.TextMessage, 0, true],
      [members, Permission.Enter, 0, false],
    ]);
    if (members === MEMBER_GROUP) {
      const everyone = [...(await registered()).keys()].filter((id) => id !== 0).sort((a, b) => a - b);
      expect(root.groups.map((g) => [g.name, [...g.add].sort((a, b) => a - b)])).toEqual([[MEMBER_GROUP, everyone]]);
    }
  });

  it("creates the default General channel with Alloquy's ACL", async () => {
    const channels = await ice.getChannels();
    const general = channels.find((c) => c.name === 'General' && c.parentId === 0);
    expect(general).toBeDefined();
    await expectVoiceAcl(general!.id);
  });

  it('POST /api/v1/channels with kind voice creates the Murmur channel and its ACL', async () => {
    const created = await call('POST', '/api/v1/channels', { name: 'Raid Night', kind: 'voice' }, adminToken);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'Raid Night', kind: 'voice' });
    const id = server!.voiceChannels.find('Raid Night')!.murmurChannelId!;
    expect((await ice.getChannels()).find((c) => c.id === id)).toMatchObject({ name: 'Raid Night', parentId: 0 });
    await expectVoiceAcl(id);

    expect((await call('POST', '/api/v1/channels', { name: 'raid night', kind: 'voice' }, adminToken)).status).toBe(409);
    // A text channel is no Murmur channel.
    expect((await call('POST', '/api/v1/channels', { name: 'chat', kind: 'text' }, adminToken)).status).toBe(201);
    expect((await ice.getChannels()).some((c) => c.name.toLowerCase() === 'chat')).toBe(false);
    const userToken = await login('dave', 'dave-password-2');
    expect((await call('POST', '/api/v1/channels', { name: 'Mine', kind: 'voice' }, userToken)).status).toBe(403);
    const list = await call('GET', '/api/v1/channels', undefined, userToken);
    const voice = list.json.channels.filter((c: { kind: string }) => c.kind === 'voice').map((c: { name: string }) => c.name);
    expect(voice).toEqual(['General', 'Raid Night']);
  });

  it('pnpm alloquy channel add-voice NAME creates it in Murmur through the running server', async () => {
    const r = await cli(['channel', 'add-voice', 'Lobby']);
    expect(r.code, r.err).toBe(0);
    const lobby = await eventually(async () => (await ice.getChannels()).find((c) => c.name === 'Lobby'), 5000, 'Lobby in Murmur');
    expect(lobby.parentId).toBe(0);
    await server!.murmur!.relay.whenIdle();
    await expectVoiceAcl(lobby.id);
    expect((await cli(['channel', 'add-voice', 'lobby'])).code).toBe(1);
  });

  it('lets accounts enter and speak, and keeps anonymous users (with the server password) out', async () => {
    const dave = await holdMumble('dave', 'dave-password-2');
    const general = dave.channelId('General')!;
    const mark = dave.mark();
    dave.joinChannel(general);
    await dave.waitFor(
      (f) => {
        if (f.type !== MumbleMessage.UserState) return false;
        const fields = decodeProto(f.payload);
        return fields.get(1)?.[0] === dave.session && fields.get(5)?.[0] === general;
      },
      5000,
      mark,
    );
    expect((await ice.getState(dave.session!)).suppress).toBe(false);

    const anonymous = await MumbleProbe.connect({ ...mumbleServer(), keepAlive: true });
    held.push(anonymous);
    expect(await anonymous.login('visitor', murmur.serverPassword)).toMatchObject({ ok: true });
    const before = anonymous.mark();
    anonymous.joinChannel(general);
    const denied = await anonymous.waitFor((f) => f.type === MumbleMessage.PermissionDenied, 5000, before);
    expect(decodeProto(denied.payload).get(1)?.[0]).toBe(Permission.Enter);
    anonymous.close();
    dave.close();
  });

  it('recreates a voice channel that went missing in Murmur at the next sync', async () => {
    const lobby = (await ice.getChannels()).find((c) => c.name === 'Lobby')!;
    await ice.removeChannel(lobby.id);
    await server!.murmur!.relay.syncAll();
    const again = (await ice.getChannels()).find((c) => c.name === 'Lobby');
    expect(again).toBeDefined();
    await expectVoiceAcl(again!.id);
  });
});

describe('presence', () => {
  it('lists who is in which channel and who is muted within 2 s, and as metrics', async () => {
    const token = await login('dave', 'dave-password-2');
    const empty = await call('GET', '/api/v1/voice', undefined, token);
    expect(empty.status).toBe(200);
    expect(empty.json.channels[0]).toMatchObject({ id: 0, parent_id: null, voice_channel: false });
    expect(empty.json.channels.find((c: { name: string }) => c.name === 'General')).toMatchObject({ voice_channel: true, users: [] });

    const dave = await holdMumble('dave', 'dave-password-2');
    const general = dave.channelId('General')!;
    const joinedAt = Date.now();
    dave.joinChannel(general);
    const seen = await eventually(
      async () => {
        const r = await call('GET', '/api/v1/voice', undefined, token);
        const channel = r.json.channels.find((c: { name: string }) => c.name === 'General');
        return channel.users.find((u: { username: string }) => u.username === 'dave');
      },
      2000,
      'dave in General',
    );
    expect(Date.now() - joinedAt).toBeLessThan(2000);
    expect(seen).toEqual({ username: 'dave', registered: true, muted: false, deafened: false, self_muted: false, self_deafened: false, suppressed: false });

    const mutedAt = Date.now();
    dave.setSelfMute(true);
    await eventually(
      async () => {
        const r = await call('GET', '/api/v1/voice', undefined, token);
        const u = r.json.channels.find((c: { name: string }) => c.name === 'General').users[0];
        return u?.self_muted === true;
      },
      2000,
      'dave self-muted',
    );
    expect(Date.now() - mutedAt).toBeLessThan(2000);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^alloquy_murmur_up 1$/m);
    expect(metrics).toMatch(/^alloquy_voice_users\{channel="General"\} 1$/m);
    expect(metrics).toMatch(/^alloquy_voice_muted_users 1$/m);

    expect((await call('GET', '/api/v1/voice')).status).toBe(401);
    dave.close();
    await eventually(
      async () => {
        const r = await call('GET', '/api/v1/voice', undefined, token);
        return r.json.channels.every((c: { users: unknown[] }) => c.users.length === 0);
      },
      3000,
      'dave gone',
    );
  });
});

describe('restarts', () => {
  it('after a Murmur restart it reconnects, re-syncs and every account still logs in', async () => {
    const connectsBefore = server!.murmur!.client.status().connects;
    await murmur.stop();
    await eventually(async () => (await call('GET', '/healthz')).json.components.murmur.status === 'down', 5000, 'murmur down in health');
    expect((await call('GET', '/api/v1/voice', undefined, adminToken)).status).toBe(503);

    // While Murmur is away: a new account and a password change. Both must be there after.
    expect((await call('POST', '/api/v1/accounts', { username: 'ivan', password: 'ivan-password' })).status).toBe(201);
    const token = await login('dave', 'dave-password-2');
    expect((await call('POST', '/api/v1/me/password', { current_password: 'dave-password-2', new_password: 'dave-password-3' }, token)).status).toBe(204);

    await startMurmur();
    await eventually(() => server!.murmur!.client.status().connects > connectsBefore && server!.murmur!.relay.status().syncs > 0, 10_000, 'the relay back');
    await server!.murmur!.relay.whenIdle();
    await eventually(() => ice.isUp(), 10_000, 'the test client back');
    const health = (await call('GET', '/healthz')).json;
    expect(health.components.murmur).toMatchObject({ status: 'up', lastError: null });

    for (const [name, password] of [
      ['alice', 'alice-password'],
      ['dave', 'dave-password-3'],
      ['erin', 'erin-password-2'],
      ['frank', 'frank-password'],
      ['ivan', 'ivan-password'],
    ] as const) {
      expect(await mumbleLogin(name, password), name).toMatchObject({ ok: true });
    }
    expect(await mumbleLogin('dave', 'dave-password-2')).toMatchObject({ ok: false });
  });

  it('after a control-server restart voice sessions stay up, new logins keep working and nothing is registered twice', async () => {
    const alice = await holdMumble('alice', 'alice-password');
    const before = await registered();
    const channelsBefore = await ice.getChannels();

    await stopServer();
    // Murmur needs nothing from the control server to let accounts in.
    expect(await mumbleLogin('ivan', 'ivan-password')).toMatchObject({ ok: true });
    await startServer();
    await server!.murmur!.relay.whenIdle();

    expect(alice.isClosed).toBe(false);
    expect(await registered()).toEqual(before);
    expect((await ice.getChannels()).map((c) => [c.id, c.name]).sort()).toEqual(channelsBefore.map((c) => [c.id, c.name]).sort());
    expect(await mumbleLogin('dave', 'dave-password-3')).toMatchObject({ ok: true });
    const health = (await call('GET', '/healthz')).json;
    expect(health.components.murmur).toMatchObject({ status: 'up', staleAccounts: 0 });
    alice.close();
  });

  it('a password changed while the control server was down stops working in Murmur; the next login restores voice', async () => {
    await stopServer();
    const db = openControlDatabase(config.database.path);
    await createAccountService(config, db).setPassword('ivan', 'ivan-password-2');
    db.close();
    await startServer();

    // Murmur must not keep the old password; the new one it has not seen yet.
    expect(await ice.verifyPassword('ivan', 'ivan-password')).toBe(-1);
    expect(await ice.verifyPassword('ivan', 'ivan-password-2')).toBe(-1);
    expect((await call('GET', '/healthz')).json.components.murmur.staleAccounts).toBe(1);

    await login('ivan', 'ivan-password-2');
    await eventually(async () => (await ice.verifyPassword('ivan', 'ivan-password-2')) > 0, 5000, 'ivan refreshed by his login');
    expect(await mumbleLogin('ivan', 'ivan-password-2')).toMatchObject({ ok: true });
    await eventually(async () => (await call('GET', '/healthz')).json.components.murmur.staleAccounts === 0, 3000, 'no stale account');
  });

  it('removes registrations that match no account, and never touches SuperUser', async () => {
    const stray = await ice.registerUser({ name: 'stray', password: 'stray-password' });
    await server!.murmur!.relay.syncAll();
    const now = await registered();
    expect(now.has(stray)).toBe(false);
    expect(now.get(0)).toBe('SuperUser');
  });
});
