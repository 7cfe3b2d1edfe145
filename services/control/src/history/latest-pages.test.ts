import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openControlDatabase, type Db } from '../store/database.js';
import { HistoryStore, type IngestMessage } from './store.js';

/**
 * latest() keeps the newest pages while the database is unchanged: every read must still see
 * every write, whichever module or process made it.
 */

let dir: string;
let db: Db;
let store: HistoryStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'alloquy-latest-'));
  db = openControlDatabase(join(dir, 'control.db'));
  store = new HistoryStore(db);
  store.ingest([msg(1), msg(2), msg(3)]);
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = 1_700_000_000_000;

function msg(i: number, over: Partial<IngestMessage> = {}): IngestMessage {
  return { msgid: `m${i}`, channel: '#general', account: 'alice', nick: 'alice', kind: 'PRIVMSG', time: T0 + i * 1000, text: `message ${i}`, ...over };
}

const ids = (page: { msgid: string }[]) => page.map((m) => m.msgid);

describe('HistoryStore.latest, read again', () => {
  it('hands out one frozen page per channel and size until something is written', () => {
    const page = store.latest('#general', 2);
    expect(ids(page)).toEqual(['m2', 'm3']);
    expect(store.latest('#GENERAL', 2)).toBe(page);
    expect(ids(store.latest('#general', 10))).toEqual(['m1', 'm2', 'm3']);
    expect(() => page.push(page[0]!)).toThrow(TypeError);
    expect(() => {
      page[0]!.text = 'changed';
    }).toThrow(TypeError);
    expect(() => {
      page[0]!.tags.extra = '';
    }).toThrow(TypeError);
  });

  it('sees every write of its own connection: messages, reactions, edits, deletions, renames', () => {
    const before = store.latest('#general', 10);
    store.ingest([msg(4)]);
    expect(ids(store.latest('#general', 10))).toEqual(['m1', 'm2', 'm3', 'm4']);

    store.ingest([
      { msgid: 'r1', channel: '#general', account: 'bob', nick: 'bob', kind: 'TAGMSG', time: T0 + 5000, tags: { '+draft/react': '👍', '+reply': 'm4' } },
    ]);
    expect(store.latest('#general', 1)[0]!.reactions).toEqual([{ emoji: '👍', accounts: ['bob'] }]);

    store.edit('m4', 'edited', 'alice', { time: T0 + 6000 });
    expect(store.latest('#general', 1)[0]!.text).toBe('edited');

    store.delete('m4', 'alice', { time: T0 + 7000 });
    expect(ids(store.latest('#general', 10))).toEqual(['m1', 'm2', 'm3']);

    store.renameChannel('#general', '#lobby');
    expect(store.latest('#general', 10)).toEqual([]);
    expect(ids(store.latest('#lobby', 10))).toEqual(['m1', 'm2', 'm3']);
    expect(ids(before)).toEqual(['m1', 'm2', 'm3']);
  });

  it('sees what another connection committed (another process: HistServ elsewhere, the CLI)', () => {
    const page = store.latest('#general', 10);
    const other = openControlDatabase(join(dir, 'control.db'));
    try {
      new HistoryStore(other).ingest([msg(9)]);
    } finally {
      other.close();
    }
    const fresh = store.latest('#general', 10);
    expect(fresh).not.toBe(page);
    expect(ids(fresh)).toEqual(['m1', 'm2', 'm3', 'm9']);
  });
});
