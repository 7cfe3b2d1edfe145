import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES, RequestLimiter, formatMessage, histservReply, splitUtf8 } from '../../src/histserv/commands.js';
import { HistoryStore, type IngestMessage } from '../../src/history/store.js';
import { openControlDatabase, type Db } from '../../src/store/database.js';
import { guildSnapshot } from './guild-fixture.js';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const NOW = T0 + 86_400_000;
const snapshot = guildSnapshot();

let db: Db;
let store: HistoryStore;

beforeEach(() => {
  db = openControlDatabase(':memory:');
  store = new HistoryStore(db);
});
afterEach(() => db.close());

function msg(i: number, over: Partial<IngestMessage> = {}): IngestMessage {
  return { msgid: `m${i}`, channel: '#general', account: 'bob', nick: 'bob', kind: 'PRIVMSG', time: T0 + i * 1000, text: `line ${i}`, ...over };
}

const ask = (text: string, account: string | null = 'alice') => histservReply({ account, nick: account ?? 'guest', text }, snapshot, store, NOW);

describe('HELP and bad input', () => {
  it('answers HELP (and an empty line) with the command list', () => {
    const help = ask('help');
    expect(help[0]).toMatch(/HistServ/);
    expect(help.join('\n')).toMatch(/HISTORY #channel \[count\] \[BEFORE <msgid\|time>\]/);
    expect(help.join('\n')).toMatch(/SEARCH #channel <words>/);
    expect(ask('   ')).toEqual(help);
  });

  it('names an unknown command and shows usage for bad arguments', () => {
    expect(ask('FROBNICATE #general')).toEqual(['Unknown command "FROBNICATE". /msg HistServ HELP lists the commands.']);
    expect(ask('HISTORY')).toEqual(['Usage: HISTORY #channel [count] [BEFORE <msgid|time>]']);
    expect(ask('HISTORY general')).toEqual(['Usage: HISTORY #channel [count] [BEFORE <msgid|time>]']);
    expect(ask('HISTORY #general 5 BEFORE')).toEqual(['Usage: HISTORY #channel [count] [BEFORE <msgid|time>]']);
    expect(ask('HISTORY #general 5 extra')).toEqual(['Usage: HISTORY #channel [count] [BEFORE <msgid|time>]']);
    expect(ask('SEARCH #general')).toEqual(['Usage: SEARCH #channel <words>']);
    expect(ask('HISTORY #general 5 BEFORE 2025-13-45')[0]).toMatch(/not a valid time/);
  });
});

describe('who may read', () => {
  beforeEach(() => {
    store.ingest([msg(1), msg(2, { channel: '#secret', text: 'secret line' }), msg(3, { channel: '#noread' })]);
  });

  it('politely refuses users without an account', () => {
    expect(ask('HISTORY #general', null)).toEqual(['Sorry, history is only for members: log in to your account (SASL) and ask again.']);
    expect(ask('SEARCH #general line', null)).toHaveLength(1);
  });

  it('answers a private channel, a channel without READ_HISTORY and a missing one alike', () => {
    const refusal = (name: string) => [`You may not read the history of ${name}, or there is no such channel.`];
    expect(ask('HISTORY #secret')).toEqual(refusal('#secret'));
    expect(ask('SEARCH #secret secret')).toEqual(refusal('#secret'));
    expect(ask('HISTORY #noread')).toEqual(refusal('#noread'));
    expect(ask('HISTORY #nowhere')).toEqual(refusal('#nowhere'));
    expect(ask('HISTORY #general', 'stranger')).toEqual(refusal('#general'));
    // bob has a member overwrite for #secret
    expect(ask('HISTORY #secret', 'bob')).toContain('[2025-03-01 12:00:02] <bob> secret line');
  });
});

describe('HISTORY', () => {
  beforeEach(() => {
    store.ingest(Array.from({ length: 120 }, (_, i) => msg(i)));
  });

  it('shows the newest lines oldest first, and how to get older ones', () => {
    const reply = ask('HISTORY #General 3');
    expect(reply).toEqual([
      '#general: 3 messages, oldest first (times UTC):',
      '[2025-03-01 12:01:57] <bob> line 117',
      '[2025-03-01 12:01:58] <bob> line 118',
      '[2025-03-01 12:01:59] <bob> line 119',
      'Older: /msg HistServ HISTORY #general 3 BEFORE m117',
    ]);
    expect(ask('history #general 3 before m117').slice(1, 4)).toEqual([
      '[2025-03-01 12:01:54] <bob> line 114',
      '[2025-03-01 12:01:55] <bob> line 115',
      '[2025-03-01 12:01:56] <bob> line 116',
    ]);
  });

  it('defaults to 20 lines, allows at most 50, and pages to the very beginning', () => {
    expect(ask('HISTORY #general')).toHaveLength(22);
    expect(ask('HISTORY #general 500')).toHaveLength(52);
    expect(ask('HISTORY #general 0')).toHaveLength(3);
    const seen: string[] = [];
    let reply = ask('HISTORY #general 50');
    for (;;) {
      seen.unshift(...reply.slice(1, -1));
      const older = /BEFORE (\S+)$/.exec(reply.at(-1)!);
      if (!older) break;
      reply = ask(`HISTORY #general 50 BEFORE ${older[1]}`);
    }
    expect(reply.at(-1)).toBe('End of the history of #general.');
    expect(seen).toHaveLength(120);
    expect(seen[0]).toBe('[2025-03-01 12:00:00] <bob> line 0');
  });

  it('pages before a time (UTC) and says when there is nothing', () => {
    expect(ask('HISTORY #general 2 BEFORE 2025-03-01T12:00:05').slice(1, 3)).toEqual([
      '[2025-03-01 12:00:03] <bob> line 3',
      '[2025-03-01 12:00:04] <bob> line 4',
    ]);
    expect(ask('HISTORY #general 2 BEFORE 2025-03-01')).toEqual(['No older messages in #general.']);
    expect(ask('HISTORY #general 2 BEFORE nope')).toEqual(['There is no message nope in #general.']);
    db.exec('DELETE FROM history_messages');
    expect(ask('HISTORY #general')).toEqual(['#general has no history yet.']);
  });

  it('leaves deleted messages out', () => {
    store.delete('m119', 'bob');
    expect(ask('HISTORY #general 1')[1]).toBe('[2025-03-01 12:01:58] <bob> line 118');
  });
});

describe('SEARCH', () => {
  beforeEach(() => {
    store.ingest([
      msg(1, { text: 'the deploy failed' }),
      msg(2, { text: 'deploying again', account: 'alice', nick: 'Alice' }),
      msg(3, { text: 'deploy worked', channel: '#secret' }),
      msg(4, { text: 'removed deploy' }),
    ]);
    store.delete('m4', 'bob');
  });

  it('finds matches newest first in that channel only', () => {
    expect(ask('SEARCH #general deploy*')).toEqual([
      '#general: 2 messages matching "deploy*", newest first:',
      '[2025-03-01 12:00:02] <Alice> deploying again',
      '[2025-03-01 12:00:01] <bob> the deploy failed',
      'End of results.',
    ]);
    expect(ask('SEARCH #general deploy failed')).toHaveLength(3);
    expect(ask('SEARCH #general "NEAR(')).toEqual(['No messages in #general match ""NEAR(".']);
    expect(ask('SEARCH #general removed')).toEqual(['No messages in #general match "removed".']);
  });
});

describe('formatting', () => {
  it('shows actions, notices, replies, edits and reactions', () => {
    store.ingest([
      msg(1, { text: 'original', nick: 'Bobby' }),
      msg(2, { kind: 'ACTION', text: 'waves' }),
      msg(3, { kind: 'NOTICE', text: 'heads up' }),
      msg(4, { text: 'answer', tags: { '+draft/reply': 'm1' } }),
      msg(5, { kind: 'TAGMSG', account: 'carol', tags: { '+draft/react': '👍', '+reply': 'm1' } }),
      msg(6, { text: 'lost parent', tags: { '+reply': 'gone' } }),
    ]);
    store.edit('m1', 'corrected', 'bob');
    const lines = store.latest('#general', 10).map((m) => formatMessage(m, store));
    expect(lines).toEqual([
      '[2025-03-01 12:00:01] <Bobby> corrected (edited) [👍 1]',
      '[2025-03-01 12:00:02] * bob waves',
      '[2025-03-01 12:00:03] -bob- heads up',
      '[2025-03-01 12:00:04] <bob> answer (in reply to Bobby)',
      '[2025-03-01 12:00:06] <bob> lost parent (in reply to an earlier message)',
    ]);
  });

  it('keeps every line within the byte limit without cutting a character', () => {
    store.ingest([msg(1, { text: 'ü€😀'.repeat(120) })]);
    const reply = ask('HISTORY #general 1');
    const body = reply.slice(1, -1);
    expect(body.length).toBeGreaterThan(1);
    for (const l of reply) expect(Buffer.byteLength(l, 'utf8')).toBeLessThanOrEqual(MAX_LINE_BYTES);
    expect(body.join('')).toBe(`[2025-03-01 12:00:01] <bob> ${'ü€😀'.repeat(120)}`);
    expect(splitUtf8('😀😀😀', 5)).toEqual(['😀', '😀', '😀']);
  });
});

describe('RequestLimiter', () => {
  it('serves a burst, warns once, stays silent, then refills', () => {
    const limiter = new RequestLimiter(3, 1000);
    const t = 1_000_000;
    expect([limiter.take('a', t), limiter.take('a', t), limiter.take('a', t)]).toEqual(['ok', 'ok', 'ok']);
    expect(limiter.take('a', t)).toBe('limited');
    expect(limiter.waitSeconds('a')).toBe(1);
    expect(limiter.take('a', t + 100)).toBe('silent');
    expect(limiter.take('b', t)).toBe('ok');
    expect(limiter.take('a', t + 1000)).toBe('ok');
    expect(limiter.take('a', t + 1000)).toBe('limited');
    expect([limiter.take('a', t + 10_000), limiter.take('a', t + 10_000), limiter.take('a', t + 10_000)]).toEqual(['ok', 'ok', 'ok']);
  });
});
