import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openControlDatabase, type Db } from '../store/database.js';
import { HistoryStore, toFtsQuery, type IngestMessage } from './store.js';

let dir: string;
let db: Db;
let store: HistoryStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'alloquy-history-'));
  db = openControlDatabase(join(dir, 'control.db'));
  store = new HistoryStore(db);
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = 1_700_000_000_000;

function msg(i: number, over: Partial<IngestMessage> = {}): IngestMessage {
  return {
    msgid: `m${i}`,
    channel: '#General',
    account: 'alice',
    nick: 'Alice',
    kind: 'PRIVMSG',
    time: T0 + i * 1000,
    text: `message number ${i}`,
    ...over,
  };
}

function ids(list: { msgid: string }[] | null): string[] {
  if (!list) throw new Error('null page');
  return list.map((m) => m.msgid);
}

describe('ingest', () => {
  it('records each msgid exactly once across batches', () => {
    const a = store.ingest([msg(1), msg(2), msg(3)]);
    expect(a).toMatchObject({ inserted: 3, duplicates: 0 });
    const b = store.ingest([msg(2, { text: 'changed' }), msg(3), msg(4), msg(4)]);
    expect(b).toMatchObject({ inserted: 1, duplicates: 3 });
    expect(store.count()).toBe(4);
    expect(store.get('m2')!.text).toBe('message number 2');
  });

  it('stores account, time, tags, kind, reply and folds the channel', () => {
    store.ingest([
      msg(1, { kind: 'ACTION', text: 'waves', tags: { '+reply': 'm0', time: 'x', '+flag': '' } }),
      msg(2, { kind: 'NOTICE', channel: '#GENERAL', text: 'see https://example.org/x' }),
      msg(3, { text: 'file', tags: { '+alloquy/attachment': 'https://files/x.png' } }),
    ]);
    const page = store.latest('#general', 10);
    expect(page.map((m) => [m.msgid, m.kind, m.channel])).toEqual([
      ['m1', 'ACTION', '#general'],
      ['m2', 'NOTICE', '#general'],
      ['m3', 'PRIVMSG', '#general'],
    ]);
    expect(page[0]).toMatchObject({ account: 'alice', nick: 'Alice', time: T0 + 1000, replyTo: 'm0' });
    expect(page[0]!.tags).toEqual({ '+reply': 'm0', time: 'x', '+flag': '' });
    expect(page[1]!.hasLink).toBe(true);
    expect(page[2]!.hasAttachment).toBe(true);
  });

  it('does not store typing-only TAGMSGs and never pages TAGMSGs', () => {
    const r = store.ingest([
      msg(1),
      msg(2, { kind: 'TAGMSG', tags: { '+typing': 'active' } }),
      msg(3, { kind: 'TAGMSG', tags: { '+draft/react': '👍', '+draft/reply': 'm1' } }),
    ]);
    expect(r).toMatchObject({ inserted: 2, skipped: 1, reactionChanges: 1 });
    expect(ids(store.latest('#general', 10))).toEqual(['m1']);
  });
});

describe('reactions', () => {
  const react = (i: number, account: string, emoji: string, un = false): IngestMessage =>
    msg(i, {
      kind: 'TAGMSG',
      account,
      nick: account,
      tags: { [un ? '+draft/unreact' : '+draft/react']: emoji, '+reply': 'm1' },
    });

  it('adds and removes idempotently, and a replayed TAGMSG applies nothing', () => {
    store.ingest([msg(1)]);
    store.ingest([react(10, 'bob', '👍'), react(11, 'bob', '👍'), react(12, 'carol', '👍'), react(13, 'bob', '🎉')]);
    expect(store.get('m1')!.reactions).toEqual([
      { emoji: '👍', accounts: ['bob', 'carol'] },
      { emoji: '🎉', accounts: ['bob'] },
    ]);
    store.ingest([react(14, 'bob', '👍', true), react(15, 'bob', '👍', true)]);
    // Replay of the original react (same msgid): must not re-add.
    const replay = store.ingest([react(10, 'bob', '👍')]);
    expect(replay).toMatchObject({ duplicates: 1, reactionChanges: 0 });
    expect(store.latest('#general', 1)[0]!.reactions).toEqual([
      { emoji: '👍', accounts: ['carol'] },
      { emoji: '🎉', accounts: ['bob'] },
    ]);
  });
});

describe('paging', () => {
  const N = 10_000;
  beforeEach(() => {
    // Many equal timestamps (10 per second) to exercise the (time, id) ordering.
    const batch: IngestMessage[] = [];
    for (let i = 0; i < N; i++) batch.push(msg(i, { time: T0 + Math.floor(i / 10) * 1000 }));
    for (let i = 0; i < N; i += 500) store.ingest(batch.slice(i, i + 500));
    store.ingest([msg(N + 1, { channel: '#other', time: T0 })]);
  });

  it('latest is newest last', () => {
    expect(ids(store.latest('#general', 3))).toEqual([`m${N - 3}`, `m${N - 2}`, `m${N - 1}`]);
  });

  it('pages backwards and forwards over everything with no gaps or overlaps', () => {
    const seen: string[] = [];
    let page = store.latest('#general', 97);
    while (page.length) {
      seen.unshift(...ids(page));
      page = store.before('#general', { msgid: page[0]!.msgid }, 97)!;
    }
    expect(seen).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));

    const fwd: string[] = [];
    let p = store.after('#general', { time: T0 - 1 }, 89)!;
    while (p.length) {
      fwd.push(...ids(p));
      p = store.after('#general', { msgid: p[p.length - 1]!.msgid }, 89)!;
    }
    expect(fwd).toEqual(seen);
  });

  it('pages by time strictly', () => {
    // Messages 20..29 share T0 + 2000.
    expect(ids(store.before('#general', { time: T0 + 2000 }, 2))).toEqual(['m18', 'm19']);
    expect(ids(store.after('#general', { time: T0 + 2000 }, 2))).toEqual(['m30', 'm31']);
  });

  it('around centres on the message', () => {
    expect(ids(store.around('#general', 'm500', 5))).toEqual(['m498', 'm499', 'm500', 'm501', 'm502']);
    expect(ids(store.around('#general', 'm1', 4))).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(store.around('#general', 'nope', 5)).toBeNull();
    expect(store.around('#general', `m${N + 1}`, 5)).toBeNull(); // other channel
  });

  it('unknown or foreign msgid cursors give null', () => {
    expect(store.before('#general', { msgid: 'nope' }, 5)).toBeNull();
    expect(store.after('#general', { msgid: `m${N + 1}` }, 5)).toBeNull();
  });

  it('uses the partial index', () => {
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT id FROM history_messages m WHERE m.channel = ? AND m.deleted_at IS NULL
         AND m.kind <> 'TAGMSG' AND (m.time, m.id) < (?, ?) ORDER BY m.time DESC, m.id DESC LIMIT 5`,
      )
      .all('#general', 1, 1) as { detail: string }[];
    expect(plan.map((r) => r.detail).join('\n')).toMatch(/history_messages_visible/);
  });
});

describe('edits and deletions', () => {
  beforeEach(() => {
    store.ingest([
      msg(1, { text: 'the quick brown fox' }),
      msg(2, { text: 'lazy dog sleeps' }),
      msg(3, { text: 'another fox appears' }),
      msg(4, { kind: 'TAGMSG', tags: { '+draft/react': '👍', '+reply': 'm2' } }),
    ]);
  });

  it('a deleted message leaves paging, around and search and loses its text and reactions', () => {
    expect(store.delete('m2', 'alice', { time: T0 + 99 })).toBe(true);
    expect(store.delete('m2', 'alice')).toBe(false);
    expect(store.delete('nope', 'alice')).toBe(false);
    expect(ids(store.latest('#general', 10))).toEqual(['m1', 'm3']);
    expect(ids(store.around('#general', 'm2', 3))).toEqual(['m1', 'm3']);
    expect(store.search({ q: 'dog' })).toEqual([]);
    expect(store.search({ q: 'fox' }).map((m) => m.msgid)).toEqual(['m3', 'm1']);
    const gone = store.get('m2')!;
    expect(gone.text).toBe('');
    expect(gone.reactions).toEqual([]);
    // The msgid stays taken.
    expect(store.ingest([msg(2)])).toMatchObject({ duplicates: 1 });
    expect(store.edit('m2', 'resurrect', 'alice')).toBe(false);
  });

  it('an edit is searchable by its new text only', () => {
    expect(store.edit('m1', 'a slow green turtle', 'alice', { time: T0 + 5 })).toBe(true);
    expect(store.search({ q: 'quick' })).toEqual([]);
    expect(store.search({ q: 'turtle' }).map((m) => [m.msgid, m.text, m.editedAt])).toEqual([['m1', 'a slow green turtle', T0 + 5]]);
    expect(store.search({ q: 'fox' }).map((m) => m.msgid)).toEqual(['m3']);
    expect(store.edit('m4', 'tagmsg', 'alice')).toBe(false);
  });

  it('honours the authorize predicate', () => {
    const onlyOwner = (by: string) => (m: { account: string | null }) => m.account === by;
    expect(store.edit('m1', 'hijack', 'mallory', { authorize: onlyOwner('mallory') })).toBe(false);
    expect(store.delete('m1', 'mallory', { authorize: onlyOwner('mallory') })).toBe(false);
    expect(store.get('m1')!.text).toBe('the quick brown fox');
    expect(store.delete('m1', 'alice', { authorize: onlyOwner('alice') })).toBe(true);
  });

  it('keeps the FTS index consistent', () => {
    store.edit('m1', 'x y z', 'alice');
    store.delete('m3', 'alice');
    expect(() => db.exec(`INSERT INTO history_fts(history_fts, rank) VALUES ('integrity-check', 1)`)).not.toThrow();
  });
});

describe('search', () => {
  beforeEach(() => {
    store.ingest([
      msg(1, { text: 'deploy the server tonight', account: 'alice' }),
      msg(2, { text: 'server logs at https://logs.example/1', account: 'bob' }),
      msg(3, { text: 'Server crashed again', account: 'bob', channel: '#ops' }),
      msg(4, { text: 'uploaded the server config', account: 'alice', tags: { '+alloquy/attachment': 'cfg' } }),
      msg(5, { text: 'café déjà vu', account: 'carol' }),
      msg(6, { text: 'nothing here', account: 'carol' }),
    ]);
  });

  const q = (query: Parameters<HistoryStore['search']>[0]) => store.search(query).map((m) => m.msgid);

  it('matches all terms, newest first, case and diacritic insensitive', () => {
    expect(q({ q: 'server' })).toEqual(['m4', 'm3', 'm2', 'm1']);
    expect(q({ q: 'SERVER tonight' })).toEqual(['m1']);
    expect(q({ q: 'cafe deja' })).toEqual(['m5']);
    expect(q({ q: 'serv*' })).toEqual(['m4', 'm3', 'm2', 'm1']);
    expect(q({ q: 'server', limit: 2 })).toEqual(['m4', 'm3']);
  });

  it('filters by channel, sender, time, link and attachment', () => {
    expect(q({ q: 'server', channel: '#OPS' })).toEqual(['m3']);
    expect(q({ q: 'server', channel: '#general', from: 'bob' })).toEqual(['m2']);
    expect(q({ q: 'server', before: T0 + 3000 })).toEqual(['m2', 'm1']);
    expect(q({ q: 'server', after: T0 + 2000 })).toEqual(['m4', 'm3']);
    expect(q({ q: 'server', hasLink: true })).toEqual(['m2']);
    expect(q({ q: 'server', hasAttachment: true })).toEqual(['m4']);
    expect(q({ q: 'server', hasLink: false, hasAttachment: false })).toEqual(['m3', 'm1']);
  });

  it('never throws on hostile input', () => {
    const hostile = [
      '',
      '   ',
      '"',
      '""',
      '"server',
      'server"',
      'NEAR(',
      'NEAR(server logs',
      'server NEAR/2 logs',
      '*',
      '**',
      'server*',
      '*server',
      '-',
      '-server',
      'server -logs',
      'NOT',
      'AND OR NOT',
      '(',
      ')',
      '()',
      'text:server',
      '{text}: server',
      '^server',
      'server +',
      "'; DROP TABLE history_messages; --",
      '\u0000',
      '\uFFFF',
      '🙂',
      '🙂 server',
      '日本語',
      'e\u0301',
      'x'.repeat(5000),
      '" OR "" "',
      'a b c d e f g h i j k l m n o p q r s t u v w x y z',
      'server:*',
      ':',
      '.',
      '\\',
      '%',
      '_',
    ];
    for (const h of hostile) {
      expect(() => store.search({ q: h }), JSON.stringify(h)).not.toThrow();
      expect(() => store.search({ q: h, channel: h, from: h }), JSON.stringify(h)).not.toThrow();
    }
    expect(q({ q: '' })).toEqual([]);
    expect(q({ q: '"server' })).toEqual(['m4', 'm3', 'm2', 'm1']);
    expect(q({ q: 'NEAR(' })).toEqual([]);
    expect(q({ q: '-server' })).toEqual(['m4', 'm3', 'm2', 'm1']);
    expect(store.count()).toBe(6);
  });

  it('quotes terms', () => {
    expect(toFtsQuery('a "b" NEAR( -c d*')).toBe('"a" """b""" "NEAR(" "-c" "d"*');
    expect(toFtsQuery(' * - ( ')).toBeNull();
  });
});

describe('read markers', () => {
  beforeEach(() => {
    store.ingest([
      msg(1, { account: 'bob', nick: 'Bob', text: 'hi alice' }),
      msg(2, { account: 'alice', nick: 'Alice', text: 'hi bob' }),
      msg(3, { account: 'bob', nick: 'Bob', text: 'Alice: ping' }),
      msg(4, { account: 'bob', nick: 'Bob', text: 'malice is not a mention, nor alice_ or [alice]x' }),
      msg(5, { account: null, nick: 'guest', text: 'ALICE?' }),
    ]);
  });

  it('counts unread and mentions after the marker, not own messages', () => {
    expect(store.getReadMarker('alice', '#general')).toBeNull();
    expect(store.unreadCount('alice', '#general')).toBe(4);
    expect(store.mentionCount('alice', '#general', 'alice')).toBe(3);
    expect(store.setReadMarker('alice', '#General', { msgid: 'm3' })).toBe(true);
    expect(store.getReadMarker('alice', '#general')).toEqual({ msgid: 'm3', time: T0 + 3000 });
    expect(store.unreadCount('alice', '#general')).toBe(2);
    expect(store.mentionCount('alice', '#general', 'Alice')).toBe(1);
    expect(store.unreadCount('bob', '#general')).toBe(2); // m2 (alice) and m5 (guest)
  });

  it('only moves forward and rejects unknown msgids', () => {
    expect(store.setReadMarker('alice', '#general', { msgid: 'm4' })).toBe(true);
    expect(store.setReadMarker('alice', '#general', { msgid: 'm2' })).toBe(false);
    expect(store.setReadMarker('alice', '#general', { msgid: 'm4' })).toBe(false);
    expect(store.setReadMarker('alice', '#general', { msgid: 'nope' })).toBe(false);
    expect(store.setReadMarker('alice', '#other', { msgid: 'm5' })).toBe(false);
    expect(store.setReadMarker('alice', '#general', { time: T0 + 5000 })).toBe(true);
    expect(store.unreadCount('alice', '#general')).toBe(0);
  });

  it('deleted messages are not unread', () => {
    store.delete('m5', 'guest');
    expect(store.unreadCount('alice', '#general')).toBe(3);
  });
});

describe('durability', () => {
  it('committed data survives close and reopen without an explicit checkpoint', () => {
    const path = join(dir, 'control.db');
    store.ingest([msg(1), msg(2)]);
    db.close();
    db = openControlDatabase(path);
    store = new HistoryStore(db);
    expect(ids(store.latest('#general', 10))).toEqual(['m1', 'm2']);
    expect(store.search({ q: 'number' })).toHaveLength(2);
  });

  it('survives a kill: the files as left by a live writer (WAL not checkpointed) reopen intact', () => {
    const path = join(dir, 'control.db');
    db.pragma('wal_autocheckpoint = 0');
    for (let b = 0; b < 10; b++) store.ingest(Array.from({ length: 100 }, (_, i) => msg(b * 100 + i)));
    store.delete('m5', 'alice');
    // Snapshot the files while the connection is still open, as a crash would leave them.
    const crash = join(dir, 'crash.db');
    copyFileSync(path, crash);
    expect(existsSync(`${path}-wal`)).toBe(true);
    copyFileSync(`${path}-wal`, `${crash}-wal`);
    const db2 = openControlDatabase(crash);
    try {
      const s2 = new HistoryStore(db2);
      expect(s2.count()).toBe(1000);
      expect(s2.latest('#general', 1)[0]!.msgid).toBe('m999');
      expect(s2.search({ q: '5' }).map((m) => m.msgid)).not.toContain('m5');
    } finally {
      db2.close();
    }
  });
});

describe('record: messages, edits and deletions in one transaction', () => {
  it('applies ops in order, so an edit or delete may follow its message in the same batch', () => {
    const r = store.record([
      { op: 'ingest', message: msg(1, { text: 'first draft' }) },
      { op: 'edit', msgid: 'm1', text: 'final text', by: 'alice', time: T0 + 5 },
      { op: 'ingest', message: msg(2) },
      { op: 'delete', msgid: 'm2', by: 'alice', time: T0 + 6 },
      { op: 'edit', msgid: 'nope', text: 'x', by: 'alice', time: T0 + 7 },
      { op: 'delete', msgid: 'm1', by: 'mallory', time: T0 + 8, authorize: (m) => m.account === 'mallory' },
      { op: 'ingest', message: msg(1) },
    ]);
    expect(r).toEqual({ inserted: 2, duplicates: 1, skipped: 0, reactionChanges: 0, edits: 1, deletions: 1, refused: 2 });
    expect(store.latest('#general', 10).map((m) => [m.msgid, m.text, m.editedAt])).toEqual([['m1', 'final text', T0 + 5]]);
    expect(store.search({ q: 'final' }).map((m) => m.msgid)).toEqual(['m1']);
  });

  it('commits all or nothing', () => {
    const poisoned = { op: 'ingest', message: { ...msg(3), kind: 'BOGUS' } } as never;
    expect(() => store.record([{ op: 'ingest', message: msg(1) }, poisoned])).toThrow();
    expect(store.count()).toBe(0);
  });
});

describe('reactions need a live target in the same channel', () => {
  const react = (i: number, target: string, channel = '#general'): IngestMessage =>
    msg(i, { kind: 'TAGMSG', channel, account: 'bob', nick: 'bob', tags: { '+draft/react': '👍', '+reply': target } });

  it('ignores reactions to unknown, foreign, deleted or TAGMSG targets, and reply-only TAGMSGs', () => {
    store.ingest([msg(1), msg(2, { channel: '#secret' }), msg(3)]);
    store.delete('m3', 'alice');
    const r = store.ingest([
      react(10, 'm1'),
      react(11, 'm2'), // m2 lives in #secret
      react(12, 'm3'), // deleted
      react(13, 'nope'),
      react(14, 'm10'), // a TAGMSG
      msg(15, { kind: 'TAGMSG', tags: { '+reply': 'm1' } }),
    ]);
    expect(r).toMatchObject({ inserted: 5, skipped: 1, reactionChanges: 1 });
    expect(store.get('m1')!.reactions).toEqual([{ emoji: '👍', accounts: ['bob'] }]);
    expect(store.get('m2')!.reactions).toEqual([]);
  });
});

describe('around a time, between two cursors, search over a channel list', () => {
  beforeEach(() => {
    store.ingest(Array.from({ length: 20 }, (_, i) => msg(i, { channel: i % 2 ? '#odd' : '#general' })));
  });

  it('around a time centres on it and fills up at the ends', () => {
    // #general holds m0, m2, ..., m18 at T0 + i*1000.
    expect(ids(store.around('#general', { time: T0 + 10_000 }, 4))).toEqual(['m8', 'm10', 'm12', 'm14']);
    expect(ids(store.around('#general', { time: T0 + 10_500 }, 4))).toEqual(['m8', 'm10', 'm12', 'm14']);
    expect(ids(store.around('#general', { time: T0 + 99_000 }, 3))).toEqual(['m14', 'm16', 'm18']);
    expect(ids(store.around('#general', { time: 0 }, 3))).toEqual(['m0', 'm2', 'm4']);
  });

  it('between is exclusive on both sides', () => {
    expect(ids(store.between('#general', { msgid: 'm4' }, { msgid: 'm12' }, 10))).toEqual(['m6', 'm8', 'm10']);
    expect(ids(store.between('#general', { time: T0 + 4000 }, { time: T0 + 12_000 }, 2))).toEqual(['m6', 'm8']);
    expect(store.between('#general', { msgid: 'm1' }, { msgid: 'm12' }, 10)).toBeNull();
  });

  it('search with a channel list only looks there', () => {
    expect(store.search({ q: 'message', channels: ['#ODD'], limit: 3 }).map((m) => m.msgid)).toEqual(['m19', 'm17', 'm15']);
    expect(store.search({ q: 'message', channels: [] })).toEqual([]);
    expect(store.search({ q: 'message', channels: ['#general', '#odd'] })).toHaveLength(20);
  });
});

describe('unreadSummary', () => {
  it('counts unread and mentions like the single counts, up to a cap', () => {
    store.ingest([
      ...Array.from({ length: 10 }, (_, i) => msg(i, { account: 'bob', nick: 'Bob', text: i % 3 === 0 ? 'hey alice' : 'hello' })),
      msg(10, { account: 'alice', text: 'alice talking' }),
    ]);
    expect(store.unreadSummary('alice', '#general', 'alice')).toEqual({ unread: 10, mentions: 4, capped: false });
    expect(store.unreadSummary('alice', '#general', 'alice', 10)).toEqual({ unread: 10, mentions: 4, capped: false });
    // The newest five: m5..m9, of which m6 and m9 mention alice.
    expect(store.unreadSummary('alice', '#general', 'alice', 5)).toEqual({ unread: 5, mentions: 2, capped: true });
    store.setReadMarker('alice', '#general', { msgid: 'm6' });
    expect(store.unreadSummary('alice', '#general', 'alice')).toEqual({ unread: 3, mentions: 1, capped: false });
    expect(store.unreadCount('alice', '#general')).toBe(3);
  });
});

describe('a channel renamed or deleted in the guild', () => {
  const react = (i: number, emoji: string, target: string): IngestMessage =>
    msg(i, { kind: 'TAGMSG', account: 'bob', nick: 'bob', tags: { '+draft/react': emoji, '+reply': target } });

  beforeEach(() => {
    store.ingest([msg(1), msg(2), msg(3, { channel: '#other' }), react(4, '👍', 'm1')]);
    store.ingest([react(6, '👍', 'm3')].map((m) => ({ ...m, channel: '#other' })));
    store.setReadMarker('alice', '#general', { msgid: 'm2' });
    store.setReadMarker('alice', '#other', { msgid: 'm3' });
  });

  it('renameChannel moves messages, reactions and read markers to the new name, folding both names', () => {
    store.renameChannel('#General', '#Lobby');
    expect(store.latest('#general', 10)).toEqual([]);
    expect(ids(store.latest('#lobby', 10))).toEqual(['m1', 'm2']);
    expect(store.get('m1')!.reactions).toEqual([{ emoji: '👍', accounts: ['bob'] }]);
    expect(store.getReadMarker('alice', '#lobby')).toEqual({ msgid: 'm2', time: T0 + 2000 });
    expect(store.getReadMarker('alice', '#general')).toBeNull();
    // Another channel is untouched.
    expect(ids(store.latest('#other', 10))).toEqual(['m3']);
    expect(store.getReadMarker('alice', '#other')).toEqual({ msgid: 'm3', time: T0 + 3000 });
  });

  it('forgetChannel deletes its messages, their reactions and its read markers, and nothing else', () => {
    store.forgetChannel('#GENERAL');
    expect(store.get('m1')).toBeNull();
    expect(store.get('m4')).toBeNull();
    expect(db.prepare("SELECT count(*) FROM history_reactions WHERE msgid = 'm1'").pluck().get()).toBe(0);
    expect(store.getReadMarker('alice', '#general')).toBeNull();
    expect(store.get('m3')!.reactions).toEqual([{ emoji: '👍', accounts: ['bob'] }]);
    expect(store.getReadMarker('alice', '#other')).not.toBeNull();
    // The FTS index lost the deleted rows with them.
    expect(store.search({ q: 'message' }).map((m) => m.msgid)).toEqual(['m3']);
  });

  it("inside a caller's transaction, rolls back with it", () => {
    expect(() =>
      db.transaction(() => {
        store.renameChannel('#general', '#lobby');
        store.forgetChannel('#other');
        throw new Error('the guild write failed');
      })(),
    ).toThrow('the guild write failed');
    expect(ids(store.latest('#general', 10))).toEqual(['m1', 'm2']);
    expect(ids(store.latest('#other', 10))).toEqual(['m3']);
    expect(store.getReadMarker('alice', '#general')).not.toBeNull();
  });
});
