/**
 * The history half of the "Must show", end to end: the whole stack as `scripts/up` runs
 * it; 20 stock clients (raw IRC, SASL) send 10,000 messages with replies and reactions into
 * #general; a 21st client watches what InspIRCd delivers; the HTTP API must give back exactly
 * what the watcher saw, exactly once and in the same order; search finds the messages; a deleted
 * message is gone from both; and kill -9 of the control server loses nothing that the API had
 * shown (i.e. that was committed) before the kill.
 *
 * Needs: `pnpm -r build` (the stack runs dist/), and the control server wired with HistServ
 * (startHistServ on the services link's HistServ pseudo-client) and historyRoutes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack, type RunningStack } from '@alloquy/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IrcMessage } from '@alloquy/protocol/irc';
import { RawIrcClient, connectWithSasl } from '../irc-link/raw-client.js';
import { httpApi } from '../support/http-api.js';

const SENDERS = 20;
const PER_SENDER = 500;
const TOTAL = SENDERS * PER_SENDER;
/** Lines a sender may have in flight (sent, not yet seen by the watcher): keeps InspIRCd's 16K recvq safe. */
const WINDOW = 40;

let stack: RunningStack;
let home: string;
const clients: RawIrcClient[] = [];
/** user01..user20, by index. */
let senders: RawIrcClient[] = [];
const tokens = new Map<string, string>();
const { call } = httpApi(() => stack.httpUrl);

const senderName = (c: number) => `user${String(c + 1).padStart(2, '0')}`;
const token = (c: number, i: number) => `tok${c}x${i}`;

/** What the watcher saw, in delivery order. */
interface Seen {
  msgid: string;
  account: string;
  time: string;
  text: string;
  replyTo: string | null;
}
const seen: Seen[] = [];
const seenByMsgid = new Map<string, Seen>();
/** Reactions as the watcher saw them applied: target → emoji → accounts. */
const reactions = new Map<string, Map<string, Set<string>>>();
const seenLines = new Map<string, number>();
let watcher: RawIrcClient;
let watched = 0;

/** Takes in whatever the watcher received since the last call. */
function absorb(): void {
  const lines = watcher.received;
  for (; watched < lines.length; watched++) {
    const m: IrcMessage = lines[watched]!;
    if ((m.command !== 'PRIVMSG' && m.command !== 'TAGMSG') || m.params[0] !== '#general') continue;
    const account = m.tags.get('account') ?? '';
    seenLines.set(account, (seenLines.get(account) ?? 0) + 1);
    const target = m.tags.get('+draft/reply') ?? m.tags.get('+reply') ?? null;
    if (m.command === 'TAGMSG') {
      const react = m.tags.get('+draft/react');
      const unreact = m.tags.get('+draft/unreact');
      if (!target) continue;
      let byEmoji = reactions.get(target);
      if (!byEmoji) reactions.set(target, (byEmoji = new Map()));
      if (react) {
        if (!byEmoji.has(react)) byEmoji.set(react, new Set());
        byEmoji.get(react)!.add(account);
      }
      if (unreact) byEmoji.get(unreact)?.delete(account);
      continue;
    }
    const entry: Seen = { msgid: m.tags.get('msgid')!, account, time: m.tags.get('time')!, text: m.params[1]!, replyTo: target };
    seen.push(entry);
    seenByMsgid.set(entry.msgid, entry);
  }
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (
    !(await Promise.resolve()
      .then(check)
      .catch(() => false))
  ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function login(nick: string): Promise<RawIrcClient> {
  const outcome = await connectWithSasl(stack.ports.irc, nick, { authcid: nick, password: `${nick}-password` }, { timeoutMs: 30_000 });
  clients.push(outcome.client);
  expect(outcome.success, `SASL for ${nick}`).toBe(true);
  return outcome.client;
}

async function joinGeneral(client: RawIrcClient, nick: string): Promise<void> {
  client.send('JOIN #general');
  await client.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith(`${nick}!`) === true, 20_000);
}

/** Every visible message of #general through the API, paging forward from the start. */
async function allMessages(as = 'watcher'): Promise<any[]> {
  const out: any[] = [];
  let after = '0';
  for (;;) {
    const r = await call('GET', `/api/v1/channels/general/messages?limit=1000&after=${encodeURIComponent(after)}`, undefined, tokens.get(as));
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    if (r.json.messages.length === 0) return out;
    out.push(...r.json.messages);
    after = r.json.messages.at(-1).msgid;
  }
}

async function search(query: string, as = 'watcher'): Promise<any[]> {
  const r = await call('GET', `/api/v1/search?${query}`, undefined, tokens.get(as));
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json.messages;
}

function controlLogTail(): string {
  try {
    return readFileSync(stack.logPath('control'), 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no control log)';
  }
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'alloquy-e2e-history-'));
  stack = await startStack({ home });
  const names = ['watcher', ...Array.from({ length: SENDERS }, (_, c) => senderName(c))];
  for (const name of names) {
    expect((await call('POST', '/api/v1/accounts', { username: name, password: `${name}-password` })).status).toBe(201);
    tokens.set(name, (await call('POST', '/api/v1/sessions', { username: name, password: `${name}-password` })).json.access_token);
  }
  watcher = await login('watcher');
  await joinGeneral(watcher, 'watcher');
  // HistServ holds every guild text channel: it must be there before anything worth recording is said.
  await until(
    'HistServ in #general',
    async () => {
      const mark = watcher.mark();
      watcher.send('NAMES #general');
      const names = await watcher.waitFor((m) => m.command === '366', 5000, mark);
      const listed = watcher.received.slice(mark, watcher.received.indexOf(names)).filter((m) => m.command === '353');
      return listed.some((m) => /(^|[\s@%+~&])HistServ(\s|$)/.test(m.params.at(-1) ?? ''));
    },
    30_000,
  );
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await stack?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
}, 60_000);

describe('history through the stack', () => {
  it('gives back 10,000 messages from 20 clients, with replies and reactions, exactly once and in order', async () => {
    senders = await Promise.all(
      Array.from({ length: SENDERS }, async (_, c) => {
        const client = await login(senderName(c));
        await joinGeneral(client, senderName(c));
        return client;
      }),
    );
    const sentLines = new Array<number>(SENDERS).fill(0);
    const sentMessages = new Array<number>(SENDERS).fill(0);
    let reactionsSent = 0;
    const started = Date.now();
    // One loop drives every sender, each keeping at most WINDOW lines in flight.
    while (sentMessages.some((n) => n < PER_SENDER)) {
      absorb();
      for (let c = 0; c < SENDERS; c++) {
        const me = senderName(c);
        while (sentMessages[c]! < PER_SENDER && sentLines[c]! - (seenLines.get(me) ?? 0) < WINDOW) {
          const i = sentMessages[c]!;
          // Replies and reactions point at a message the watcher has already seen (from anyone).
          const target = seen.length > 0 ? seen[(c * 7919 + i * 104_729) % seen.length]!.msgid : null;
          const text = `histtest from ${me} number ${i} ${token(c, i)}`;
          if (target && i % 10 === 5) senders[c]!.send(`@+draft/reply=${target} PRIVMSG #general :${text}`);
          else senders[c]!.send(`PRIVMSG #general :${text}`);
          sentLines[c]!++;
          sentMessages[c]!++;
          if (target && i % 25 === 7) {
            senders[c]!.send(`@+draft/react=👍;+draft/reply=${target} TAGMSG #general`);
            if (i % 100 === 7) senders[c]!.send(`@+draft/react=🎉;+draft/reply=${target} TAGMSG #general`);
            if (i % 100 === 57) senders[c]!.send(`@+draft/unreact=👍;+draft/reply=${target} TAGMSG #general`);
            // A typing notification: InspIRCd relays it, HistServ must not store it.
            senders[c]!.send('@+typing=active TAGMSG #general');
            sentLines[c]! += i % 100 === 7 || i % 100 === 57 ? 3 : 2;
            reactionsSent++;
          }
        }
      }
      if (Date.now() - started > 280_000) throw new Error(`sending took too long: ${seen.length} of ${TOTAL} seen`);
      await sleep(10);
    }
    await until(
      'the watcher saw every message',
      () => {
        absorb();
        return seen.length === TOTAL && [...seenLines.values()].reduce((a, b) => a + b, 0) >= sentLines.reduce((a, b) => a + b, 0);
      },
      120_000,
    );
    expect(reactionsSent).toBeGreaterThan(300);

    // Recording lags delivery by a few milliseconds: wait until the API has all of them.
    let messages: any[] = [];
    await until('the API returns every message', async () => (messages = await allMessages()).length >= TOTAL, 60_000);

    expect(messages.map((m) => m.msgid)).toEqual(seen.map((s) => s.msgid)); // exactly once, in order
    expect(new Set(messages.map((m) => m.msgid)).size).toBe(TOTAL);
    for (const m of messages) {
      const s = seenByMsgid.get(m.msgid)!;
      expect(m).toMatchObject({ channel: 'general', account: s.account, nick: s.account, time: s.time, text: s.text, kind: 'PRIVMSG', reply_to: s.replyTo });
      const expected = [...(reactions.get(m.msgid) ?? new Map<string, Set<string>>())]
        .filter(([, who]) => who.size > 0)
        .map(([emoji, who]) => ({ emoji, accounts: [...who].sort() }))
        .sort((a, b) => a.emoji.localeCompare(b.emoji));
      const actual = m.reactions
        .map((r: any) => ({ emoji: r.emoji, accounts: [...r.accounts].sort() }))
        .sort((a: any, b: any) => a.emoji.localeCompare(b.emoji));
      expect(actual, `reactions of ${m.msgid}`).toEqual(expected);
    }
    expect(messages.filter((m) => m.reply_to !== null).length).toBeGreaterThan(900);
    expect(messages.filter((m) => m.reactions.length > 0).length).toBeGreaterThan(100);
  }, 600_000);

  it('finds them with search', async () => {
    for (let k = 0; k < 200; k++) {
      const c = (k * 7) % SENDERS;
      const i = (k * 131) % PER_SENDER;
      const hits = await search(`q=${token(c, i)}`);
      expect(
        hits.map((h) => h.text),
        token(c, i),
      ).toEqual([`histtest from ${senderName(c)} number ${i} ${token(c, i)}`]);
    }
    const fromOne = await search(`q=histtest&channel=general&from=${senderName(3)}&limit=100`);
    expect(fromOne).toHaveLength(100);
    expect(new Set(fromOne.map((h) => h.account))).toEqual(new Set([senderName(3)]));
    // Newest first: the last hundred that user03 sent.
    expect(fromOne.map((h) => h.text)).toEqual(
      Array.from({ length: 100 }, (_, k) => `histtest from ${senderName(3)} number ${PER_SENDER - 1 - k} ${token(3, PER_SENDER - 1 - k)}`),
    );
  });

  it('forgets a deleted message in the API and in search; only its author or a moderator can delete', async () => {
    const victim = seen.find((s) => s.account === senderName(5) && s.text.includes(token(5, 42)))!;
    const author = senders[5]!;
    const stranger = senders[6]!;
    stranger.send(`@+alloquy/delete=${victim.msgid} TAGMSG #general`); // user07: not the author, no MANAGE_MESSAGES
    stranger.send(`@+alloquy/edit=${victim.msgid} PRIVMSG #general :hijacked ${token(5, 42)}`);
    await sleep(500);
    expect((await search(`q=${token(5, 42)}`)).map((h) => h.msgid)).toEqual([victim.msgid]);
    expect((await search('q=hijacked')).length).toBe(0);

    author.send(`@+alloquy/delete=${victim.msgid} TAGMSG #general`);
    await until('the deletion is applied', async () => (await search(`q=${token(5, 42)}`)).length === 0, 20_000);
    const around = await call('GET', `/api/v1/channels/general/messages?around=${encodeURIComponent(victim.msgid)}&limit=3`, undefined, tokens.get('watcher'));
    expect(around.status).toBe(200);
    expect(around.json.messages.map((m: any) => m.msgid)).not.toContain(victim.msgid);
    const all = await allMessages();
    expect(all).toHaveLength(TOTAL - 1);
    expect(all.map((m) => m.msgid)).not.toContain(victim.msgid);
  });

  it('loses nothing recorded before a kill -9 of the control server', async () => {
    const talkers = senders.slice(0, 4);
    const recorded = new Set<string>();
    let stop = false;
    let n = 0;
    const talking = (async () => {
      while (!stop) {
        for (const [k, t] of talkers.entries()) if (!t.isClosed) t.send(`PRIVMSG #general :crashtest ${k} ${n}`);
        n++;
        // About 7 lines a second each: under InspIRCd's 10 commands a second, so nothing piles up in its recvq.
        await sleep(150);
      }
    })();
    // Whatever the API shows has been committed to the database.
    await until(
      'crash-test messages being recorded',
      async () => {
        const r = await call('GET', '/api/v1/channels/general/messages?limit=200', undefined, tokens.get('watcher'));
        for (const m of r.json.messages) if (m.text.startsWith('crashtest')) recorded.add(m.msgid);
        return recorded.size >= 300;
      },
      60_000,
    );
    const before = stack.pidOf('control')!;
    // The last look before the kill: all of it must survive.
    const last = await call('GET', '/api/v1/channels/general/messages?limit=100', undefined, tokens.get('watcher'));
    for (const m of last.json.messages) if (m.text.startsWith('crashtest')) recorded.add(m.msgid);
    process.kill(before, 'SIGKILL');
    await sleep(1000);
    stop = true;
    await talking;

    await until(
      'the control server back',
      async () => {
        const pid = stack.pidOf('control');
        if (pid === undefined || pid === before) return false;
        return (await call('GET', '/api/v1/channels/general/messages?limit=1', undefined, tokens.get('watcher'))).status === 200;
      },
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\ncontrol log:\n${controlLogTail()}`);
    });
    const after = new Set((await allMessages()).map((m) => m.msgid));
    const lost = [...recorded].filter((id) => !after.has(id));
    expect(lost, `recorded before the kill, missing after it (of ${recorded.size})`).toEqual([]);
    expect(after.size).toBeGreaterThanOrEqual(TOTAL - 1 + recorded.size);
  }, 180_000);

  it('records again once the restarted server is back in the channel', async () => {
    const talker = senders[2]!;
    await until(
      'a message after the restart recorded',
      async () => {
        talker.send(`PRIVMSG #general :after restart ${Date.now()}`);
        await sleep(300);
        return (await search('q=after restart')).length > 0;
      },
      60_000,
    );
  }, 90_000);
});
