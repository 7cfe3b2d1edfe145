/**
 * Guild permissions enforced in a real Murmur 1.3 (no mocks): the Murmur relay with the real
 * GuildService over a real SQLite database, a Murmur of our own, and real Mumble clients (the
 * bare-protocol MumbleProbe from @alloquy/stack, and @alloquy/client's VoiceClient for audio).
 * Every claim is checked through Murmur: what it answers the clients, and over Ice.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatPcm, dominantFrequency, SAMPLE_RATE, sineWave, VoiceClient } from '@alloquy/client/voice';
import { decodeProto, encodeProto, MumbleMessage, MumbleProbe, type MumbleFrame, eventually as poll } from '@alloquy/stack';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AccountService } from '../../src/accounts/account-service.js';
import { createAccountService } from '../../src/accounts/create-account-service.js';
import { loadConfig } from '../../src/config/config.js';
import { memberByUsername, type Channel, type Role } from '../../src/guild/model.js';
import { Permission as P } from '@alloquy/protocol/permissions';
import { GuildService, OPERATOR } from '../../src/guild/service.js';
import { createLogger } from '@alloquy/service-kit/log';
import { ControlMetrics } from '../../src/metrics/metrics.js';
import { CONNECT_GROUP, lobbyAcl, MEMBER_GROUP, MUTE_GROUP, SPEAK_GROUP } from '../../src/murmur/acl.js';
import { MurmurIceClient, Permission, type ChannelAcl } from '../../src/murmur/ice-client.js';
import { MurmurRelay } from '../../src/murmur/relay.js';
import { MurmurStore } from '../../src/murmur/store.js';
import { VoiceChannels } from '../../src/guild/voice-channels.js';
import { HistoryStore } from '../../src/history/store.js';
import { openControlDatabase, type Db } from '../../src/store/database.js';
import { startMurmurFixture, type MurmurFixture } from './murmur-fixture.js';

const silent = createLogger('silent');
/** MumbleProto.PermissionDenied.DenyType.Permission */
const DENIED_PERMISSION = 1;
const NAMES = ['owner', 'carol', 'dave', 'erin', 'frank', 'gina', 'hank'] as const;
type Name = (typeof NAMES)[number];
const password = (name: string) => `${name}-password`;

let work: string;
let murmur: MurmurFixture;
let db: Db;
let accounts: AccountService;
let guild: GuildService;
let store: MurmurStore;
let relayClient: MurmurIceClient;
let relay: MurmurRelay;
let ice: MurmurIceClient;
let general: Channel;
let voiceRole: Role;
let modRole: Role;
const probes: MumbleProbe[] = [];
const voices: VoiceClient[] = [];

function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  return poll(check, timeoutMs, what);
}

const accountId = (name: Name) => accounts.get(name).id;
const murmurId = (name: Name) => store.state(accountId(name))!.murmurUserId;
/** The Murmur user ids of these accounts, sorted as group lists are compared. */
const idsOf = (names: Name[]) => names.map(murmurId).sort((a, b) => a - b);
/** Murmur's id of the General voice channel. */
const generalId = () => new VoiceChannels(db).find('General')!.murmurChannelId!;

async function ownGroups(channelId: number): Promise<Record<string, number[]>> {
  const acl: ChannelAcl = await ice.getACL(channelId);
  return Object.fromEntries(acl.groups.filter((g) => !g.inherited).map((g) => [g.name, [...g.add].sort((a, b) => a - b)]));
}

/**
 * A logged-in Mumble client in the root channel. Murmur puts a returning user back into their
 * last channel when they may still enter it (rememberchannel); tests start from the root.
 */
async function probe(name: Name): Promise<MumbleProbe> {
  const client = await MumbleProbe.connect({ host: murmur.address, port: murmur.ports.mumble, keepAlive: true });
  probes.push(client);
  expect(await client.login(name, password(name))).toMatchObject({ ok: true });
  await toRoot(client);
  return client;
}

async function toRoot(client: MumbleProbe): Promise<void> {
  if ((await stateOf(client.session!)).channelId === 0) return;
  const mark = client.mark();
  await ice.setState(client.session!, { channelId: 0 });
  await client.waitFor((f) => f.type === MumbleMessage.UserState && fieldsOf(f).get(1)?.[0] === client.session && fieldsOf(f).get(5)?.[0] === 0, 5000, mark);
}

async function voice(name: Name): Promise<VoiceClient> {
  const client = await VoiceClient.connect({
    host: murmur.address,
    port: murmur.ports.mumble,
    username: name,
    password: password(name),
    rejectUnauthorized: false,
  });
  voices.push(client);
  return client;
}

const fieldsOf = (frame: MumbleFrame) => decodeProto(frame.payload);

/** Asks Murmur to move `client` into `channelId`: resolves with Murmur's answer. */
async function tryJoin(client: MumbleProbe, channelId: number): Promise<'joined' | { denied: number }> {
  const mark = client.mark();
  client.joinChannel(channelId);
  const answer = await client.waitFor(
    (f) => {
      if (f.type === MumbleMessage.PermissionDenied) return true;
      if (f.type !== MumbleMessage.UserState) return false;
      const fields = fieldsOf(f);
      return fields.get(1)?.[0] === client.session && fields.get(5)?.[0] === channelId;
    },
    5000,
    mark,
  );
  if (answer.type === MumbleMessage.UserState) return 'joined';
  const fields = fieldsOf(answer);
  expect(fields.get(5)?.[0]).toBe(DENIED_PERMISSION);
  return { denied: Number(fields.get(1)?.[0]) };
}

/** What Murmur says of a user now, over Ice. */
const stateOf = (session: number) => ice.getState(session);

/** Each transmission of `session` that reaches `listener` (its PCM chunks), and how many have ended. */
function transmissionsOf(listener: VoiceClient, session: number): { readonly transmissions: Int16Array[][]; readonly ended: number } {
  const heard = { transmissions: [] as Int16Array[][], ended: 0 };
  listener.on('speakingStart', (u) => {
    if (u.session === session) heard.transmissions.push([]);
  });
  listener.on('speakingStop', (u) => {
    if (u.session === session) heard.ended += 1;
  });
  listener.onPcm((from, pcm) => {
    if (from === session) heard.transmissions.at(-1)?.push(pcm);
  });
  return heard;
}

const low = () => sineWave({ frequency: 300, durationSeconds: 0.5, amplitude: 0.5 });
const high = () => sineWave({ frequency: 660, durationSeconds: 0.5, amplitude: 0.5 });

/**
 * Murmur handles a speaker's packets in the order they were sent and relays them in that order,
 * so when a later 660 Hz transmission has arrived, an earlier 300 Hz one that was going to arrive
 * would have arrived before it: each transmission heard must be one tone, 660 Hz, half a second long.
 */
function expectOnlyTheHighTone(transmissions: readonly Int16Array[][]): void {
  for (const chunks of transmissions) {
    const pcm = concatPcm(chunks);
    expect(Math.abs(dominantFrequency(pcm).frequency - 660)).toBeLessThanOrEqual(10);
    expect(pcm.length / SAMPLE_RATE).toBeLessThan(0.75);
  }
}

/** Waits for every queued relay write (the guild's change events enqueue them synchronously). */
const settled = () => relay.whenIdle();

/** Asks Murmur to make a channel under `parentId` for `client`: resolves with its id, or what was denied. */
async function tryMakeChannel(client: MumbleProbe, parentId: number, name: string, temporary: boolean): Promise<{ made: number } | { denied: number }> {
  const mark = client.mark();
  client.send(
    MumbleMessage.ChannelState,
    encodeProto([
      [2, parentId],
      [3, name],
      [8, temporary],
    ]),
  );
  const answer = await client.waitFor(
    (f) => f.type === MumbleMessage.PermissionDenied || (f.type === MumbleMessage.ChannelState && String(fieldsOf(f).get(3)?.[0]) === name),
    5000,
    mark,
  );
  if (answer.type === MumbleMessage.ChannelState) return { made: Number(fieldsOf(answer).get(1)?.[0]) };
  expect(fieldsOf(answer).get(5)?.[0]).toBe(DENIED_PERMISSION);
  return { denied: Number(fieldsOf(answer).get(1)?.[0]) };
}

/**
 * Sends `text` to a channel as `client`: resolves with what Murmur denied, or 'delivered' once
 * `receiver` got it.
 */
async function trySendText(client: MumbleProbe, channelId: number, text: string, receiver: MumbleProbe): Promise<'delivered' | { denied: number }> {
  const mark = client.mark();
  const received = receiver.mark();
  client.send(
    MumbleMessage.TextMessage,
    encodeProto([
      [3, channelId],
      [5, text],
    ]),
  );
  const answer = await Promise.race([
    client.waitFor((f) => f.type === MumbleMessage.PermissionDenied, 5000, mark),
    receiver.waitFor((f) => f.type === MumbleMessage.TextMessage && String(fieldsOf(f).get(5)?.[0]) === text, 5000, received),
  ]);
  if (answer.type === MumbleMessage.TextMessage) return 'delivered';
  expect(fieldsOf(answer).get(5)?.[0]).toBe(DENIED_PERMISSION);
  return { denied: Number(fieldsOf(answer).get(1)?.[0]) };
}

/** Kicks `name` from the guild unless that happened already: they stay registered in Murmur. */
async function kickedFromGuild(name: Name): Promise<void> {
  if (memberByUsername(guild.snapshot(), name)) guild.kick(OPERATOR, name, 'lobby test');
  await settled();
  expect((await ownGroups(0))[MEMBER_GROUP]).not.toContain(murmurId(name));
}

/** The guild's members as Murmur user ids: the root channel's member group. */
const memberIds = () => idsOf(NAMES.filter((n) => memberByUsername(guild.snapshot(), n)));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'alloquy-voice-acl-'));
  murmur = await startMurmurFixture({ workDir: join(work, 'murmur') });
  const home = join(work, 'home');
  mkdirSync(home, { recursive: true });
  const config = loadConfig({ ALLOQUY_HOME: home });
  db = openControlDatabase(join(home, 'control.db'));
  accounts = createAccountService(config, db);
  guild = new GuildService(db, accounts, { history: new HistoryStore(db), log: silent });
  store = new MurmurStore(db);
  relayClient = new MurmurIceClient({
    host: '127.0.0.1',
    port: murmur.ports.mumbleIce,
    secret: murmur.iceSecret,
    serverId: 1,
    log: silent,
    minBackoffMs: 100,
    maxBackoffMs: 500,
  });
  relay = new MurmurRelay({
    client: relayClient,
    accounts,
    store,
    channels: new VoiceChannels(db),
    metrics: new ControlMetrics(),
    log: silent,
    guild,
    pollIntervalMs: 250,
    // As the server wires it: the guild snapshot learns the Murmur ids of its voice channels.
    murmurChannelIdsChanged: () => guild.reload({ action: 'murmur.channels' }),
  });
  relay.start();
  relayClient.start();
  ice = new MurmurIceClient({ host: '127.0.0.1', port: murmur.ports.mumbleIce, secret: murmur.iceSecret, serverId: 1, log: silent });
  ice.start();
  await eventually(() => relay.status().syncs > 0 && ice.isUp(), 'the relay and the test client up', 15_000);

  // The first account is an admin, so it owns the guild.
  for (const name of NAMES) await accounts.register(name, password(name), { bypassPolicy: true });
  await eventually(async () => {
    await settled();
    return NAMES.every((n) => store.state(accountId(n))?.passwordVersion != null);
  }, 'every account registered in Murmur with its password');

  // @everyone may see and speak but not connect; Voice may connect; Moderator may also mute.
  const everyone = guild.snapshot().roles.get(guild.snapshot().everyoneRoleId)!;
  guild.updateRole(OPERATOR, everyone.id, { permissions: everyone.permissions & ~P.CONNECT });
  voiceRole = guild.createRole(OPERATOR, { name: 'Voice', permissions: P.CONNECT });
  modRole = guild.createRole(OPERATOR, { name: 'Moderator', permissions: P.CONNECT | P.MUTE_MEMBERS });
  for (const name of ['carol', 'frank'] as const) guild.addMemberRole(OPERATOR, name, voiceRole.id);
  guild.addMemberRole(OPERATOR, 'erin', modRole.id);
  general = guild.snapshot().channels.find((c) => c.kind === 'voice' && c.name === 'General')!;
  await settled();
}, 90_000);

afterEach(async () => {
  for (const c of probes.splice(0)) c.close();
  for (const v of voices.splice(0)) await v.disconnect();
  // Murmur has seen the sessions go before the next test logs the same names in again.
  await eventually(async () => (await ice.getUsers()).length === 0, 'everyone gone from Murmur');
});

afterAll(async () => {
  await relay?.stop();
  await relayClient?.stop();
  await ice?.stop();
  guild?.close();
  db?.close();
  await murmur?.stop();
}, 30_000);

describe('voice channel ACLs from the guild', () => {
  it('writes channel groups of Murmur user ids: who may connect, speak and mute', async () => {
    const acl = await ice.getACL(generalId());
    expect(acl.acls.filter((a) => !a.inherited).map((a) => [a.group, a.allow, a.deny])).toEqual([
      ['all', 0, Permission.Enter | Permission.Speak | Permission.Whisper | Permission.MuteDeafen | Permission.MakeChannel | Permission.MakeTempChannel],
      [CONNECT_GROUP, Permission.Enter, 0],
      [SPEAK_GROUP, Permission.Speak | Permission.Whisper, 0],
      [MUTE_GROUP, Permission.MuteDeafen, 0],
    ]);
    // The owner holds everything; dave, gina and hank have no role with CONNECT, so nothing else counts.
    expect(await ownGroups(generalId())).toEqual({
      [CONNECT_GROUP]: idsOf(['owner', 'carol', 'erin', 'frank']),
      [SPEAK_GROUP]: idsOf(['owner', 'carol', 'erin', 'frank']),
      [MUTE_GROUP]: idsOf(['owner', 'erin']),
    });
    // Murmur's SuperUser is in no group and keeps its registration.
    expect((await ice.getRegisteredUsers()).get(0)).toBe('SuperUser');
  });

  it('writes only what differs: a full sync, or a change that does not touch voice, writes nothing', async () => {
    const before = relay.status().aclWrites;
    await relay.syncAll();
    guild.createChannel(OPERATOR, { kind: 'text', name: 'chatter' });
    await settled();
    expect(relay.status().aclWrites).toBe(before);
  });

  it('coalesces a burst of guild changes into one write', async () => {
    const before = relay.status().aclWrites;
    // Three changes, each a different ACL on its own; only the last state is written.
    guild.addMemberRole(OPERATOR, 'gina', voiceRole.id);
    guild.addMemberRole(OPERATOR, 'dave', voiceRole.id);
    guild.removeMemberRole(OPERATOR, 'gina', voiceRole.id);
    await settled();
    expect(relay.status().aclWrites).toBe(before + 1);
    expect((await ownGroups(generalId()))[CONNECT_GROUP]).toEqual(idsOf(['owner', 'carol', 'dave', 'erin', 'frank']));
    guild.removeMemberRole(OPERATOR, 'dave', voiceRole.id);
    await settled();
  });

  it('keeps out a member whose roles lack CONNECT: Murmur refuses the move', async () => {
    const dave = await probe('dave');
    expect(await tryJoin(dave, generalId())).toEqual({ denied: Permission.Enter });
    const carol = await probe('carol');
    expect(await tryJoin(carol, generalId())).toBe('joined');
  });

  it('applies a role change live: given the role, dave enters; losing it, he is moved to the root channel', async () => {
    const dave = await probe('dave');
    guild.addMemberRole(OPERATOR, 'dave', voiceRole.id);
    await settled();
    expect(await tryJoin(dave, generalId())).toBe('joined');

    const mark = dave.mark();
    guild.removeMemberRole(OPERATOR, 'dave', voiceRole.id);
    await dave.waitFor((f) => f.type === MumbleMessage.UserState && fieldsOf(f).get(1)?.[0] === dave.session && fieldsOf(f).get(5)?.[0] === 0, 5000, mark);
    expect((await stateOf(dave.session!)).channelId).toBe(0);
    expect(await tryJoin(dave, generalId())).toEqual({ denied: Permission.Enter });

    // Back in General with the role, then the role goes while dave is offline: Murmur would put
    // him back into his last channel, but checks Enter against the ACL the relay wrote.
    guild.addMemberRole(OPERATOR, 'dave', voiceRole.id);
    await settled();
    expect(await tryJoin(dave, generalId())).toBe('joined');
    dave.close();
    await eventually(async () => (await ice.getUsers()).every((u) => u.name !== 'dave'), 'dave gone');
    const again = await MumbleProbe.connect({ host: murmur.address, port: murmur.ports.mumble, keepAlive: true });
    probes.push(again);
    expect(await again.login('dave', password('dave'))).toMatchObject({ ok: true });
    expect((await stateOf(again.session!)).channelId).toBe(generalId());
    again.close();
    await eventually(async () => (await ice.getUsers()).every((u) => u.name !== 'dave'), 'dave gone again');
    guild.removeMemberRole(OPERATOR, 'dave', voiceRole.id);
    await settled();
    const third = await MumbleProbe.connect({ host: murmur.address, port: murmur.ports.mumble, keepAlive: true });
    probes.push(third);
    expect(await third.login('dave', password('dave'))).toMatchObject({ ok: true });
    expect((await stateOf(third.session!)).channelId).toBe(0);
  });

  it('moves out a member who is timed out, and lets them back when the timeout is lifted', async () => {
    const carol = await probe('carol');
    expect(await tryJoin(carol, generalId())).toBe('joined');
    guild.timeout(OPERATOR, 'carol', Date.now() + 60_000, 'cool down');
    await eventually(async () => (await stateOf(carol.session!)).channelId === 0, 'carol moved to the root channel');
    expect(await tryJoin(carol, generalId())).toEqual({ denied: Permission.Enter });
    guild.timeout(OPERATOR, 'carol', null);
    await settled();
    expect(await tryJoin(carol, generalId())).toBe('joined');
  });

  it('Murmur 1.3 itself re-evaluates nobody after setACL: a user keeps talking without Speak (why the relay steps in)', async () => {
    // A channel made in Murmur by hand: the relay leaves it alone.
    const scratch = await ice.addChannel('Scratch', 0);
    try {
      const open = {
        acls: [{ applyHere: true, applySubs: true, inherited: false, userId: -1, group: 'all', allow: Permission.Enter | Permission.Speak, deny: 0 }],
        groups: [],
        inherit: true,
      };
      await ice.setACL(scratch, open);
      const dave = await probe('dave');
      expect(await tryJoin(dave, scratch)).toBe('joined');
      expect((await stateOf(dave.session!)).suppress).toBe(false);
      await ice.setACL(scratch, { ...open, acls: [{ ...open.acls[0]!, allow: Permission.Enter, deny: Permission.Speak }] });
      // setACL has returned: whatever Murmur does about it is done.
      expect((await stateOf(dave.session!)).suppress).toBe(false);
      await settled();
      expect((await stateOf(dave.session!)).suppress).toBe(false);
      expect((await ice.getChannels()).some((c) => c.id === scratch)).toBe(true);
    } finally {
      await ice.removeChannel(scratch);
    }
  });

  it('suppresses a member without SPEAK: not heard until SPEAK comes back, and not heard again once it goes', async () => {
    const vid = general.id;
    guild.setOverwrite(OPERATOR, vid, { type: 'member', target: 'frank', allow: 0n, deny: P.SPEAK });
    await settled();
    const carol = await voice('carol');
    const frank = await voice('frank');
    await carol.join('General');
    await frank.join('General');
    const frankSession = frank.self().session;
    // Murmur suppresses on entry, from the ACL the relay wrote.
    await eventually(() => carol.users().find((u) => u.session === frankSession)?.suppressed === true, 'frank suppressed on entry');

    const heard = transmissionsOf(carol, frankSession);

    await frank.play(low());
    // SPEAK back while inside: the relay lifts the suppression at once.
    guild.deleteOverwrite(OPERATOR, vid, 'member', 'frank');
    await eventually(async () => (await stateOf(frankSession)).suppress === false, 'frank unsuppressed');
    await frank.play(high());
    await eventually(() => heard.ended === 1, 'carol hears frank');
    expect(heard.transmissions).toHaveLength(1);
    expectOnlyTheHighTone(heard.transmissions);

    // SPEAK gone while inside: suppressed at once, and the next words go nowhere.
    guild.setOverwrite(OPERATOR, vid, { type: 'member', target: 'frank', allow: 0n, deny: P.SPEAK });
    await eventually(async () => (await stateOf(frankSession)).suppress === true, 'frank suppressed live');
    await frank.play(low());
    guild.deleteOverwrite(OPERATOR, vid, 'member', 'frank');
    await eventually(async () => (await stateOf(frankSession)).suppress === false, 'frank unsuppressed again');
    await frank.play(high());
    await eventually(() => heard.ended === 2, 'carol hears frank again');
    expect(heard.transmissions).toHaveLength(2);
    expectOnlyTheHighTone(heard.transmissions);
  });

  it('lets a member with MUTE_MEMBERS server-mute another; one without it is refused', async () => {
    const erin = await probe('erin');
    const carol = await probe('carol');
    expect(await tryJoin(erin, generalId())).toBe('joined');
    expect(await tryJoin(carol, generalId())).toBe('joined');

    const mark = carol.mark();
    carol.send(
      MumbleMessage.UserState,
      encodeProto([
        [1, erin.session!],
        [6, true],
      ]),
    );
    const denied = await carol.waitFor((f) => f.type === MumbleMessage.PermissionDenied, 5000, mark);
    expect(fieldsOf(denied).get(1)?.[0]).toBe(Permission.MuteDeafen);
    expect((await stateOf(erin.session!)).mute).toBe(false);

    erin.send(
      MumbleMessage.UserState,
      encodeProto([
        [1, carol.session!],
        [6, true],
      ]),
    );
    await eventually(async () => (await stateOf(carol.session!)).mute, 'carol server-muted by erin');

    // Without the Moderator role, erin may no longer (and carol stays muted: a mute is not a grant).
    guild.removeMemberRole(OPERATOR, 'erin', modRole.id);
    await settled();
    const before = erin.mark();
    erin.send(
      MumbleMessage.UserState,
      encodeProto([
        [1, carol.session!],
        [6, false],
      ]),
    );
    // erin lost CONNECT as well (Moderator was her only role): she was moved out; either way, refused.
    await erin.waitFor((f) => f.type === MumbleMessage.PermissionDenied, 5000, before);
    expect((await stateOf(carol.session!)).mute).toBe(true);
    guild.addMemberRole(OPERATOR, 'erin', modRole.id);
    await settled();
  });

  it('lets nobody make a channel inside a voice channel, which would bypass its ACL', async () => {
    // Murmur's root lets every registered user make temporary channels and moves the maker in
    // without checking Enter: inside a voice channel the relay's ACL denies it.
    for (const name of ['dave', 'carol'] as const) {
      const client = await probe(name);
      const mark = client.mark();
      client.send(
        MumbleMessage.ChannelState,
        encodeProto([
          [2, generalId()],
          [3, `${name}-room`],
          [8, true],
        ]),
      );
      const denied = await client.waitFor((f) => f.type === MumbleMessage.PermissionDenied, 5000, mark);
      expect(fieldsOf(denied).get(1)?.[0]).toBe(Permission.MakeTempChannel);
    }
    expect((await ice.getChannels()).filter((c) => c.parentId === generalId())).toEqual([]);
  });

  it('kicks a member removed from the guild out of Murmur, with the reason', async () => {
    const gina = await probe('gina');
    const mark = gina.mark();
    guild.kick(OPERATOR, 'gina', 'too loud');
    const removed = await gina.waitFor((f) => f.type === MumbleMessage.UserRemove && fieldsOf(f).get(1)?.[0] === gina.session, 5000, mark);
    expect(String(fieldsOf(removed).get(3)?.[0])).toBe('Kicked by operator: too loud');
    await gina.closed;
  });

  it('puts a member into the groups as soon as Murmur gives their account a user id', async () => {
    guild.addMemberRole(OPERATOR, 'dave', voiceRole.id);
    await settled();
    const old = murmurId('dave');
    expect((await ownGroups(generalId()))[CONNECT_GROUP]).toContain(old);
    // Murmur loses the registration; the account sync registers it again under a new id.
    await ice.unregisterUser(old);
    await relay.syncAccount(accountId('dave'));
    await settled();
    const now = murmurId('dave');
    expect(now).not.toBe(old);
    const connect = (await ownGroups(generalId()))[CONNECT_GROUP];
    expect(connect).toContain(now);
    expect(connect).not.toContain(old);
    const members = (await ownGroups(0))[MEMBER_GROUP];
    expect(members).toContain(now);
    expect(members).not.toContain(old);
  });

  it('follows voice channels the guild creates, renames and deletes', async () => {
    const created = guild.createChannel(OPERATOR, { kind: 'voice', name: 'Stage' });
    await settled();
    const id = new VoiceChannels(db).find('Stage')!.murmurChannelId!;
    expect(guild.snapshot().channels.find((c) => c.id === created.id)?.murmurChannelId).toBe(id);
    expect((await ice.getChannels()).find((c) => c.id === id)).toMatchObject({ name: 'Stage', parentId: 0 });
    expect((await ownGroups(id))[CONNECT_GROUP]).toContain(murmurId('carol'));

    const carol = await probe('carol');
    expect(await tryJoin(carol, id)).toBe('joined');
    guild.updateChannel(OPERATOR, created.id, { name: 'Big Stage' });
    await settled();
    // Renamed in place: the same Murmur channel, carol still inside.
    expect((await ice.getChannels()).find((c) => c.id === id)).toMatchObject({ name: 'Big Stage' });
    expect((await stateOf(carol.session!)).channelId).toBe(id);

    guild.deleteChannel(OPERATOR, created.id);
    await settled();
    expect((await ice.getChannels()).some((c) => c.id === id)).toBe(false);
    expect((await stateOf(carol.session!)).channelId).toBe(0);
  });

  it('checks the ACLs once for a new voice channel, not again for the Murmur id it recorded', async () => {
    // Every pass over the channels reads the root channel's ACL exactly once (the lobby).
    const rootReads = vi.spyOn(relayClient, 'getACL');
    try {
      const created = guild.createChannel(OPERATOR, { kind: 'voice', name: 'Annex' });
      await settled();
      expect(guild.snapshot().channels.find((c) => c.id === created.id)?.murmurChannelId).toBe(new VoiceChannels(db).find('Annex')!.murmurChannelId);
      expect(rootReads.mock.calls.filter(([channelId]) => channelId === 0)).toHaveLength(1);
      guild.deleteChannel(OPERATOR, created.id);
      await settled();
    } finally {
      rootReads.mockRestore();
    }
  });
});

describe('the root channel: a silent lobby', () => {
  // dave's Murmur password is a random one since he was registered anew above: frank stands in.
  it("carries the lobby ACL: the guild's members in a root group; Murmur's admin group and Write for it are gone", async () => {
    const acl = await ice.getACL(0);
    expect(acl.inherit).toBe(false);
    expect(acl.acls.map((a) => [a.group, a.allow, a.deny, a.applyHere, a.applySubs])).toEqual([
      ['all', 0, Permission.Speak | Permission.Whisper | Permission.TextMessage | Permission.MakeChannel | Permission.MakeTempChannel, true, true],
      ['all', 0, Permission.Enter, false, true],
      [MEMBER_GROUP, Permission.TextMessage, 0, true, true],
      [MEMBER_GROUP, Permission.Enter, 0, false, true],
    ]);
    expect(await ownGroups(0)).toEqual({ [MEMBER_GROUP]: memberIds() });
    // Kicked above: still registered in Murmur, no longer a member.
    expect((await ice.getRegisteredUsers()).get(murmurId('gina'))).toBe('gina');
    expect(memberIds()).not.toContain(murmurId('gina'));
  });

  it('is written at a full sync when it differs, and whoever sat in the root unsuppressed is suppressed', async () => {
    // Murmur's own root ACL, as a fresh or hand-edited Murmur has it: everyone may speak in the root.
    const murmurDefault: ChannelAcl = {
      acls: [
        { applyHere: true, applySubs: true, inherited: false, userId: -1, group: 'admin', allow: Permission.Write, deny: 0 },
        { applyHere: true, applySubs: true, inherited: false, userId: -1, group: 'auth', allow: Permission.MakeTempChannel, deny: 0 },
        { applyHere: true, applySubs: false, inherited: false, userId: -1, group: 'all', allow: Permission.RegisterSelf, deny: 0 },
      ],
      groups: [{ name: 'admin', inherited: false, inherit: true, inheritable: true, add: [], remove: [], members: [] }],
      inherit: false,
    };
    await settled();
    await ice.setACL(0, murmurDefault);
    const frank = await probe('frank');
    const before = relay.status().aclWrites;
    await relay.syncAll();
    expect(relay.status().aclWrites).toBe(before + 1);
    expect(await ownGroups(0)).toEqual({ [MEMBER_GROUP]: memberIds() });
    await eventually(async () => (await stateOf(frank.session!)).suppress, 'frank suppressed in the root');
    expect((await stateOf(frank.session!)).channelId).toBe(0);

    // The same again is no write.
    await relay.syncAll();
    expect(relay.status().aclWrites).toBe(before + 1);
  });

  it('leaves a kicked member nothing but to sit there: no channel of their own, no text, no channel to enter', async () => {
    await kickedFromGuild('hank');
    const hank = await probe('hank');
    const frank = await probe('frank');
    const carol = await probe('carol');
    // Murmur suppresses whoever enters the root: members and outsiders alike.
    for (const client of [hank, frank, carol]) expect((await stateOf(client.session!)).suppress).toBe(true);

    expect(await tryMakeChannel(hank, 0, 'hank-temp', true)).toEqual({ denied: Permission.MakeTempChannel });
    expect(await tryMakeChannel(hank, 0, 'hank-room', false)).toEqual({ denied: Permission.MakeChannel });
    // Nobody else either: Murmur's own root lets every registered user make temporary channels.
    expect(await tryMakeChannel(carol, 0, 'carol-temp', true)).toEqual({ denied: Permission.MakeTempChannel });
    expect((await ice.getChannels()).map((c) => c.name)).not.toEqual(expect.arrayContaining(['hank-temp', 'hank-room', 'carol-temp']));

    // Text in the lobby is a member's right, not an outsider's.
    expect(await trySendText(hank, 0, 'hello from hank', frank)).toEqual({ denied: Permission.TextMessage });
    expect(await trySendText(carol, 0, 'hello from carol', frank)).toBe('delivered');

    // Murmur answers no more than five requests in a burst from one session (its leaky bucket,
    // one more a second), and drops the rest silently: hank goes on in a new session.
    const again = await probe('hank');
    expect(await tryJoin(again, generalId())).toEqual({ denied: Permission.Enter });
    // A channel made in Murmur by hand, with no ACL of its own: members may go in (and are
    // silent there, as in the root); a kicked member may not.
    const backroom = await ice.addChannel('Backroom', 0);
    try {
      expect(await tryJoin(again, backroom)).toEqual({ denied: Permission.Enter });
      expect(await tryJoin(frank, backroom)).toBe('joined');
      expect((await stateOf(frank.session!)).suppress).toBe(true);
    } finally {
      await ice.removeChannel(backroom);
    }
  });

  it('does not let a kicked member be heard in the root; back in the guild with CONNECT, the same session is heard in General', async () => {
    await kickedFromGuild('hank');
    const carol = await voice('carol');
    const hank = await voice('hank');
    // carol may come back into her last channel; the test starts both in the root.
    await carol.join(0);
    expect(hank.currentChannel()?.id).toBe(0);
    const hankSession = hank.self().session;
    expect((await stateOf(hankSession)).suppress).toBe(true);

    const heard = transmissionsOf(carol, hankSession);

    await hank.play(low());

    // hank comes back with an invite and is given CONNECT; both move on from the root, in the
    // same sessions, into the voice channel they may connect to.
    guild.join(accounts.get('hank'), guild.createInvite(OPERATOR).code);
    guild.addMemberRole(OPERATOR, 'hank', voiceRole.id);
    await settled();
    expect((await ownGroups(0))[MEMBER_GROUP]).toContain(murmurId('hank'));
    await carol.join('General');
    await hank.join('General');
    expect((await stateOf(hankSession)).suppress).toBe(false);
    await hank.play(high());
    await eventually(() => heard.ended === 1, 'carol hears hank in General');

    // Had the 300 Hz tone from the root reached carol, it would have come before the 660 Hz one.
    expect(heard.transmissions).toHaveLength(1);
    expectOnlyTheHighTone(heard.transmissions);
  });

  it("leaves Murmur's SuperUser every right but speaking: it still makes a temporary channel and sends text in the root", async () => {
    const su = await MumbleProbe.connect({ host: murmur.address, port: murmur.ports.mumble, keepAlive: true });
    probes.push(su);
    const mark = su.mark();
    expect(await su.login('SuperUser', murmur.superUserPassword)).toMatchObject({ ok: true });
    // ServerSync tells a client what it may do in the root.
    const sync = await su.waitFor((f) => f.type === MumbleMessage.ServerSync, 5000, mark);
    const everything = Object.values(Permission).reduce((a, b) => a | b, 0);
    const speaking = Permission.Speak | Permission.Whisper;
    expect(Number(fieldsOf(sync).get(4)?.[0]) & ~speaking).toBe(everything & ~speaking);

    const frank = await probe('frank');
    expect(await trySendText(su, 0, 'hello from SuperUser', frank)).toBe('delivered');
    const made = await tryMakeChannel(su, 0, 'su-temp', true);
    expect(made).toMatchObject({ made: expect.any(Number) });
    expect((await ice.getChannels()).find((c) => c.name === 'su-temp')).toMatchObject({ parentId: 0, temporary: true });
    // Its channel is no voice channel of the guild: the relay leaves it alone.
    await relay.syncAll();
    expect((await ice.getChannels()).some((c) => c.name === 'su-temp')).toBe(true);
    su.close();
    await eventually(async () => !(await ice.getChannels()).some((c) => c.name === 'su-temp'), 'the temporary channel gone with SuperUser');
    expect(aclOf(await ice.getACL(0))).toEqual(aclOf(lobbyAcl(memberIds())));
  });
});

/** An ACL's own entries and groups, comparable. */
function aclOf(acl: ChannelAcl): unknown {
  return {
    acls: acl.acls
      .filter((a) => !a.inherited)
      .map(({ applyHere, applySubs, userId, group, allow, deny }) => ({ applyHere, applySubs, userId, group, allow, deny })),
    groups: acl.groups
      .filter((g) => !g.inherited)
      .map(({ name, inherit, inheritable, add, remove }) => ({ name, inherit, inheritable, add: [...add].sort((a, b) => a - b), remove })),
    inherit: acl.inherit,
  };
}
