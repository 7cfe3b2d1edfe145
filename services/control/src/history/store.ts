import type Database from 'better-sqlite3';
import { REACT_TAG, UNREACT_TAG, foldCase, replyTarget } from '@alloquy/protocol/irc';
// Channel names fold as the hub compares them (its CASEMAPPING), exactly as the link does.

/**
 * Message history storage (HistServ's persistence), pure of IRC: callers hand it already-parsed
 * messages. Schema: migration 3 in store/migrations.ts.
 *
 * Ordering: messages are ordered by (time, id), id being the ingest order, so two messages with
 * the same server time keep their arrival order. Every page is returned oldest first (newest last).
 *
 * Visibility: paging, search and unread/mention counts see PRIVMSG, NOTICE and ACTION rows that
 * are not deleted. TAGMSG rows are recorded (exactly once per msgid) for their reactions but are
 * never returned by paging. A TAGMSG is recorded only when it reacts or unreacts to a message
 * (`+draft/react` or `+draft/unreact` with `+reply`/`+draft/reply` naming the target); typing
 * notifications and other tag-only traffic are skipped. A reaction applies only to a target that
 * is recorded in the same channel and not deleted.
 *
 * Authorization is the caller's: edit() and delete() take an optional predicate over the stored
 * message and apply nothing when it returns false; without one, they apply unconditionally.
 */

export type MessageKind = 'PRIVMSG' | 'NOTICE' | 'ACTION' | 'TAGMSG';

/** IRCv3 message tags; a valueless tag has the value ''. */
export type MessageTags = Readonly<Record<string, string>>;

export interface IngestMessage {
  msgid: string;
  /** Channel name as seen on the wire; the store folds it. */
  channel: string;
  /** Sender's account, null when not logged in. */
  account: string | null;
  nick: string;
  kind: MessageKind;
  /** Server time, Unix milliseconds. */
  time: number;
  /** Message text (for ACTION, without the CTCP wrapping). Ignored for TAGMSG. */
  text?: string;
  tags?: MessageTags;
  /** Overrides link detection (default: an http(s):// or www. URL in the text). */
  hasLink?: boolean;
  /** Overrides attachment detection (default: see {@link detectAttachment}). */
  hasAttachment?: boolean;
}

export interface Reaction {
  emoji: string;
  /** Reactors' accounts (nick when not logged in), in reaction order. */
  accounts: string[];
}

export interface HistoryMessage {
  msgid: string;
  channel: string;
  account: string | null;
  nick: string;
  kind: MessageKind;
  time: number;
  text: string;
  tags: Record<string, string>;
  replyTo: string | null;
  hasLink: boolean;
  hasAttachment: boolean;
  editedAt: number | null;
  reactions: Reaction[];
}

/** A paging position: a message (by msgid) or an instant (Unix ms). */
export type Cursor = { msgid: string } | { time: number };

/**
 * One step of a recorded batch, applied in order in one transaction by {@link HistoryStore.record}:
 * a message to record, or an edit or deletion of a recorded one (see edit() and delete()).
 */
export type HistoryOp =
  | { op: 'ingest'; message: IngestMessage }
  | { op: 'edit'; msgid: string; text: string; by: string; time: number; authorize?: Authorize }
  | { op: 'delete'; msgid: string; by: string; time: number; authorize?: Authorize };

export interface RecordResult extends IngestResult {
  edits: number;
  deletions: number;
  /** Edits and deletions not applied: unknown or deleted target, a TAGMSG target, or refused by `authorize`. */
  refused: number;
}

export interface UnreadSummary {
  /** Unread visible messages by others, counted up to the cap. */
  unread: number;
  /** Of those, the ones mentioning the nick. */
  mentions: number;
  /** True when there are more unread messages than the cap (counts stop there). */
  capped: boolean;
}

export interface IngestResult {
  /** Rows newly recorded. */
  inserted: number;
  /** Messages whose msgid was already recorded (nothing applied). */
  duplicates: number;
  /** TAGMSGs without anything to record (typing notifications and the like). */
  skipped: number;
  /** Reactions added or removed. */
  reactionChanges: number;
}

export interface SearchQuery {
  /** Free text. Every whitespace-separated term must match (prefix match with a trailing `*`). */
  q: string;
  channel?: string;
  /** Only these channels (an empty list matches nothing). Combines with `channel`. */
  channels?: readonly string[];
  /** Sender account. */
  from?: string;
  /** Only messages strictly before / after this time (Unix ms). */
  before?: number;
  after?: number;
  hasLink?: boolean;
  hasAttachment?: boolean;
  /** Default 25, at most 100. */
  limit?: number;
}

export type Authorize = (message: HistoryMessage) => boolean;

export const MAX_PAGE = 1000;
export const MAX_SEARCH = 100;

const LINK_RE = /(?:\bhttps?:\/\/|\bwww\.)[^\s]+/i;
export function detectLink(text: string): boolean {
  return LINK_RE.test(text);
}

/** True when a tag named `…attachment` or `…attachments` (e.g. `+alloquy/attachment`) is present. */
export function detectAttachment(tags: MessageTags): boolean {
  return Object.keys(tags).some((k) => /(?:^|[/+])attachments?$/i.test(k));
}

/**
 * Turns user input into an FTS5 query that cannot be a syntax error: each whitespace-separated
 * term becomes a double-quoted string (inner quotes doubled), so operators (AND, OR, NOT, NEAR,
 * column filters, parentheses, ^, -) are plain text. A trailing `*` on a term is kept as a prefix
 * match. Terms with no letters or digits are dropped (the tokenizer would drop them anyway).
 * Returns null when nothing searchable is left.
 */
export function toFtsQuery(input: string): string | null {
  const parts: string[] = [];
  for (const raw of input.split(/\s+/u)) {
    let term = raw;
    let prefix = false;
    if (term.endsWith('*')) {
      term = term.replace(/\*+$/u, '');
      prefix = true;
    }
    if (!/[\p{L}\p{N}]/u.test(term)) continue;
    parts.push(`"${term.replace(/"/g, '""')}"${prefix ? '*' : ''}`);
    if (parts.length >= 16) break;
  }
  return parts.length ? parts.join(' ') : null;
}

const NICK_CHAR = '[\\p{L}\\p{N}_\\-\\[\\]\\\\`^{}|]';
function mentionRegex(nick: string): RegExp {
  const escaped = nick.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<!${NICK_CHAR})${escaped}(?!${NICK_CHAR})`, 'iu');
}

interface Row {
  id: number;
  msgid: string;
  channel: string;
  account: string | null;
  nick: string;
  kind: MessageKind;
  time: number;
  text: string;
  tags: string;
  reply_to: string | null;
  has_link: number;
  has_attachment: number;
  edited_at: number | null;
  deleted_at: number | null;
}

interface Position {
  time: number;
  id: number;
}

const COLUMNS =
  'm.id, m.msgid, m.channel, m.account, m.nick, m.kind, m.time, m.text, m.tags, m.reply_to, m.has_link, m.has_attachment, m.edited_at, m.deleted_at';
/** Matches the partial index history_messages_visible (must be spelled the same to use it). */
const VISIBLE = `m.deleted_at IS NULL AND m.kind <> 'TAGMSG'`;

const MAX_CACHED_PAGES = 256;

/** A page and everything in it, frozen: it may be handed to several callers (a change throws). */
function freezePage(page: HistoryMessage[]): HistoryMessage[] {
  for (const m of page) {
    Object.freeze(m.tags);
    for (const r of m.reactions) Object.freeze(Object.freeze(r).accounts);
    Object.freeze(m.reactions);
    Object.freeze(m);
  }
  Object.freeze(page);
  return page;
}

function clampLimit(limit: number, max: number): number {
  if (!Number.isFinite(limit)) return max;
  return Math.max(0, Math.min(max, Math.floor(limit)));
}

export class HistoryStore {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly searchStmts = new Map<string, Database.Statement>();
  /**
   * Newest pages by size and channel (the read every client makes on opening a channel), kept
   * while the database is unchanged: `writeMark` (this connection's row changes, and
   * data_version for every other connection's commits) is checked on each read.
   */
  private readonly latestPages = new Map<string, HistoryMessage[]>();
  private pagesMark: readonly [number, number] = [-1, -1];
  private readonly ingestTx: (batch: readonly IngestMessage[]) => IngestResult;
  private readonly recordTx: (ops: readonly HistoryOp[]) => RecordResult;

  constructor(db: Database.Database) {
    this.db = db;
    const mentionCache = new Map<string, RegExp>();
    db.function('history_mentions', { deterministic: true }, (text: unknown, nick: unknown) => {
      if (typeof text !== 'string' || typeof nick !== 'string' || nick === '') return 0;
      let re = mentionCache.get(nick);
      if (!re) {
        if (mentionCache.size > 1000) mentionCache.clear();
        re = mentionRegex(nick);
        mentionCache.set(nick, re);
      }
      return re.test(text) ? 1 : 0;
    });
    const p = (sql: string) => db.prepare(sql);
    this.stmts = {
      insert: p(`INSERT INTO history_messages
          (msgid, channel, account, nick, kind, time, text, tags, reply_to, has_link, has_attachment)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT(msgid) DO NOTHING`),
      // A reaction needs a live target in the reacting channel: nobody reacts into a channel
      // they are not in, and a deleted message collects nothing.
      react: p(`INSERT INTO history_reactions (msgid, account, emoji, time)
          SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM history_messages t
            WHERE t.msgid = ? AND t.channel = ? AND t.deleted_at IS NULL AND t.kind <> 'TAGMSG')
          ON CONFLICT DO NOTHING`),
      unreact: p('DELETE FROM history_reactions WHERE msgid = ? AND account = ? AND emoji = ?'),
      byMsgid: p(`SELECT ${COLUMNS} FROM history_messages m WHERE m.msgid = ?`),
      latest: p(`SELECT ${COLUMNS} FROM history_messages m INDEXED BY history_messages_visible
          WHERE m.channel = ? AND ${VISIBLE} ORDER BY m.time DESC, m.id DESC LIMIT ?`),
      beforePos: p(`SELECT ${COLUMNS} FROM history_messages m INDEXED BY history_messages_visible
          WHERE m.channel = ? AND ${VISIBLE} AND (m.time, m.id) < (?, ?)
          ORDER BY m.time DESC, m.id DESC LIMIT ?`),
      afterPos: p(`SELECT ${COLUMNS} FROM history_messages m INDEXED BY history_messages_visible
          WHERE m.channel = ? AND ${VISIBLE} AND (m.time, m.id) > (?, ?)
          ORDER BY m.time ASC, m.id ASC LIMIT ?`),
      betweenPos: p(`SELECT ${COLUMNS} FROM history_messages m INDEXED BY history_messages_visible
          WHERE m.channel = ? AND ${VISIBLE} AND (m.time, m.id) > (?, ?) AND (m.time, m.id) < (?, ?)
          ORDER BY m.time ASC, m.id ASC LIMIT ?`),
      reactions: p(`SELECT msgid, emoji, account FROM history_reactions
          WHERE msgid IN (SELECT value FROM json_each(?)) ORDER BY msgid, time`),
      edit: p(`UPDATE history_messages SET text = ?, has_link = ?, edited_at = ?, edited_by = ?
          WHERE id = ? AND deleted_at IS NULL`),
      delete: p(`UPDATE history_messages SET text = '', tags = '{}', has_link = 0, has_attachment = 0,
          deleted_at = ?, deleted_by = ? WHERE id = ? AND deleted_at IS NULL`),
      deleteReactions: p('DELETE FROM history_reactions WHERE msgid = ?'),
      getMarker: p(`SELECT msgid, time, message_id AS id FROM history_read_markers
          WHERE account = ? AND channel = ?`),
      setMarker: p(`INSERT INTO history_read_markers (account, channel, msgid, time, message_id, updated_at)
          VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT(account, channel) DO UPDATE SET msgid = excluded.msgid, time = excluded.time,
            message_id = excluded.message_id, updated_at = excluded.updated_at`),
      unread: p(`SELECT count(*) FROM history_messages m INDEXED BY history_messages_visible
          WHERE m.channel = ? AND ${VISIBLE} AND (m.time, m.id) > (?, ?) AND m.account IS NOT ?`),
      mentions: p(`SELECT count(*) FROM history_messages m INDEXED BY history_messages_visible
          WHERE m.channel = ? AND ${VISIBLE} AND (m.time, m.id) > (?, ?) AND m.account IS NOT ?
            AND history_mentions(m.text, ?)`),
      // Counts over the newest `cap + 1` unread rows only: a never-read channel of a million
      // messages must not cost a million regex calls.
      unreadSummary: p(`SELECT count(*) AS unread, coalesce(sum(history_mentions(u.text, ?)), 0) AS mentions FROM (
          SELECT m.text FROM history_messages m INDEXED BY history_messages_visible
          WHERE m.channel = ? AND ${VISIBLE} AND (m.time, m.id) > (?, ?) AND m.account IS NOT ?
          ORDER BY m.time DESC, m.id DESC LIMIT ?) u`),
      count: p('SELECT count(*) FROM history_messages'),
      writeMark: p('SELECT total_changes(), data_version FROM pragma_data_version'),
    };
    this.stmts.reactions.raw(true);
    this.stmts.writeMark.raw(true);
    for (const s of [this.stmts.unread, this.stmts.mentions, this.stmts.count]) s.pluck(true);
    this.ingestTx = db.transaction((batch: readonly IngestMessage[]) => this.ingestInTx(batch));
    this.recordTx = db.transaction((ops: readonly HistoryOp[]) => this.recordInTx(ops));
  }

  /**
   * Applies a batch of messages, edits and deletions in order, in one transaction: all of it is
   * committed (recorded) or none of it. Messages are recorded exactly once per msgid as in ingest().
   */
  record(ops: readonly HistoryOp[]): RecordResult {
    if (ops.length === 0) return { inserted: 0, duplicates: 0, skipped: 0, reactionChanges: 0, edits: 0, deletions: 0, refused: 0 };
    return this.recordTx(ops);
  }

  private recordInTx(ops: readonly HistoryOp[]): RecordResult {
    const result: RecordResult = { inserted: 0, duplicates: 0, skipped: 0, reactionChanges: 0, edits: 0, deletions: 0, refused: 0 };
    let run: IngestMessage[] = [];
    const flushRun = () => {
      if (run.length === 0) return;
      const r = this.ingestInTx(run);
      result.inserted += r.inserted;
      result.duplicates += r.duplicates;
      result.skipped += r.skipped;
      result.reactionChanges += r.reactionChanges;
      run = [];
    };
    for (const op of ops) {
      if (op.op === 'ingest') {
        run.push(op.message);
        continue;
      }
      flushRun();
      const applied =
        op.op === 'edit' ? this.editInTx(op.msgid, op.text, op.by, op.time, op.authorize) : this.deleteInTx(op.msgid, op.by, op.time, op.authorize);
      if (!applied) result.refused++;
      else if (op.op === 'edit') result.edits++;
      else result.deletions++;
    }
    flushRun();
    return result;
  }

  /** Records a batch in one transaction, exactly once per msgid. Applies TAGMSG reactions. */
  ingest(batch: readonly IngestMessage[]): IngestResult {
    if (batch.length === 0) return { inserted: 0, duplicates: 0, skipped: 0, reactionChanges: 0 };
    return this.ingestTx(batch);
  }

  private ingestInTx(batch: readonly IngestMessage[]): IngestResult {
    const s = this.stmts;
    const result: IngestResult = { inserted: 0, duplicates: 0, skipped: 0, reactionChanges: 0 };
    for (const m of batch) {
      const tags = m.tags ?? {};
      const replyTo = replyTarget(tags) ?? null;
      const react = tags[REACT_TAG];
      const unreact = tags[UNREACT_TAG];
      if (m.kind === 'TAGMSG' && (!(react || unreact) || !replyTo)) {
        result.skipped++;
        continue;
      }
      const text = m.kind === 'TAGMSG' ? '' : (m.text ?? '');
      const channel = foldCase(m.channel);
      const info = s.insert.run(
        m.msgid,
        channel,
        m.account,
        m.nick,
        m.kind,
        m.time,
        text,
        JSON.stringify(tags),
        replyTo,
        (m.hasLink ?? detectLink(text)) ? 1 : 0,
        (m.hasAttachment ?? detectAttachment(tags)) ? 1 : 0,
      );
      if (info.changes === 0) {
        result.duplicates++;
        continue;
      }
      result.inserted++;
      // Reactions only from a newly recorded TAGMSG: a replayed one must not re-apply.
      if (m.kind === 'TAGMSG' && replyTo) {
        const reactor = m.account ?? m.nick;
        if (react) result.reactionChanges += s.react.run(replyTo, reactor, react, m.time, replyTo, channel).changes;
        if (unreact) result.reactionChanges += s.unreact.run(replyTo, reactor, unreact).changes;
      }
    }
    return result;
  }

  /** The stored message (deleted ones included, with empty text), or null. */
  get(msgid: string): HistoryMessage | null {
    const row = this.stmts.byMsgid.get(msgid) as Row | undefined;
    return row ? this.withReactions([row])[0]! : null;
  }

  /** Number of recorded rows (TAGMSGs and deleted messages included). */
  count(): number {
    return this.stmts.count.get() as number;
  }

  /**
   * Replaces a message's text. Returns true when applied; false when the message is unknown,
   * deleted, a TAGMSG, or `authorize` refused.
   */
  edit(msgid: string, newText: string, by: string, opts: { time?: number; authorize?: Authorize } = {}): boolean {
    return this.db.transaction(() => this.editInTx(msgid, newText, by, opts.time ?? Date.now(), opts.authorize))();
  }

  /**
   * Deletes a message: its text, tags and reactions are erased and it leaves paging and search;
   * the row stays so the msgid is never recorded again. Returns true when applied.
   */
  delete(msgid: string, by: string, opts: { time?: number; authorize?: Authorize } = {}): boolean {
    return this.db.transaction(() => this.deleteInTx(msgid, by, opts.time ?? Date.now(), opts.authorize))();
  }

  private editInTx(msgid: string, newText: string, by: string, time: number, authorize: Authorize | undefined): boolean {
    const row = this.stmts.byMsgid.get(msgid) as Row | undefined;
    if (!row || row.deleted_at !== null || row.kind === 'TAGMSG') return false;
    if (authorize && !authorize(this.toMessage(row, []))) return false;
    const hasLink = detectLink(newText) ? 1 : 0;
    return this.stmts.edit.run(newText, hasLink, time, by, row.id).changes === 1;
  }

  private deleteInTx(msgid: string, by: string, time: number, authorize: Authorize | undefined): boolean {
    const row = this.stmts.byMsgid.get(msgid) as Row | undefined;
    if (!row || row.deleted_at !== null) return false;
    if (authorize && !authorize(this.toMessage(row, []))) return false;
    if (this.stmts.delete.run(time, by, row.id).changes !== 1) return false;
    this.stmts.deleteReactions.run(msgid);
    return true;
  }

  /**
   * The newest `limit` visible messages of `channel`, oldest first (newest last). The page may be shared with other
   * callers until the next write to the database: it is frozen, never to be modified.
   */
  latest(channel: string, limit: number): HistoryMessage[] {
    const folded = foldCase(channel);
    const size = clampLimit(limit, MAX_PAGE);
    const [changes, version] = this.stmts.writeMark.get() as [number, number];
    if (changes !== this.pagesMark[0] || version !== this.pagesMark[1]) {
      this.latestPages.clear();
      this.pagesMark = [changes, version];
    }
    const key = `${size} ${folded}`;
    let page = this.latestPages.get(key);
    if (!page) {
      page = freezePage(this.withReactions((this.stmts.latest.all(folded, size) as Row[]).reverse()));
      // Bounded: the sizes clients ask for are few, but channels can be many.
      if (this.latestPages.size >= MAX_CACHED_PAGES) this.latestPages.clear();
      this.latestPages.set(key, page);
    }
    return page;
  }

  /**
   * Up to `limit` visible messages strictly before the cursor, newest last. Null when the cursor
   * names a msgid that is unknown or in another channel.
   */
  before(channel: string, cursor: Cursor, limit: number): HistoryMessage[] | null {
    const folded = foldCase(channel);
    const pos = this.position(folded, cursor, 'before');
    if (!pos) return null;
    const rows = this.stmts.beforePos.all(folded, pos.time, pos.id, clampLimit(limit, MAX_PAGE)) as Row[];
    return this.withReactions(rows.reverse());
  }

  /** Up to `limit` visible messages strictly after the cursor, newest last. Null as for before(). */
  after(channel: string, cursor: Cursor, limit: number): HistoryMessage[] | null {
    const folded = foldCase(channel);
    const pos = this.position(folded, cursor, 'after');
    if (!pos) return null;
    const rows = this.stmts.afterPos.all(folded, pos.time, pos.id, clampLimit(limit, MAX_PAGE)) as Row[];
    return this.withReactions(rows);
  }

  /**
   * Up to `limit` visible messages centred on the cursor, newest last. Around a msgid: the message
   * itself (when visible), floor((limit-1)/2) before it, the rest after. Around a time:
   * floor(limit/2) at or before it, the rest after. Null when the msgid is unknown or in another channel.
   */
  around(channel: string, cursor: Cursor | string, limit: number): HistoryMessage[] | null {
    const folded = foldCase(channel);
    const at: Cursor = typeof cursor === 'string' ? { msgid: cursor } : cursor;
    const n = clampLimit(limit, MAX_PAGE);
    if ('time' in at) {
      if (n === 0) return [];
      // "At or before" the instant: strictly before (time, max id).
      const nBefore = Math.floor(n / 2);
      const before = (this.stmts.beforePos.all(folded, at.time, Number.MAX_SAFE_INTEGER, nBefore) as Row[]).reverse();
      const after = this.stmts.afterPos.all(folded, at.time, Number.MAX_SAFE_INTEGER, n - before.length) as Row[];
      // Near the newest end there may be fewer after than asked: fill up with older ones.
      const more = n - before.length - after.length;
      const older = more > 0 && before.length > 0 ? (this.stmts.beforePos.all(folded, before[0]!.time, before[0]!.id, more) as Row[]).reverse() : [];
      return this.withReactions([...older, ...before, ...after]);
    }
    const row = this.stmts.byMsgid.get(at.msgid) as Row | undefined;
    if (!row || row.channel !== folded) return null;
    if (n === 0) return [];
    const visible = row.deleted_at === null && row.kind !== 'TAGMSG';
    const nBefore = Math.floor((n - 1) / 2);
    const nAfter = n - nBefore - (visible ? 1 : 0);
    const before = (this.stmts.beforePos.all(folded, row.time, row.id, nBefore) as Row[]).reverse();
    const after = this.stmts.afterPos.all(folded, row.time, row.id, nAfter) as Row[];
    return this.withReactions([...before, ...(visible ? [row] : []), ...after]);
  }

  /**
   * Up to `limit` visible messages strictly after `after` and strictly before `before`, oldest
   * first (newest last). Null when either cursor is a msgid unknown or in another channel.
   */
  between(channel: string, after: Cursor, before: Cursor, limit: number): HistoryMessage[] | null {
    const folded = foldCase(channel);
    const lo = this.position(folded, after, 'after');
    const hi = this.position(folded, before, 'before');
    if (!lo || !hi) return null;
    const rows = this.stmts.betweenPos.all(folded, lo.time, lo.id, hi.time, hi.id, clampLimit(limit, MAX_PAGE)) as Row[];
    return this.withReactions(rows);
  }

  /**
   * Full-text search over visible messages, newest first (by ingest order, which follows server
   * time). User input is quoted (see {@link toFtsQuery}); it can never be an FTS5 syntax error.
   */
  search(query: SearchQuery): HistoryMessage[] {
    const fts = toFtsQuery(query.q ?? '');
    const limit = clampLimit(query.limit ?? 25, MAX_SEARCH);
    if (!fts || limit === 0) return [];
    const where: string[] = ['history_fts MATCH ?', VISIBLE];
    const params: unknown[] = [fts];
    if (query.channel !== undefined) {
      where.push('m.channel = ?');
      params.push(foldCase(query.channel));
    }
    if (query.channels !== undefined) {
      if (query.channels.length === 0) return [];
      where.push('m.channel IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(query.channels.map(foldCase)));
    }
    if (query.from !== undefined) {
      where.push('m.account = ?');
      params.push(query.from);
    }
    if (query.before !== undefined) {
      where.push('m.time < ?');
      params.push(query.before);
    }
    if (query.after !== undefined) {
      where.push('m.time > ?');
      params.push(query.after);
    }
    if (query.hasLink !== undefined) {
      where.push('m.has_link = ?');
      params.push(query.hasLink ? 1 : 0);
    }
    if (query.hasAttachment !== undefined) {
      where.push('m.has_attachment = ?');
      params.push(query.hasAttachment ? 1 : 0);
    }
    // CROSS JOIN keeps the FTS table outer: walk the matches newest first and stop at the limit.
    const sql = `SELECT ${COLUMNS} FROM history_fts f CROSS JOIN history_messages m ON m.id = f.rowid
      WHERE ${where.join(' AND ')} ORDER BY f.rowid DESC LIMIT ?`;
    let stmt = this.searchStmts.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.searchStmts.set(sql, stmt);
    }
    params.push(limit);
    return this.withReactions(stmt.all(...params) as Row[]);
  }

  /**
   * A channel renamed (on IRC a new channel): its messages and read markers move to the new
   * name. Reactions follow their messages by msgid. One transaction; inside a caller's
   * transaction (the guild's rename and its audit entry) it commits or rolls back with it.
   * Rare, so its statements are prepared per call.
   */
  renameChannel(from: string, to: string): void {
    const [old, renamed] = [foldCase(from), foldCase(to)];
    this.db.transaction(() => {
      this.db.prepare('UPDATE history_messages SET channel = ? WHERE channel = ?').run(renamed, old);
      this.db.prepare('UPDATE history_read_markers SET channel = ? WHERE channel = ?').run(renamed, old);
    })();
  }

  /**
   * A channel deleted: its messages, their reactions and its read markers go, so a new channel
   * of the same name starts empty. Transactions as for renameChannel().
   */
  forgetChannel(channel: string): void {
    const folded = foldCase(channel);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM history_reactions WHERE msgid IN (SELECT msgid FROM history_messages WHERE channel = ?)').run(folded);
      this.db.prepare('DELETE FROM history_messages WHERE channel = ?').run(folded);
      this.db.prepare('DELETE FROM history_read_markers WHERE channel = ?').run(folded);
    })();
  }

  /**
   * Moves `account`'s read marker in `channel` to the cursor (forward only). Returns false when
   * the cursor is an unknown msgid (or one in another channel) or would move the marker back.
   */
  setReadMarker(account: string, channel: string, cursor: Cursor, now = Date.now()): boolean {
    const folded = foldCase(channel);
    return this.db.transaction(() => {
      let pos: Position & { msgid: string | null };
      if ('msgid' in cursor) {
        const row = this.stmts.byMsgid.get(cursor.msgid) as Row | undefined;
        if (!row || row.channel !== folded) return false;
        pos = { time: row.time, id: row.id, msgid: row.msgid };
      } else {
        // A time marks everything at or before it as read.
        pos = { time: cursor.time, id: Number.MAX_SAFE_INTEGER, msgid: null };
      }
      const current = this.marker(account, folded);
      if (current && (pos.time < current.time || (pos.time === current.time && pos.id <= current.id))) {
        return false;
      }
      this.stmts.setMarker.run(account, folded, pos.msgid, pos.time, pos.id, now);
      return true;
    })();
  }

  /** The read marker: msgid (null when set by time) and time; null when never set. */
  getReadMarker(account: string, channel: string): { msgid: string | null; time: number } | null {
    const m = this.marker(account, foldCase(channel));
    return m ? { msgid: m.msgid, time: m.time } : null;
  }

  /** Visible messages after the read marker (all when none), not counting the account's own. */
  unreadCount(account: string, channel: string): number {
    const folded = foldCase(channel);
    const m = this.marker(account, folded) ?? { time: -Infinity, id: 0 };
    return this.stmts.unread.get(folded, m.time, m.id, account) as number;
  }

  /**
   * Unread messages (as in unreadCount) whose text mentions `nick` as a whole word,
   * case-insensitively (IRC nick characters are word characters).
   */
  mentionCount(account: string, channel: string, nick: string): number {
    const folded = foldCase(channel);
    const m = this.marker(account, folded) ?? { time: -Infinity, id: 0 };
    return this.stmts.mentions.get(folded, m.time, m.id, account, nick) as number;
  }

  /**
   * Unread and mention counts (as unreadCount and mentionCount) over at most the newest `cap`
   * unread messages; `capped` says there are more. One query, bounded work.
   */
  unreadSummary(account: string, channel: string, nick: string, cap = 1000): UnreadSummary {
    const folded = foldCase(channel);
    const m = this.marker(account, folded) ?? { time: -Infinity, id: 0 };
    const limit = Math.max(1, Math.floor(cap));
    const row = this.stmts.unreadSummary.get(nick, folded, m.time, m.id, account, limit + 1) as { unread: number; mentions: number };
    if (row.unread > limit) {
      // The extra row only told us there are more; count mentions over exactly `limit` rows.
      const capped = this.stmts.unreadSummary.get(nick, folded, m.time, m.id, account, limit) as { unread: number; mentions: number };
      return { unread: limit, mentions: capped.mentions, capped: true };
    }
    return { unread: row.unread, mentions: row.mentions, capped: false };
  }

  private marker(account: string, folded: string): (Position & { msgid: string | null }) | null {
    return (this.stmts.getMarker.get(account, folded) as (Position & { msgid: string | null }) | undefined) ?? null;
  }

  private position(folded: string, cursor: Cursor, side: 'before' | 'after'): Position | null {
    if ('msgid' in cursor) {
      const row = this.stmts.byMsgid.get(cursor.msgid) as Row | undefined;
      if (!row || row.channel !== folded) return null;
      return { time: row.time, id: row.id };
    }
    // Strictly before a time: (time, 0); strictly after: (time, max).
    return { time: cursor.time, id: side === 'before' ? 0 : Number.MAX_SAFE_INTEGER };
  }

  private withReactions(rows: Row[]): HistoryMessage[] {
    if (rows.length === 0) return [];
    const byMsgid = new Map<string, Reaction[]>();
    const raw = this.stmts.reactions.all(JSON.stringify(rows.map((r) => r.msgid))) as [string, string, string][];
    for (const [msgid, emoji, account] of raw) {
      let list = byMsgid.get(msgid);
      if (!list) byMsgid.set(msgid, (list = []));
      let r = list.find((x) => x.emoji === emoji);
      if (!r) list.push((r = { emoji, accounts: [] }));
      r.accounts.push(account);
    }
    return rows.map((r) => this.toMessage(r, byMsgid.get(r.msgid) ?? []));
  }

  private toMessage(r: Row, reactions: Reaction[]): HistoryMessage {
    return {
      msgid: r.msgid,
      channel: r.channel,
      account: r.account,
      nick: r.nick,
      kind: r.kind,
      time: r.time,
      text: r.text,
      tags: JSON.parse(r.tags) as Record<string, string>,
      replyTo: r.reply_to,
      hasLink: r.has_link === 1,
      hasAttachment: r.has_attachment === 1,
      editedAt: r.edited_at,
      reactions,
    };
  }
}
