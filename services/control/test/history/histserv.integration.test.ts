/**
 * HistServ on a real InspIRCd 3: the services link's agent stands in for the HistServ
 * pseudo-client (the IRC enforcement side introduces the real one and joins it to every guild
 * channel; here the test joins it with FJOIN). Stock clients speak raw IRC with SASL; the guild
 * is a hand-made snapshot whose members are the SASL accounts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInspircd, type InspircdHandle } from '@alloquy/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHistServ, type HistServ } from '../../src/histserv/index.js';
import { HistoryStore } from '../../src/history/store.js';
import { ServicesLink } from '../../src/irc-link/link.js';
import { createLogger } from '@alloquy/service-kit/log';
import { openControlDatabase, type Db } from '../../src/store/database.js';
import { RawIrcClient, connectWithSasl } from '../irc-link/raw-client.js';
import { TestAuthenticator } from '../irc-link/test-authenticator.js';
import { FixtureGuild } from './guild-fixture.js';

const SERVICES = 'services.alloquy.local';
let workDir: string;
let ircd: InspircdHandle;
let link: ServicesLink;
let db: Db;
let store: HistoryStore;
let histserv: HistServ;
const clients: RawIrcClient[] = [];

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function login(nick: string, account: string): Promise<RawIrcClient> {
  const { client, success } = await connectWithSasl(ircd.ports.irc, nick, { authcid: account, password: `${account}-pw` });
  clients.push(client);
  expect(success).toBe(true);
  return client;
}

async function joinChannel(client: RawIrcClient, nick: string, channel: string): Promise<void> {
  client.send(`JOIN ${channel}`);
  await client.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith(`${nick}!`) === true && m.params[0] === channel);
}

/** NOTICEs from HistServ received after `mark`, until one matches `last`. */
async function histservLines(client: RawIrcClient, mark: number, last: RegExp): Promise<string[]> {
  await client.waitFor((m) => m.command === 'NOTICE' && m.source?.startsWith('HistServ!') === true && last.test(m.params[1] ?? ''), 10_000, mark);
  return client.received
    .slice(mark)
    .filter((m) => m.command === 'NOTICE' && m.source?.startsWith('HistServ!'))
    .map((m) => m.params[1]!);
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'alloquy-histserv-'));
  const password = randomBytes(16).toString('hex');
  ircd = await startInspircd({ workDir, services: { name: SERVICES, password } });
  const accounts = new Map(['alice', 'bob', 'mod'].map((name) => [name, { password: `${name}-pw` }]));
  link = new ServicesLink({
    host: '127.0.0.1',
    port: ircd.ports.ircLink,
    password,
    serverName: SERVICES,
    sid: '0AS',
    expectedHubName: ircd.serverName,
    authenticator: new TestAuthenticator(accounts),
    agent: { nick: 'HistServ', ident: 'histserv', realname: 'Message history' },
  });
  const up = new Promise<void>((resolve) => link.once('up', () => resolve()));
  link.start();
  await up;
  db = openControlDatabase(join(workDir, 'control.db'));
  store = new HistoryStore(db);
  histserv = startHistServ({
    link,
    histserv: { uid: link.agentClient.uid },
    guild: new FixtureGuild(),
    store,
    log: createLogger('silent'),
    rateLimit: { capacity: 2, refillMs: 60_000 },
  });
  const ts = String(Math.floor(Date.now() / 1000));
  for (const channel of ['#general', '#secret']) {
    link.send({ source: '0AS', command: 'FJOIN', params: [channel, ts, '+nt', `o,${link.agentClient.uid}`] });
  }
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await histserv?.stop();
  await link?.stop();
  db?.close();
  await ircd?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('HistServ against a real InspIRCd', () => {
  it('records what stock clients send, with the msgid and time they saw', async () => {
    const alice = await login('alice', 'alice');
    const bob = await login('bobby', 'bob');
    await joinChannel(alice, 'alice', '#general');
    await joinChannel(bob, 'bobby', '#general');

    const mark = bob.mark();
    alice.send('PRIVMSG #general :hello from alice');
    const seen = await bob.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'hello from alice', 10_000, mark);
    const msgid = seen.tags.get('msgid')!;
    expect(msgid).toBeTruthy();

    alice.send('PRIVMSG #general :\x01ACTION waves\x01');
    alice.send('NOTICE #general :a notice');
    // Two clients' lines interleave in whatever order InspIRCd reads them: take turns.
    await waitUntil(() => store.latest('#general', 10).length === 3, 'three messages recorded');
    bob.send(`@+draft/react=👍;+draft/reply=${msgid} TAGMSG #general`);
    bob.send('@+typing=active TAGMSG #general');
    bob.send(`@+draft/reply=${msgid} PRIVMSG #general :hi alice`);
    await waitUntil(() => store.latest('#general', 10).length === 4, 'four messages recorded');
    alice.send('PRIVMSG #general :tpyo here');
    await waitUntil(() => store.latest('#general', 10).length === 5, 'five messages recorded');

    // Two clients' lines interleave in whatever order InspIRCd reads them: find by text, not position.
    const typo = store.latest('#general', 10).find((m) => m.text === 'tpyo here')!;
    alice.send(`@+alloquy/edit=${typo.msgid} PRIVMSG #general :typo here`);
    bob.send(`@+alloquy/delete=${typo.msgid} TAGMSG #general`); // not bob's: ignored
    await waitUntil(() => histserv.stats().refused >= 1, 'bob refused');
    alice.send('PRIVMSG #general :delete me');
    await waitUntil(() => store.latest('#general', 10).length === 6, 'six messages');
    const doomed = store.latest('#general', 10).find((m) => m.text === 'delete me')!;
    alice.send(`@+alloquy/delete=${doomed.msgid} TAGMSG #general`);
    await waitUntil(() => store.latest('#general', 10).length === 5 && histserv.stats().edits === 1, 'edit and deletion applied');

    const page = store.latest('#general', 10);
    expect(page.map((m) => [m.kind, m.nick, m.account, m.text])).toEqual([
      ['PRIVMSG', 'alice', 'alice', 'hello from alice'],
      ['ACTION', 'alice', 'alice', 'waves'],
      ['NOTICE', 'alice', 'alice', 'a notice'],
      ['PRIVMSG', 'bobby', 'bob', 'hi alice'],
      ['PRIVMSG', 'alice', 'alice', 'typo here'],
    ]);
    expect(page[0]!.msgid).toBe(msgid);
    expect(page[0]!.time).toBe(Date.parse(seen.tags.get('time')!));
    expect(page[0]!.reactions).toEqual([{ emoji: '👍', accounts: ['bob'] }]);
    expect(page[3]!.replyTo).toBe(msgid);
    expect(page[4]!.editedAt).not.toBeNull();
    expect(store.search({ q: 'delete' })).toEqual([]);
    expect(histserv.stats()).toMatchObject({ skipped: { typing: 1 }, refused: 1, deletions: 1, duplicates: 0 });
  });

  it('answers HISTORY and SEARCH as NOTICEs, refuses guests and private channels, and rate-limits', async () => {
    const alice = clients[0]!;
    let mark = alice.mark();
    alice.send('PRIVMSG HistServ :HISTORY #general 2');
    expect(await histservLines(alice, mark, /^Older:/)).toEqual([
      '#general: 2 messages, oldest first (times UTC):',
      expect.stringMatching(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] <bobby> hi alice \(in reply to alice\)$/),
      expect.stringMatching(/<alice> typo here \(edited\)$/),
      expect.stringMatching(/^Older: \/msg HistServ HISTORY #general 2 BEFORE \S+$/),
    ]);

    mark = alice.mark();
    alice.send('PRIVMSG HistServ :SEARCH #secret anything');
    expect(await histservLines(alice, mark, /may not read/)).toEqual(['You may not read the history of #secret, or there is no such channel.']);

    mark = alice.mark();
    alice.send('PRIVMSG HistServ :SEARCH #general hello');
    expect(await histservLines(alice, mark, /^Slow down/)).toEqual(['Slow down, please: ask again in 60 s.']);
    alice.send('PRIVMSG HistServ :HELP');

    const guest = await RawIrcClient.connect(ircd.ports.irc);
    clients.push(guest);
    guest.send('NICK guest');
    guest.send('USER guest 0 * :guest');
    await guest.waitForNumeric('001');
    mark = guest.mark();
    guest.send('PRIVMSG HistServ :HISTORY #general');
    expect(await histservLines(guest, mark, /log in/)).toEqual(['Sorry, history is only for members: log in to your account (SASL) and ask again.']);

    // The limited user got exactly one warning, and nothing for the request after it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(alice.received.filter((m) => m.command === 'NOTICE' && /^Slow down/.test(m.params[1] ?? ''))).toHaveLength(1);
    expect(alice.received.some((m) => m.command === 'NOTICE' && /HistServ keeps/.test(m.params[1] ?? ''))).toBe(false);
  });
});
