/**
 * The guild model enforced in a real InspIRCd 3.15, live, through the services link: the real
 * GuildService over a temporary database, the real account service as the SASL authenticator,
 * startIrcServices wiring the link, HistServ and the reconciler exactly as the server does,
 * and raw IRC clients that log in with SASL and see what stock clients see.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startInspircd, type InspircdHandle } from '@alloquy/stack';
import type { AccountService } from '../../src/accounts/account-service.js';
import { createAccountService } from '../../src/accounts/create-account-service.js';
import { loadConfig } from '../../src/config/config.js';

import { Permission } from '@alloquy/protocol/permissions';
import { GuildService, OPERATOR, accountActor } from '../../src/guild/service.js';
import { HistoryStore } from '../../src/history/store.js';
import { KICK_REASONS } from '../../src/guild-irc/index.js';
import { Health } from '@alloquy/service-kit/health';
import type { InboundChatMessage } from '../../src/irc-link/index.js';
import { foldCase } from '@alloquy/protocol/irc';
import { startIrcServices, type IrcServices } from '../../src/irc-services.js';
import { createLogger } from '@alloquy/service-kit/log';
import { ControlMetrics } from '../../src/metrics/metrics.js';
import { type Db, openControlDatabase } from '../../src/store/database.js';
import { RawIrcClient, connectWithSasl, describe as show } from '../irc-link/raw-client.js';
import { ensureSecret } from '@alloquy/service-kit/config';

const { VIEW_CHANNEL, SEND_MESSAGES, MANAGE_MESSAGES, MANAGE_CHANNELS } = Permission;
const ACCOUNTS = ['owner', 'alice', 'bob', 'carol', 'dave', 'erin', 'mo', 'tina', 'vic'];
const password = (account: string) => `${account}-password-1`;

let home: string;
let db: Db;
let accounts: AccountService;
let guild: GuildService;
let ircd: InspircdHandle;
let irc: IrcServices;
const clients: RawIrcClient[] = [];
const messages: InboundChatMessage[] = [];
let nickCounter = 0;

const owner = () => accountActor(accounts.find('owner')!);

async function login(account: string): Promise<RawIrcClient> {
  const outcome = await connectWithSasl(ircd.ports.irc, `${account}${++nickCounter}`, { authcid: account, password: password(account) });
  clients.push(outcome.client);
  expect(outcome.success, `SASL for ${account}`).toBe(true);
  return outcome.client;
}

function nickOf(client: RawIrcClient): string {
  return client.received.find((m) => m.command === '001')!.params[0]!;
}

/** JOIN and resolve with '366' (joined) or the numeric that refused it. */
async function enter(client: RawIrcClient, channel: string): Promise<string> {
  const from = client.mark();
  client.send(`JOIN ${channel}`);
  const reply = await client.waitFor(
    (m) => (m.command === '366' || ['471', '473', '474', '475', '477', '489'].includes(m.command)) && m.params[1]?.toLowerCase() === channel,
    10_000,
    from,
  );
  return reply.command;
}

/** A channel's list mode entries as the hub reports them (asked by an operator). */
async function list(client: RawIrcClient, channel: string, letter: 'b' | 'e' | 'I'): Promise<string[]> {
  const [entry, end] = { b: ['367', '368'], e: ['348', '349'], I: ['346', '347'] }[letter];
  const from = client.mark();
  client.send(`MODE ${channel} ${letter}`);
  await client.waitFor((m) => m.command === end && m.params[1] === channel, 10_000, from);
  return client.received
    .slice(from)
    .filter((m) => m.command === entry && m.params[1] === channel)
    .map((m) => m.params[2]!);
}

/** The channel's simple and parameter modes as the hub reports them. */
async function modes(client: RawIrcClient, channel: string): Promise<string> {
  const from = client.mark();
  client.send(`MODE ${channel}`);
  const reply = await client.waitFor((m) => m.command === '324' && m.params[1] === channel, 10_000, from);
  return reply.params[2]!;
}

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Send a message and resolve with '404' when the hub refused it, 'sent' once `witness` got it. */
async function speak(from: RawIrcClient, witness: RawIrcClient, channel: string, text: string): Promise<'404' | 'sent'> {
  const markFrom = from.mark();
  const markWitness = witness.mark();
  from.send(`PRIVMSG ${channel} :${text}`);
  const refused = from.waitFor((m) => m.command === '404' && m.params[1] === channel, 10_000, markFrom).then(() => '404' as const);
  const seen = witness.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === text, 10_000, markWitness).then(() => 'sent' as const);
  const result = await Promise.race([refused, seen]);
  // Settle the loser quietly.
  refused.catch(() => undefined);
  seen.catch(() => undefined);
  return result;
}

/** Wait until services have acted on everything so far. */
async function settled(): Promise<void> {
  await irc.enforcement!.settled();
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'alloquy-guild-irc-'));
  const config = loadConfig({ ALLOQUY_HOME: home, ALLOQUY_MURMUR: 'false', ALLOQUY_IRC_LINK_PORT: '1' });
  db = openControlDatabase(config.database.path);
  accounts = createAccountService(config, db);
  for (const account of ACCOUNTS) await accounts.register(account, password(account), { bypassPolicy: true });
  guild = new GuildService(db, accounts, { history: new HistoryStore(db) });
  ircd = await startInspircd({
    workDir: join(home, 'inspircd'),
    server: { name: config.irc.serverName },
    services: { name: config.irc.servicesName, password: ensureSecret(config.irc.linkPasswordPath) },
  });
  const linked = { ...config, irc: { ...config.irc, linkPort: ircd.ports.ircLink } };
  irc = startIrcServices(linked, accounts, new ControlMetrics(), new Health(), createLogger('silent'), guild, {
    onTopicFromIrc: (account, channel, topic) => {
      guild.updateChannel(accountActor(accounts.find(account)!), channel.id, { topic });
    },
  });
  irc.link.on('message', (message) => messages.push(message));
  await new Promise<void>((resolve) => (irc.link.isUp ? resolve() : irc.link.once('up', () => resolve())));
  await settled();
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.destroy();
  await irc?.stop();
  guild?.close();
  await ircd?.stop();
  db?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('guild channels on IRC', () => {
  it("HistServ holds #general opped with +ntR, the join replay mode and the model's topic", async () => {
    guild.updateChannel(OPERATOR, 'general', { topic: 'Welcome to the guild' });
    await settled();
    const alice = await login('alice');
    expect(await enter(alice, '#general')).toBe('366');
    const names = alice.received.find((m) => m.command === '353' && m.params[2] === '#general')!;
    expect(names.params[3]!.split(' ')).toContain('@HistServ');
    expect(alice.received.find((m) => m.command === '332' && m.params[1] === '#general')?.params[2]).toBe('Welcome to the guild');
    const current = await modes(alice, '#general');
    for (const letter of 'ntRH') expect(current).toContain(letter);
    expect(current).not.toContain('i');
    // Our config lets channel operators add bans by hand next to the entries services keep.
    expect(alice.received.filter((m) => m.command === '005').flatMap((m) => m.params)).toContain('MAXLIST=I:1000,b:1000,e:1000');
    expect(irc.histserv.nick).toBe('HistServ');
    // The account (R:) and mute (m:) extbans services rely on.
    expect(irc.link.capabilities!.capabilities.get('EXTBANS')).toMatch(/^(?=.*R)(?=.*m)/);
    alice.quit();
  });

  it('refuses a user who is not logged in (+R), and shows out one who is logged out while inside', async () => {
    const anon = await RawIrcClient.connect(ircd.ports.irc);
    clients.push(anon);
    anon.send('NICK anon1');
    anon.send('USER anon 0 * :anon');
    await anon.waitForNumeric('001');
    expect(await enter(anon, '#general')).toBe('477');
    anon.quit();

    const vic = await login('vic');
    expect(await enter(vic, '#general')).toBe('366');
    const mark = vic.mark();
    expect(irc.link.logout('vic')).toBe(1);
    const kick = await vic.waitFor((m) => m.command === 'KICK' && m.params[0] === '#general' && m.params[1] === nickOf(vic), 10_000, mark);
    expect(kick.params[2]).toBe(KICK_REASONS.noAccount);
    vic.quit();
  });

  it('keeps a member without VIEW_CHANNEL out of a private channel, lets one with it in, and removes one who loses it', async () => {
    const staff = guild.createRole(OPERATOR, { name: 'staff' });
    guild.createChannel(OPERATOR, { kind: 'text', name: 'staff' });
    guild.setOverwrite(OPERATOR, 'staff', { type: 'role', target: '1', allow: 0n, deny: VIEW_CHANNEL });
    guild.setOverwrite(OPERATOR, 'staff', { type: 'role', target: staff.id, allow: VIEW_CHANNEL, deny: 0n });
    guild.addMemberRole(OPERATOR, 'alice', staff.id);
    await settled();
    const boss = await login('owner');
    expect(await enter(boss, '#staff')).toBe('366');
    expect(await modes(boss, '#staff')).toContain('i');
    expect((await list(boss, '#staff', 'I')).sort()).toEqual(['R:alice', 'R:owner']);

    const bob = await login('bob');
    expect(await enter(bob, '#staff')).toBe('473');
    const alice = await login('alice');
    expect(await enter(alice, '#staff')).toBe('366');

    const mark = alice.mark();
    guild.removeMemberRole(OPERATOR, 'alice', staff.id);
    const kick = await alice.waitFor((m) => m.command === 'KICK' && m.params[0] === '#staff' && m.params[1] === nickOf(alice), 10_000, mark);
    expect(kick.params[2]).toBe(KICK_REASONS.noView);
    expect(kick.source).toMatch(/^HistServ!/);
    expect(await enter(alice, '#staff')).toBe('473');
    for (const client of [boss, bob, alice]) client.quit();
  });

  it('a read-only channel refuses senders without SEND_MESSAGES (404) and carries those with it', async () => {
    guild.createChannel(OPERATOR, { kind: 'text', name: 'news' });
    guild.setOverwrite(OPERATOR, 'news', { type: 'role', target: '1', allow: 0n, deny: SEND_MESSAGES });
    guild.setOverwrite(OPERATOR, 'news', { type: 'member', target: 'carol', allow: SEND_MESSAGES, deny: 0n });
    await settled();
    const carol = await login('carol');
    const bob = await login('bob');
    expect(await enter(carol, '#news')).toBe('366');
    expect(await enter(bob, '#news')).toBe('366');
    expect(await speak(bob, carol, '#news', 'bob tries to post')).toBe('404');
    expect(await speak(carol, bob, '#news', 'carol posts the news')).toBe('sent');
    const boss = await login('owner');
    expect(await enter(boss, '#news')).toBe('366');
    expect(await list(boss, '#news', 'b')).toEqual(['m:*!*@*']);
    // The owner holds every permission, so may post too.
    expect((await list(boss, '#news', 'e')).sort()).toEqual(['m:R:carol', 'm:R:owner']);
    for (const client of [carol, bob, boss]) client.quit();
  });

  it('a timeout mutes by account, then expires by itself', async () => {
    const dave = await login('dave');
    const alice = await login('alice');
    expect(await enter(dave, '#general')).toBe('366');
    expect(await enter(alice, '#general')).toBe('366');
    expect(await speak(dave, alice, '#general', 'dave before')).toBe('sent');
    const mark = alice.mark();
    guild.timeout(owner(), 'dave', Date.now() + 4000, 'cool down');
    await alice.waitFor((m) => m.command === 'MODE' && m.params[0] === '#general' && m.params[1] === '+b' && m.params[2] === 'm:R:dave', 10_000, mark);
    expect(await speak(dave, alice, '#general', 'dave muted')).toBe('404');
    // GuildService republishes at the expiry; services lift the mute.
    await alice.waitFor((m) => m.command === 'MODE' && m.params[0] === '#general' && m.params[1] === '-b' && m.params[2] === 'm:R:dave', 15_000, mark);
    expect(await speak(dave, alice, '#general', 'dave after')).toBe('sent');
    dave.quit();
    alice.quit();
  });

  it('ops follow MANAGE_MESSAGES live, and an op handed out by hand is taken back', async () => {
    const mods = guild.createRole(OPERATOR, { name: 'mods', permissions: MANAGE_MESSAGES });
    const mo = await login('mo');
    const vic = await login('vic');
    expect(await enter(mo, '#general')).toBe('366');
    expect(await enter(vic, '#general')).toBe('366');
    const mark = vic.mark();
    guild.addMemberRole(OPERATOR, 'mo', mods.id);
    await vic.waitFor((m) => m.command === 'MODE' && m.params[0] === '#general' && m.params[1] === '+o' && m.params[2] === nickOf(mo), 10_000, mark);
    mo.send(`MODE #general +o ${nickOf(vic)}`);
    await vic.waitFor((m) => m.command === 'MODE' && m.params[1] === '+o' && m.params[2] === nickOf(vic), 10_000, mark);
    await vic.waitFor(
      (m) => m.command === 'MODE' && m.params[1] === '-o' && m.params[2] === nickOf(vic) && m.source?.includes('services') === true,
      10_000,
      mark,
    );
    // A ban mask set by hand is the operators' own business; services leave it.
    mo.send('MODE #general +b *!*@hand.set.example');
    await vic.waitFor((m) => m.command === 'MODE' && m.params[2] === '*!*@hand.set.example', 10_000, mark);
    guild.removeMemberRole(OPERATOR, 'mo', mods.id);
    await vic.waitFor((m) => m.command === 'MODE' && m.params[1] === '-o' && m.params[2] === nickOf(mo), 10_000, mark);
    await settled();
    const boss = await login('owner');
    expect(await enter(boss, '#general')).toBe('366');
    expect(await list(boss, '#general', 'b')).toContain('*!*@hand.set.example');
    for (const client of [mo, vic, boss]) client.quit();
  });

  it('topic changes reach clients live; IRC topic changes go into the model when allowed and are reverted otherwise', async () => {
    const watcher = await login('erin');
    expect(await enter(watcher, '#general')).toBe('366');
    let mark = watcher.mark();
    guild.updateChannel(OPERATOR, 'general', { topic: 'Topic from the API' });
    await watcher.waitFor((m) => m.command === 'TOPIC' && m.params[0] === '#general' && m.params[1] === 'Topic from the API', 10_000, mark);

    // mo is opped by MANAGE_MESSAGES but lacks MANAGE_CHANNELS: the topic goes back.
    const mods = guild.role('mods');
    guild.addMemberRole(OPERATOR, 'mo', mods.id);
    const mo = await login('mo');
    expect(await enter(mo, '#general')).toBe('366');
    await mo.waitFor((m) => m.command === 'MODE' && m.params[1] === '+o' && m.params[2] === nickOf(mo), 10_000);
    mark = watcher.mark();
    await setTopicRetrying(mo, '#general', 'Topic by a moderator');
    await watcher.waitFor((m) => m.command === 'TOPIC' && m.params[1] === 'Topic by a moderator', 10_000, mark);
    const reverted = await watcher.waitFor((m) => m.command === 'TOPIC' && m.params[1] === 'Topic from the API', 10_000, mark);
    expect(reverted.source).toBe('services.alloquy.local');
    expect(guild.channel('general').topic).toBe('Topic from the API');

    // With MANAGE_CHANNELS the topic is taken into the model and stays.
    guild.updateRole(OPERATOR, mods.id, { permissions: MANAGE_MESSAGES | MANAGE_CHANNELS });
    await settled();
    mark = watcher.mark();
    await setTopicRetrying(mo, '#general', 'Topic set on IRC');
    await watcher.waitFor((m) => m.command === 'TOPIC' && m.params[1] === 'Topic set on IRC', 10_000, mark);
    await eventually(() => guild.channel('general').topic === 'Topic set on IRC', 'the model has the IRC topic');
    await settled();
    expect(
      watcher.received
        .slice(mark)
        .filter((m) => m.command === 'TOPIC')
        .map((m) => m.params[1]),
    ).toEqual(['Topic set on IRC']);
    guild.removeMemberRole(OPERATOR, 'mo', mods.id);
    watcher.quit();
    mo.quit();
  });

  it('kick and ban reach the client live with who and why, and a ban by account survives a reconnect under another nick', async () => {
    const erin = await login('erin');
    const carol = await login('carol');
    const witness = await login('alice');
    for (const client of [erin, carol, witness]) expect(await enter(client, '#general')).toBe('366');
    let mark = erin.mark();
    guild.kick(owner(), 'erin', 'spam');
    const kicked = await erin.waitFor((m) => m.command === 'KICK' && m.params[0] === '#general' && m.params[1] === nickOf(erin), 10_000, mark);
    expect(kicked.params[2]).toBe('Kicked by owner: spam');
    // Kicked is not a member any more: kept out by account until they rejoin the guild.
    expect(await enter(erin, '#general')).toBe('474');

    mark = witness.mark();
    guild.ban(owner(), 'carol', 'trolling');
    const banned = await witness.waitFor((m) => m.command === 'KICK' && m.params[1] === nickOf(carol), 10_000, mark);
    expect(banned.params[2]).toBe('Banned by owner: trolling');
    await witness.waitFor((m) => m.command === 'MODE' && m.params[1] === '+b' && m.params[2] === 'R:carol', 10_000, mark);
    carol.quit();
    await carol.closed;
    const again = await login('carol');
    expect(nickOf(again)).not.toBe(nickOf(carol));
    expect(await enter(again, '#general')).toBe('474');
    expect(await enter(again, '#news')).toBe('474');

    // Unbanned and rejoined: the bans go, and they can come back.
    mark = witness.mark();
    guild.unban(owner(), 'carol');
    guild.join(accounts.find('carol')!);
    guild.join(accounts.find('erin')!);
    await witness.waitFor((m) => m.command === 'MODE' && m.params[1]?.startsWith('-b') === true && m.params.includes('R:carol'), 10_000, mark);
    await settled();
    expect(await enter(again, '#general')).toBe('366');
    expect(await enter(erin, '#general')).toBe('366');
    for (const client of [erin, again, witness]) client.quit();
  });

  it('closes ad-hoc channels while they are disabled, and lets them be once enabled', async () => {
    const tina = await login('tina');
    const mark = tina.mark();
    expect(await enter(tina, '#adhoc')).toBe('366');
    const kick = await tina.waitFor((m) => m.command === 'KICK' && m.params[0] === '#adhoc', 10_000, mark);
    expect(kick.params[2]).toBe(KICK_REASONS.adhoc);
    await eventually(() => irc.link.network.findChannel('#adhoc') === undefined, 'the ad-hoc channel is gone');

    guild.updateSettings(OPERATOR, { adhocChannels: true });
    await settled();
    expect(await enter(tina, '#adhoc2')).toBe('366');
    await settled();
    tina.send('PING :still');
    await tina.waitFor((m) => m.command === 'PONG' && m.params.includes('still'));
    expect(tina.received.some((m) => m.command === 'KICK' && m.params[0] === '#adhoc2')).toBe(false);
    guild.updateSettings(OPERATOR, { adhocChannels: false });
    await tina.waitFor((m) => m.command === 'KICK' && m.params[0] === '#adhoc2', 10_000);
    tina.quit();
  });

  it('a channel removed from the model is left by HistServ and closed', async () => {
    guild.createChannel(OPERATOR, { kind: 'text', name: 'temp' });
    await settled();
    const tina = await login('tina');
    expect(await enter(tina, '#temp')).toBe('366');
    const mark = tina.mark();
    guild.deleteChannel(OPERATOR, 'temp');
    await tina.waitFor((m) => m.command === 'PART' && m.params[0] === '#temp' && m.source?.startsWith('HistServ!') === true, 10_000, mark);
    const kick = await tina.waitFor((m) => m.command === 'KICK' && m.params[0] === '#temp' && m.params[1] === nickOf(tina), 10_000, mark);
    expect(kick.params[2]).toBe(KICK_REASONS.removed);
    await eventually(() => irc.link.network.findChannel('#temp') === undefined, 'the channel is closed');
    tina.quit();
  });

  it('HistServ receives channel messages with msgid, time and client-only tags, and private PRIVMSG/NOTICE/TAGMSG by its uid', async () => {
    const alice = await login('alice');
    alice.send('CAP REQ :message-tags');
    expect(await enter(alice, '#general')).toBe('366');
    const before = messages.length;
    alice.send('@+draft/reply=abc;+draft/react=x PRIVMSG #general :tagged hello');
    alice.send('@+draft/react=y;+draft/reply=abc TAGMSG #general');
    alice.send('@+typing=active TAGMSG #general');
    alice.send('PRIVMSG HistServ :search hello');
    alice.send('NOTICE HistServ :just a notice');
    alice.send('@+draft/react=z TAGMSG HistServ');
    await eventually(() => messages.length - before >= 6, 'six messages reached services');
    const got = messages.slice(before);
    const uid = irc.link.network.findUserByNick(nickOf(alice))!.uid;
    const privmsg = got.find((m) => m.command === 'PRIVMSG' && m.target === '#general')!;
    expect(privmsg).toMatchObject({ source: uid, text: 'tagged hello' });
    expect(Object.fromEntries(privmsg.tags)).toEqual({ time: expect.any(String), msgid: expect.any(String), '+draft/reply': 'abc', '+draft/react': 'x' });
    const tagmsgs = got.filter((m) => m.command === 'TAGMSG' && m.target === '#general');
    expect(tagmsgs.map((m) => Object.fromEntries(m.tags))).toEqual([
      { time: expect.any(String), msgid: expect.any(String), '+draft/react': 'y', '+draft/reply': 'abc' },
      { time: expect.any(String), msgid: expect.any(String), '+typing': 'active' },
    ]);
    const direct = got.filter((m) => m.target === irc.histserv.uid);
    expect(direct.map((m) => [m.command, m.text, m.tags.get('+draft/react') ?? null])).toEqual([
      ['PRIVMSG', 'search hello', null],
      ['NOTICE', 'just a notice', null],
      ['TAGMSG', '', 'z'],
    ]);
    // The account is not a tag server-to-server: it comes from the sender's METADATA.
    expect(got.every((m) => !m.tags.has('account'))).toBe(true);
    expect(irc.link.network.users.get(uid)!.account).toBe('alice');
    // HistServ answers privately with a NOTICE from its uid.
    const mark = alice.mark();
    expect(irc.link.send({ source: irc.histserv.uid, command: 'NOTICE', params: [uid, 'No results.'] })).toBe(true);
    const notice = await alice.waitFor((m) => m.command === 'NOTICE' && m.params[1] === 'No results.', 10_000, mark);
    expect(notice.source).toMatch(/^HistServ!histserv@/);
    alice.quit();
  });

  it('puts everything back after a relink', async () => {
    const alice = await login('alice');
    expect(await enter(alice, '#general')).toBe('366');
    const up = new Promise<void>((resolve) => irc.link.once('up', () => resolve()));
    irc.link.relink('test relink');
    await up;
    await settled();
    await eventually(() => irc.link.network.findChannel('#general')?.members.get(irc.histserv.uid) === 'o', 'HistServ is back in #general, opped');
    await eventually(() => irc.link.network.findChannel('#staff')?.members.has(irc.histserv.uid) === true, 'HistServ is back in #staff');
    const boss = await login('owner');
    expect(await enter(boss, '#staff')).toBe('366');
    const names = boss.received.find((m) => m.command === '353' && m.params[2] === '#staff')!;
    expect(names.params[3]!.split(' ')).toContain('@HistServ');
    expect((await list(boss, '#staff', 'I')).sort()).toEqual(['R:owner']);
    expect(foldCase(irc.link.network.findChannel('#general')!.topic)).toBe(foldCase(guild.channel('general').topic));
    alice.quit();
    boss.quit();
  });
});

/** TOPIC is refused (437) in the second a services FTOPIC landed in; try again after it. */
async function setTopicRetrying(client: RawIrcClient, channel: string, topic: string): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const from = client.mark();
    client.send(`TOPIC ${channel} :${topic}`);
    const reply = await client.waitFor(
      (m) => (m.command === 'TOPIC' && m.params[0] === channel && m.params[1] === topic) || (['437', '482'].includes(m.command) && m.params[1] === channel),
      10_000,
      from,
    );
    if (reply.command === 'TOPIC') return;
    if (reply.command === '482') throw new Error(`not allowed to set the topic: ${show(reply)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error('the topic was refused ten times');
}
