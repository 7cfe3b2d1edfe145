/**
 * HistServ's recorder: turns the chat traffic the services link receives in guild text channels
 * into history, exactly once per msgid.
 *
 * What is recorded. PRIVMSG and NOTICE to a `#channel` that is a text channel of the guild;
 * CTCP ACTION (`\x01ACTION text\x01`) as kind ACTION with the bare text; other CTCPs are not
 * chat and are skipped. TAGMSGs only when they react (`+draft/react=<emoji>` or
 * `+draft/unreact=<emoji>` with `+reply`/`+draft/reply=<target msgid>`); typing notifications
 * (`+typing`) and other tag-only traffic are never stored. Messages to `@#channel` (status
 * messages, seen by some members only) are not channel history and are skipped. Sender nick and
 * account come from the link's view of the network; msgid and server time from the message's
 * `msgid` and `time` tags, which InspIRCd 3.15 passes to linked servers (verified against the
 * real daemon: `@time=…;msgid=1AL~1795300454~0 :1ALAAAAAD PRIVMSG #general :hello`). Should a
 * message arrive without them (another IRCd, a module unloaded), it gets a generated msgid and
 * the receipt time: still recorded, but then exactly-once cannot hold across a redelivery.
 *
 * Edits and deletions: a client-tag convention of ours.
 *   - `@+alloquy/edit=<msgid> PRIVMSG #channel :new text` replaces the text of `<msgid>` with
 *     `new text` (a CTCP ACTION edit takes the action's text). Stock clients just see the new
 *     line, which is the readable fallback. The edit line itself is never stored as a message.
 *   - `@+alloquy/delete=<msgid> TAGMSG #channel` deletes `<msgid>`: it leaves paging, search and
 *     unread counts, its text, tags and reactions are erased, and its msgid stays taken.
 *   Either applies only to a message of the same channel, and only when the sender is logged in
 *   as the message's author (same account) or holds MANAGE_MESSAGES in that channel at the time
 *   the line arrives; anything else is ignored (and counted). A reaction needs ADD_REACTIONS.
 *
 * Batching and durability. Messages queue in memory and are committed to SQLite in one
 * transaction per batch: when `maxBatch` are waiting, or `flushDelayMs` after the first one
 * queued, whichever comes first (defaults 500 and 2 ms). "Recorded" means committed: the
 * database is in WAL mode, so a committed batch survives kill -9 of the control server (not
 * necessarily power loss, as synchronous=NORMAL does not fsync every commit). What a kill can
 * lose is the batch still waiting, at most `flushDelayMs` of traffic, and lines the link had
 * not read yet; `stop()` commits what is waiting.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@alloquy/service-kit/log';
import { mayIn, memberByUsername, textChannelByIrcName, ircChannelName, type GuildSnapshot, type GuildSource } from '../guild/model.js';
import { Permission } from '@alloquy/protocol/permissions';
import type { InboundChatMessage } from '../irc-link/index.js';
import { type Authorize, type HistoryOp, type HistoryStore, type IngestMessage, type MessageKind, type RecordResult } from '../history/store.js';
import { DELETE_TAG, EDIT_TAG, REACT_TAG, TYPING_TAG, UNREACT_TAG, foldCase, replyTarget } from '@alloquy/protocol/irc';

/** Longest msgid we accept from a tag (InspIRCd's are about 20 characters). */
const MAX_MSGID = 200;

/** Who sent a line, as the link knows them. */
export interface Sender {
  nick: string;
  /** Services account, null when not logged in. */
  account: string | null;
}

export type SkipReason =
  /** Not addressed to a plain `#channel` (a user, a pseudo-client, `@#channel`). */
  | 'not-a-channel'
  /** A channel outside the guild's text channels. */
  | 'not-a-guild-channel'
  | 'typing'
  /** A TAGMSG that neither reacts nor deletes. */
  | 'tag-only'
  /** A CTCP other than ACTION. */
  | 'ctcp'
  /** An edit, deletion or reaction the sender may not make. */
  | 'unauthorized';

export type Interpretation = { action: 'record'; op: HistoryOp } | { action: 'skip'; reason: SkipReason };

// eslint-disable-next-line no-control-regex -- CTCP is framed by \x01
const CTCP = /^\x01([^\x01\s]+)(?: ([^\x01]*))?\x01?$/;

function tagsObject(tags: ReadonlyMap<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of tags) out[key] = value;
  return out;
}

function tagMsgid(tags: ReadonlyMap<string, string>): string | null {
  const value = tags.get('msgid');
  return value && value.length <= MAX_MSGID ? value : null;
}

function tagTime(tags: ReadonlyMap<string, string>): number | null {
  const value = tags.get('time');
  if (!value) return null;
  const time = Date.parse(value);
  return Number.isFinite(time) ? time : null;
}

function sameAccount(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && foldCase(a) === foldCase(b);
}

/**
 * What one inbound line means for history, decided against the guild snapshot of the moment it
 * arrived. Pure: the caller supplies the sender, the snapshot, the receipt time and a msgid maker.
 */
export function interpretMessage(
  message: InboundChatMessage,
  sender: Sender,
  snapshot: GuildSnapshot,
  receivedAt: number,
  newMsgid: () => string = () => `histserv-${randomUUID()}`,
): Interpretation {
  if (!message.target.startsWith('#')) return { action: 'skip', reason: 'not-a-channel' };
  const channel = textChannelByIrcName(snapshot, message.target);
  if (!channel) return { action: 'skip', reason: 'not-a-guild-channel' };
  const ircName = ircChannelName(channel);
  const folded = foldCase(ircName);
  const tags = message.tags;
  const time = tagTime(tags) ?? receivedAt;
  const msgid = tagMsgid(tags) ?? newMsgid();
  // Permissions matter only for reactions, edits and deletions: look the member up only then.
  const may = (flags: bigint) => mayIn(snapshot, sender.account === null ? undefined : memberByUsername(snapshot, sender.account), channel, flags, receivedAt);
  // Edits and deletions: the author, or a moderator of this channel, and only within it.
  const authorizeChange = (): Authorize | null => {
    if (sender.account === null) return null;
    const moderator = may(Permission.MANAGE_MESSAGES);
    return (target) => target.channel === folded && (moderator || sameAccount(target.account, sender.account));
  };
  const by = sender.account ?? sender.nick;

  if (message.command === 'TAGMSG') {
    if (tags.has(TYPING_TAG)) return { action: 'skip', reason: 'typing' };
    const deleteTarget = tags.get(DELETE_TAG);
    if (deleteTarget) {
      const authorize = authorizeChange();
      if (!authorize) return { action: 'skip', reason: 'unauthorized' };
      return { action: 'record', op: { op: 'delete', msgid: deleteTarget, by, time, authorize } };
    }
    const target = replyTarget(tags);
    const react = tags.get(REACT_TAG);
    const unreact = tags.get(UNREACT_TAG);
    if (!target || !(react || unreact)) return { action: 'skip', reason: 'tag-only' };
    if (react && !may(Permission.ADD_REACTIONS)) return { action: 'skip', reason: 'unauthorized' };
    const ingest: IngestMessage = { msgid, channel: ircName, account: sender.account, nick: sender.nick, kind: 'TAGMSG', time, tags: tagsObject(tags) };
    return { action: 'record', op: { op: 'ingest', message: ingest } };
  }

  let kind: MessageKind = message.command;
  let text = message.text;
  const ctcp = CTCP.exec(text);
  if (ctcp) {
    if (message.command !== 'PRIVMSG' || ctcp[1]!.toUpperCase() !== 'ACTION') return { action: 'skip', reason: 'ctcp' };
    kind = 'ACTION';
    text = ctcp[2] ?? '';
  }
  const editTarget = tags.get(EDIT_TAG);
  if (editTarget) {
    const authorize = authorizeChange();
    if (!authorize) return { action: 'skip', reason: 'unauthorized' };
    return { action: 'record', op: { op: 'edit', msgid: editTarget, text, by, time, authorize } };
  }
  const ingest: IngestMessage = { msgid, channel: ircName, account: sender.account, nick: sender.nick, kind, time, text, tags: tagsObject(tags) };
  return { action: 'record', op: { op: 'ingest', message: ingest } };
}

export interface RecorderOptions {
  store: HistoryStore;
  guild: GuildSource;
  /** Who is who on IRC: the link's `network.users` (UID → nick and account). */
  users: ReadonlyMap<string, { readonly nick: string; readonly account: string | null }>;
  log?: Logger;
  now?: () => number;
  /** Commit at the latest this long after the first queued message. Default 2 ms. */
  flushDelayMs?: number;
  /** Commit as soon as this many are queued. Default 500. */
  maxBatch?: number;
  /** While the database refuses writes, keep at most this many queued; beyond it the oldest are dropped (and logged). Default 200,000. */
  maxPending?: number;
  newMsgid?: () => string;
}

export interface RecorderStats {
  /** Lines handed to the recorder. */
  received: number;
  /** Waiting to be committed. */
  pending: number;
  /** Messages committed (new msgids). */
  recorded: number;
  /** Messages whose msgid was already recorded. */
  duplicates: number;
  reactionChanges: number;
  edits: number;
  deletions: number;
  /** Edits and deletions of unknown messages, or that the sender may not make. */
  refused: number;
  skipped: Record<SkipReason, number>;
  /** Committed transactions. */
  flushes: number;
  /** Failed commits (retried). */
  failures: number;
  /** Operations lost: dropped after the queue overflowed, or rejected by the database on their own. */
  dropped: number;
}

const TRANSIENT_SQLITE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|PROTOCOL)/;

function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT_SQLITE.test(code);
}

export class HistoryRecorder {
  private readonly store: HistoryStore;
  private readonly guild: GuildSource;
  private readonly users: RecorderOptions['users'];
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  private readonly flushDelayMs: number;
  private readonly maxBatch: number;
  private readonly maxPending: number;
  private readonly newMsgid: (() => string) | undefined;
  private pending: HistoryOp[] = [];
  private timer: NodeJS.Timeout | null = null;
  private retryDelayMs = 0;
  private stopped = false;
  private readonly counts: Omit<RecorderStats, 'pending' | 'skipped'> = {
    received: 0,
    recorded: 0,
    duplicates: 0,
    reactionChanges: 0,
    edits: 0,
    deletions: 0,
    refused: 0,
    flushes: 0,
    failures: 0,
    dropped: 0,
  };
  private readonly skipped: Record<SkipReason, number> = {
    'not-a-channel': 0,
    'not-a-guild-channel': 0,
    typing: 0,
    'tag-only': 0,
    ctcp: 0,
    unauthorized: 0,
  };

  constructor(options: RecorderOptions) {
    this.store = options.store;
    this.guild = options.guild;
    this.users = options.users;
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.flushDelayMs = options.flushDelayMs ?? 2;
    this.maxBatch = Math.max(1, options.maxBatch ?? 500);
    this.maxPending = Math.max(this.maxBatch, options.maxPending ?? 200_000);
    this.newMsgid = options.newMsgid;
  }

  /** Takes one inbound chat line; records it (soon) when it is channel history. */
  handle(message: InboundChatMessage): void {
    if (this.stopped) return;
    this.counts.received++;
    const user = this.users.get(message.source);
    // A line from a server (or a UID we never saw introduced) has no user: name it by its source.
    const sender: Sender = user ? { nick: user.nick, account: user.account } : { nick: message.source, account: null };
    const verdict = interpretMessage(message, sender, this.guild.snapshot(), this.now(), this.newMsgid);
    if (verdict.action === 'skip') {
      this.skipped[verdict.reason]++;
      return;
    }
    this.enqueue(verdict.op);
  }

  /** Commits everything waiting, now. Returns false when the database refused (it stays queued). */
  flush(): boolean {
    this.clearTimer();
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, this.maxBatch);
      const done = this.commit(batch);
      this.pending = this.pending.slice(done);
      if (done < batch.length) {
        this.scheduleRetry();
        return false;
      }
    }
    this.retryDelayMs = 0;
    return true;
  }

  /** Commits what is waiting and takes nothing more. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (!this.flush()) {
      this.log?.error({ pending: this.pending.length }, 'history: could not commit the last messages on shutdown');
    }
    this.clearTimer();
  }

  stats(): RecorderStats {
    return { ...this.counts, pending: this.pending.length, skipped: { ...this.skipped } };
  }

  private enqueue(op: HistoryOp): void {
    this.pending.push(op);
    if (this.pending.length > this.maxPending) {
      const lost = this.pending.length - this.maxPending;
      this.pending.splice(0, lost);
      this.counts.dropped += lost;
      this.log?.error({ lost }, 'history: the database has refused writes for too long; dropped the oldest waiting messages');
    }
    if (this.retryDelayMs > 0) return; // a retry is scheduled
    if (this.pending.length >= this.maxBatch) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.flushDelayMs);
  }

  /**
   * Commits `batch` in one transaction and returns how many of its ops are done with (all, or
   * fewer when the database is busy and the rest must wait). On a failure that is not the
   * database's state but something in the batch, applies the ops one by one and drops only
   * those the database rejects on their own.
   */
  private commit(batch: HistoryOp[]): number {
    try {
      this.add(this.store.record(batch));
      this.counts.flushes++;
      return batch.length;
    } catch (err) {
      this.counts.failures++;
      if (isTransient(err)) {
        this.log?.warn({ err, batch: batch.length }, 'history: database busy or unavailable; will retry');
        return 0;
      }
      this.log?.error({ err, batch: batch.length }, 'history: a batch failed; retrying its messages one by one');
      for (let i = 0; i < batch.length; i++) {
        const op = batch[i]!;
        try {
          this.add(this.store.record([op]));
        } catch (one) {
          if (isTransient(one)) return i;
          this.counts.dropped++;
          this.log?.error({ err: one, op: op.op, msgid: op.op === 'ingest' ? op.message.msgid : op.msgid }, 'history: dropped a message the database rejects');
        }
      }
      this.counts.flushes++;
      return batch.length;
    }
  }

  private add(r: RecordResult): void {
    this.counts.recorded += r.inserted;
    this.counts.duplicates += r.duplicates;
    this.counts.reactionChanges += r.reactionChanges;
    this.counts.edits += r.edits;
    this.counts.deletions += r.deletions;
    this.counts.refused += r.refused;
  }

  private scheduleRetry(): void {
    this.retryDelayMs = Math.min(5000, Math.max(50, this.retryDelayMs * 2));
    this.clearTimer();
    if (!this.stopped) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, this.retryDelayMs);
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
