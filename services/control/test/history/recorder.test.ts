import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HistoryRecorder, interpretMessage, type Sender } from '../../src/histserv/recorder.js';
import { HistoryStore } from '../../src/history/store.js';
import type { InboundChatMessage } from '../../src/irc-link/handlers.js';
import { openControlDatabase, type Db } from '../../src/store/database.js';
import { FixtureGuild, guildSnapshot } from './guild-fixture.js';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const snapshot = guildSnapshot();

let seq = 0;
function line(command: InboundChatMessage['command'], target: string, text: string, tags: Record<string, string> = {}, source = 'U-ALICE'): InboundChatMessage {
  const all = { time: new Date(T0 + seq * 1000).toISOString(), msgid: `1AL~1~${seq++}`, ...tags };
  return { command, source, target, text, tags: new Map(Object.entries(all)) };
}

const alice: Sender = { nick: 'Alice', account: 'alice' };

describe('interpretMessage', () => {
  const interpret = (m: InboundChatMessage, sender: Sender = alice) => interpretMessage(m, sender, snapshot, T0 + 999_999, () => 'generated');

  it('records PRIVMSG and NOTICE with msgid, time, account, nick and every tag', () => {
    const m = line('PRIVMSG', '#General', 'hello there', { '+draft/reply': '1AL~1~0', '+custom': '' });
    expect(interpret(m)).toEqual({
      action: 'record',
      op: {
        op: 'ingest',
        message: {
          msgid: m.tags.get('msgid'),
          channel: '#general',
          account: 'alice',
          nick: 'Alice',
          kind: 'PRIVMSG',
          time: Date.parse(m.tags.get('time')!),
          text: 'hello there',
          tags: Object.fromEntries(m.tags),
        },
      },
    });
    const n = interpret(line('NOTICE', '#general', 'a notice'));
    expect(n).toMatchObject({ action: 'record', op: { message: { kind: 'NOTICE', text: 'a notice' } } });
  });

  it('turns CTCP ACTION into kind ACTION and skips every other CTCP', () => {
    expect(interpret(line('PRIVMSG', '#general', '\x01ACTION waves\x01'))).toMatchObject({ op: { message: { kind: 'ACTION', text: 'waves' } } });
    expect(interpret(line('PRIVMSG', '#general', '\x01action waves'))).toMatchObject({ op: { message: { kind: 'ACTION', text: 'waves' } } });
    expect(interpret(line('PRIVMSG', '#general', '\x01ACTION\x01'))).toMatchObject({ op: { message: { kind: 'ACTION', text: '' } } });
    expect(interpret(line('PRIVMSG', '#general', '\x01VERSION\x01'))).toEqual({ action: 'skip', reason: 'ctcp' });
    expect(interpret(line('NOTICE', '#general', '\x01ACTION replies\x01'))).toEqual({ action: 'skip', reason: 'ctcp' });
  });

  it('records reacting TAGMSGs only: typing and other tag-only lines are skipped', () => {
    const react = interpret(line('TAGMSG', '#general', '', { '+draft/react': '👍', '+reply': 'x' }));
    expect(react).toMatchObject({ action: 'record', op: { op: 'ingest', message: { kind: 'TAGMSG', tags: { '+draft/react': '👍' } } } });
    expect(interpret(line('TAGMSG', '#general', '', { '+draft/unreact': '👍', '+draft/reply': 'x' }))).toMatchObject({ action: 'record' });
    expect(interpret(line('TAGMSG', '#general', '', { '+typing': 'active' }))).toEqual({ action: 'skip', reason: 'typing' });
    expect(interpret(line('TAGMSG', '#general', '', { '+typing': 'active', '+draft/reply': 'x' }))).toEqual({ action: 'skip', reason: 'typing' });
    expect(interpret(line('TAGMSG', '#general', '', { '+draft/reply': 'x' }))).toEqual({ action: 'skip', reason: 'tag-only' });
    expect(interpret(line('TAGMSG', '#general', '', { '+draft/react': '👍' }))).toEqual({ action: 'skip', reason: 'tag-only' });
  });

  it('needs ADD_REACTIONS to react, not to take a reaction back', () => {
    const muted: Sender = { nick: 'muted', account: 'muted' };
    expect(interpret(line('TAGMSG', '#general', '', { '+draft/react': '👍', '+reply': 'x' }), muted)).toEqual({ action: 'skip', reason: 'unauthorized' });
    expect(interpret(line('TAGMSG', '#general', '', { '+draft/unreact': '👍', '+reply': 'x' }), muted)).toMatchObject({ action: 'record' });
  });

  it('only records guild text channels', () => {
    expect(interpret(line('PRIVMSG', 'U-HISTSERV', 'HELP'))).toEqual({ action: 'skip', reason: 'not-a-channel' });
    expect(interpret(line('PRIVMSG', '@#general', 'ops only'))).toEqual({ action: 'skip', reason: 'not-a-channel' });
    expect(interpret(line('PRIVMSG', '#random', 'hi'))).toEqual({ action: 'skip', reason: 'not-a-guild-channel' });
    // `General` is a voice channel: #general is the text one, #General folds to it.
    expect(interpret(line('PRIVMSG', '#GENERAL', 'hi'))).toMatchObject({ op: { message: { channel: '#general' } } });
  });

  it('falls back to a generated msgid and the receipt time when the tags are missing', () => {
    const bare: InboundChatMessage = { command: 'PRIVMSG', source: 'U', target: '#general', text: 'x', tags: new Map() };
    expect(interpret(bare)).toMatchObject({ op: { message: { msgid: 'generated', time: T0 + 999_999 } } });
    const bad: InboundChatMessage = {
      ...bare,
      tags: new Map([
        ['time', 'yesterday'],
        ['msgid', 'y'.repeat(300)],
      ]),
    };
    expect(interpret(bad)).toMatchObject({ op: { message: { msgid: 'generated', time: T0 + 999_999 } } });
  });

  it('turns the edit and delete tags into edits and deletions, never into messages', () => {
    expect(interpret(line('PRIVMSG', '#general', 'fixed', { '+alloquy/edit': 'm1' }))).toMatchObject({
      action: 'record',
      op: { op: 'edit', msgid: 'm1', text: 'fixed', by: 'alice' },
    });
    expect(interpret(line('PRIVMSG', '#general', '\x01ACTION dances\x01', { '+alloquy/edit': 'm1' }))).toMatchObject({
      op: { op: 'edit', text: 'dances' },
    });
    expect(interpret(line('TAGMSG', '#general', '', { '+alloquy/delete': 'm1' }))).toMatchObject({ op: { op: 'delete', msgid: 'm1', by: 'alice' } });
    // Without an account there is no author to match and no permission to hold.
    const guest: Sender = { nick: 'guest', account: null };
    expect(interpret(line('PRIVMSG', '#general', 'x', { '+alloquy/edit': 'm1' }), guest)).toEqual({ action: 'skip', reason: 'unauthorized' });
    expect(interpret(line('TAGMSG', '#general', '', { '+alloquy/delete': 'm1' }), guest)).toEqual({ action: 'skip', reason: 'unauthorized' });
  });
});

describe('HistoryRecorder against a real store', () => {
  let dir: string;
  let db: Db;
  let store: HistoryStore;
  let guild: FixtureGuild;
  let recorder: HistoryRecorder;
  const users = new Map([
    ['U-ALICE', { nick: 'Alice', account: 'alice' }],
    ['U-BOB', { nick: 'bob', account: 'bob' }],
    ['U-MOD', { nick: 'Moddy', account: 'mod' }],
    ['U-MUTED', { nick: 'muted', account: 'muted' }],
    ['U-GUEST', { nick: 'guest', account: null as string | null }],
  ]);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'alloquy-recorder-'));
    db = openControlDatabase(join(dir, 'control.db'));
    store = new HistoryStore(db);
    guild = new FixtureGuild();
    recorder = new HistoryRecorder({ store, guild, users, flushDelayMs: 1, maxBatch: 50 });
  });

  afterEach(async () => {
    await recorder.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What another connection sees: only committed rows. */
  function committedCount(): number {
    const other = new Database(join(dir, 'control.db'), { readonly: true });
    try {
      return other.prepare('SELECT count(*) FROM history_messages').pluck().get() as number;
    } finally {
      other.close();
    }
  }

  async function settle(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(recorder.stats().pending).toBe(0);
  }

  it('records every kind once per msgid, with reactions and replies', async () => {
    const hello = line('PRIVMSG', '#general', 'hello https://example.org');
    recorder.handle(hello);
    recorder.handle(line('NOTICE', '#general', 'a notice', {}, 'U-BOB'));
    recorder.handle(line('PRIVMSG', '#general', '\x01ACTION waves\x01', {}, 'U-BOB'));
    recorder.handle(line('PRIVMSG', '#general', 'a reply', { '+draft/reply': hello.tags.get('msgid')! }, 'U-BOB'));
    recorder.handle(line('TAGMSG', '#general', '', { '+draft/react': '🎉', '+reply': hello.tags.get('msgid')! }, 'U-BOB'));
    recorder.handle(line('TAGMSG', '#general', '', { '+draft/react': '🎉', '+reply': hello.tags.get('msgid')! }, 'U-MUTED'));
    recorder.handle(line('TAGMSG', '#general', '', { '+typing': 'active' }, 'U-BOB'));
    recorder.handle(hello); // redelivered
    recorder.handle(line('PRIVMSG', '#random', 'not ours'));
    recorder.handle(line('PRIVMSG', '#general', 'from a server', {}, '1AL'));
    await settle();

    const page = store.latest('#general', 10);
    expect(page.map((m) => [m.kind, m.nick, m.account, m.text])).toEqual([
      ['PRIVMSG', 'Alice', 'alice', 'hello https://example.org'],
      ['NOTICE', 'bob', 'bob', 'a notice'],
      ['ACTION', 'bob', 'bob', 'waves'],
      ['PRIVMSG', 'bob', 'bob', 'a reply'],
      ['PRIVMSG', '1AL', null, 'from a server'],
    ]);
    expect(page[0]!.reactions).toEqual([{ emoji: '🎉', accounts: ['bob'] }]);
    expect(page[0]!.time).toBe(Date.parse(hello.tags.get('time')!));
    expect(page[0]!.hasLink).toBe(true);
    expect(page[3]!.replyTo).toBe(hello.tags.get('msgid'));
    expect(recorder.stats()).toMatchObject({
      received: 10,
      recorded: 6, // five messages and one reaction TAGMSG
      duplicates: 1,
      reactionChanges: 1,
      skipped: { typing: 1, unauthorized: 1, 'not-a-guild-channel': 1 },
    });
    expect(committedCount()).toBe(6);
  });

  it('applies edits and deletions from the author or a moderator, in the same channel only', async () => {
    const mine = line('PRIVMSG', '#general', 'alice original');
    const bobs = line('PRIVMSG', '#general', 'bob original', {}, 'U-BOB');
    const secret = line('PRIVMSG', '#secret', 'secret original', {}, 'U-BOB');
    for (const m of [mine, bobs, secret]) recorder.handle(m);
    const id = (m: InboundChatMessage) => m.tags.get('msgid')!;

    recorder.handle(line('PRIVMSG', '#general', 'alice edited', { '+alloquy/edit': id(mine) })); // author: yes
    recorder.handle(line('PRIVMSG', '#general', 'hijacked', { '+alloquy/edit': id(bobs) })); // alice on bob's: no
    recorder.handle(line('PRIVMSG', '#general', 'guest try', { '+alloquy/edit': id(mine) }, 'U-GUEST')); // no account: no
    recorder.handle(line('TAGMSG', '#general', '', { '+alloquy/delete': id(bobs) })); // alice deletes bob's: no
    recorder.handle(line('TAGMSG', '#general', '', { '+alloquy/delete': id(secret) }, 'U-MOD')); // wrong channel: no
    recorder.handle(line('PRIVMSG', '#general', 'moderated', { '+alloquy/edit': id(bobs) }, 'U-MOD')); // moderator: yes
    recorder.handle(line('TAGMSG', '#secret', '', { '+alloquy/delete': id(secret) }, 'U-BOB')); // author: yes
    recorder.handle(line('TAGMSG', '#general', '', { '+alloquy/delete': 'no-such-msgid' }, 'U-MOD'));
    await settle();

    expect(store.latest('#general', 10).map((m) => [m.text, m.editedAt !== null])).toEqual([
      ['alice edited', true],
      ['moderated', true],
    ]);
    expect(store.latest('#secret', 10)).toEqual([]);
    expect(store.search({ q: 'original' })).toEqual([]);
    expect(store.search({ q: 'hijacked' })).toEqual([]);
    expect(store.count()).toBe(3); // edit lines are never messages
    expect(recorder.stats()).toMatchObject({ edits: 2, deletions: 1, refused: 4, skipped: { unauthorized: 1 } });
  });

  it('honours a deletion in the same batch as its message, and after a reload of the store', async () => {
    const m = line('PRIVMSG', '#general', 'oops wrong channel');
    recorder.handle(m);
    recorder.handle(line('TAGMSG', '#general', '', { '+alloquy/delete': m.tags.get('msgid')! }));
    recorder.flush();
    expect(store.latest('#general', 5)).toEqual([]);
    expect(new HistoryStore(db).search({ q: 'oops' })).toEqual([]);
  });

  it('judges permissions by the snapshot of the moment a line arrives', async () => {
    const bobs = line('PRIVMSG', '#general', 'bob says', {}, 'U-BOB');
    recorder.handle(bobs);
    // alice becomes a moderator
    guild.set(guildSnapshot({ members: [{ ...guildSnapshot().members.get('1')!, roleIds: ['2'] }, guildSnapshot().members.get('2')!] }));
    recorder.handle(line('TAGMSG', '#general', '', { '+alloquy/delete': bobs.tags.get('msgid')! }));
    await settle();
    expect(store.latest('#general', 5)).toEqual([]);
  });

  it('commits a full batch at once and the rest within the flush delay', async () => {
    for (let i = 0; i < 120; i++) recorder.handle(line('PRIVMSG', '#general', `n${i}`));
    // maxBatch is 50: two batches are committed synchronously, twenty wait for the timer.
    expect(committedCount()).toBe(100);
    expect(recorder.stats().pending).toBe(20);
    await settle();
    expect(committedCount()).toBe(120);
    expect(recorder.stats().flushes).toBe(3);
  });

  it('stop() commits what is waiting and takes nothing more', async () => {
    const slow = new HistoryRecorder({ store, guild, users, flushDelayMs: 60_000, maxBatch: 1000 });
    for (let i = 0; i < 10; i++) slow.handle(line('PRIVMSG', '#general', `w${i}`));
    expect(committedCount()).toBe(0);
    await slow.stop();
    expect(committedCount()).toBe(10);
    slow.handle(line('PRIVMSG', '#general', 'late'));
    expect(slow.stats()).toMatchObject({ received: 10, pending: 0 });
  });

  it('keeps messages while the database is locked and commits them once it is free', async () => {
    db.pragma('busy_timeout = 20');
    const locker = new Database(join(dir, 'control.db'));
    locker.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < 5; i++) recorder.handle(line('PRIVMSG', '#general', `locked ${i}`));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(recorder.stats()).toMatchObject({ pending: 5, recorded: 0 });
    expect(recorder.stats().failures).toBeGreaterThan(0);
    locker.exec('COMMIT');
    locker.close();
    const deadline = Date.now() + 10_000;
    while (recorder.stats().pending > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(recorder.stats()).toMatchObject({ pending: 0, recorded: 5, dropped: 0 });
    expect(store.latest('#general', 10).map((m) => m.text)).toEqual(['locked 0', 'locked 1', 'locked 2', 'locked 3', 'locked 4']);
  });
});
