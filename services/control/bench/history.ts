/**
 * History benchmark: sustained ingest (messages/s, zero loss), latest-50 fetch p99 and
 * full-text search p99 on one channel of 1,000,000 messages, against a temp SQLite file with the
 * production settings (openControlDatabase: WAL, synchronous=NORMAL).
 *
 * Ingest goes through HistServ's recorder exactly as the services link feeds it: each message is
 * an InboundChatMessage (msgid and time tags, a sender UID looked up in a user table) handed to
 * HistoryRecorder.handle() in bursts of `--burst` lines (what one socket read of the link
 * delivers), yielding to the event loop between bursts so the recorder's timer and size-triggered
 * commits both run. The clock covers handing over and committing, until nothing is pending;
 * generating the messages is outside it. Zero loss: every message committed, none dropped, and a
 * redelivery of the last 10,000 records nothing.
 *
 * Prints one JSON object on stdout; progress and a summary on stderr.
 * Options: --messages N (1000000), --batch N (recorder maxBatch, 500), --burst N (64),
 *          --fetches N (1000), --searches N (200), --seed N (1), --keep (keep the temp directory).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuildEvents, GuildSnapshot, GuildSource, Role } from '../dist/guild/model.js';
import { Permission } from '@alloquy/protocol/permissions';
import { HistoryRecorder } from '../dist/histserv/recorder.js';
import type { InboundChatMessage } from '../dist/irc-link/handlers.js';
import { openControlDatabase } from '../dist/store/database.js';
import { HistoryStore } from '../dist/history/store.js';
import { seededRandom } from '@alloquy/protocol/testing';
import { percentile } from '@alloquy/stack/bench/stats.js';

const TARGETS = { ingestPerSecond: 10_000, latest50P99Ms: 5, searchP99Ms: 50 };

function parseArgs(argv: string[]) {
  const opts = { messages: 1_000_000, batch: 500, burst: 64, fetches: 1000, searches: 200, seed: 1, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      process.stderr.write('usage: scripts/bench/history [--messages N] [--batch N] [--burst N] [--fetches N] [--searches N] [--seed N] [--keep]\n');
      process.exit(0);
    }
    if (a === '--keep') {
      opts.keep = true;
      continue;
    }
    const key = a.replace(/^--/, '') as keyof typeof opts;
    const value = Number(argv[++i]);
    if (!(key in opts) || key === 'keep' || !Number.isInteger(value) || value <= 0) {
      process.stderr.write(`history bench: bad option ${a}\n`);
      process.exit(2);
    }
    (opts as Record<string, number | boolean>)[key] = value;
  }
  return opts;
}

const BASE_WORDS = (
  'the be to of and a in that have i it for not on with he as you do at this but his by from they we ' +
  'say her she or an will my one all would there their what so up out if about who get which go me when ' +
  'make can like time no just him know take people into year your good some could them see other than ' +
  'then now look only come its over think also back after use two how our work first well way even new ' +
  'want because any these give day most us server deploy build release bug fix test merge branch voice ' +
  'channel call stream video screen share audio mic latency lag ping crash restart config docker update ' +
  'patch review ticket issue meeting tonight tomorrow weekend game raid match team score lunch coffee ' +
  'music movie link photo upload download password login account invite admin moderator ban kick mute'
).split(' ');

/** A fixed vocabulary: common English/chat words plus generated rarer words. */
function vocabulary(rand: () => number, size: number): string[] {
  const syl = ['ka', 'lo', 'mi', 'ra', 'te', 'zu', 'ne', 'po', 'si', 'va', 'du', 'ge', 'fo', 'ri', 'an', 'el'];
  const words = [...BASE_WORDS];
  const seen = new Set(words);
  while (words.length < size) {
    const n = 2 + Math.floor(rand() * 3);
    let w = '';
    for (let i = 0; i < n; i++) w += syl[Math.floor(rand() * syl.length)];
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  return words;
}

/** Zipf-like sampler over ranks 0..n-1 (s = 1) by inverse CDF on a precomputed table. */
function zipf(rand: () => number, n: number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1);
  return () => {
    const x = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { n: s.length, p50Ms: r(percentile(s, 50)), p99Ms: r(percentile(s, 99)), maxMs: r(s[s.length - 1] ?? 0) };
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function log(line: string): void {
  process.stderr.write(`history bench: ${line}\n`);
}

/** A guild of one text channel (`#bench`) that everyone may read and write: what the recorder checks against. */
function benchGuild(channel: string, accounts: string[]): GuildSource {
  const everyone: Role = {
    id: '1',
    name: '@everyone',
    position: 0,
    color: null,
    mentionable: false,
    permissions: Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES | Permission.READ_HISTORY | Permission.ADD_REACTIONS,
  };
  const roles = new Map([[everyone.id, everyone]]);
  const snapshot: GuildSnapshot = {
    version: 1,
    settings: { name: 'bench', description: '', icon: null, ownerId: null, adhocChannels: false },
    everyoneRoleId: '1',
    roles,
    categories: [],
    channels: [
      { id: '1', kind: 'text', name: channel.slice(1), topic: '', position: 0, categoryId: null, overwrites: [], murmurChannelId: null, createdAt: 0 },
    ],
    members: new Map(
      accounts.map((username, i) => [String(i + 1), { id: String(i + 1), accountId: i + 1, username, roleIds: [], timeoutUntil: null, isAdmin: false }]),
    ),
    outsiders: [],
    bans: new Map(),
    permissionGuild: { ownerId: '\u0000none', everyoneRoleId: '1', roles },
  };
  const listeners = (_event: keyof GuildEvents) => undefined;
  return { snapshot: () => snapshot, on: listeners, off: listeners };
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const rand = seededRandom(opts.seed);
  const vocab = vocabulary(rand, 20_000);
  const pickWord = zipf(rand, vocab.length);
  const dir = mkdtempSync(join(tmpdir(), 'alloquy-history-bench-'));
  const cleanup = () => {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

  const path = join(dir, 'control.db');
  const db = openControlDatabase(path);
  const store = new HistoryStore(db);
  const channel = '#bench';
  const accounts = Array.from({ length: 200 }, (_, i) => `user${i}`);
  const t0 = 1_750_000_000_000;

  // Sender UIDs as the link knows them: `users` stands in for link.network.users.
  const uids = accounts.map((_, i) => `1ALAAA${i.toString(36).toUpperCase().padStart(3, 'A')}`);
  const users = new Map(accounts.map((account, i) => [uids[i]!, { nick: account, account }]));
  const guild = benchGuild(channel, accounts);

  const makeLine = (i: number): InboundChatMessage => {
    const len = 3 + Math.floor(rand() * 14);
    const words: string[] = [];
    for (let w = 0; w < len; w++) words.push(vocab[pickWord()]!);
    if (i % 50 === 0) words.push(`https://example.org/${i}`);
    const who = Math.floor(rand() * accounts.length);
    const text = words.join(' ');
    return {
      command: 'PRIVMSG',
      source: uids[who]!,
      target: channel,
      text: i % 20 === 0 ? `\x01ACTION ${text}\x01` : text,
      tags: new Map([
        ['time', new Date(t0 + i * 10).toISOString()],
        ['msgid', `1AL~${opts.seed}~${i.toString(36)}`],
      ]),
    };
  };

  const recorder = new HistoryRecorder({ store, guild, users, maxBatch: opts.batch });
  /** Feeds lines in bursts as the link would; returns the milliseconds until all are committed. */
  const feed = async (lines: InboundChatMessage[]): Promise<number> => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < lines.length; i += opts.burst) {
      for (let j = i; j < Math.min(lines.length, i + opts.burst); j++) recorder.handle(lines[j]!);
      await yieldToLoop();
    }
    while (recorder.stats().pending > 0) await new Promise((resolve) => setTimeout(resolve, 1));
    return ms(start);
  };

  // Ingest: generation (in chunks, to bound memory) is outside the timed region.
  log(`ingesting ${opts.messages} messages through the recorder (bursts of ${opts.burst}, commits of up to ${opts.batch}) into ${path}`);
  const CHUNK = 20_000;
  let ingestMs = 0;
  let lastReport = Date.now();
  for (let i = 0; i < opts.messages; i += CHUNK) {
    const lines: InboundChatMessage[] = [];
    for (let j = i; j < Math.min(opts.messages, i + CHUNK); j++) lines.push(makeLine(j));
    ingestMs += await feed(lines);
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      const done = recorder.stats().recorded;
      log(`  ${done} ingested, ${Math.round(done / (ingestMs / 1000))}/s`);
    }
  }
  const afterIngest = recorder.stats();
  const inserted = afterIngest.recorded;
  const ingestPerSecond = Math.round(inserted / (ingestMs / 1000));
  // Redelivery: the last 10,000 msgids again (a relink replay) must record nothing.
  const replayFrom = Math.max(0, opts.messages - 10_000);
  const replay = Array.from({ length: opts.messages - replayFrom }, (_, k) => makeLine(replayFrom + k));
  await feed(replay);
  const afterReplay = recorder.stats();
  const replayInserted = afterReplay.recorded - afterIngest.recorded;
  await recorder.stop();
  const stored = store.count();
  const zeroLoss =
    inserted === opts.messages && stored === opts.messages && replayInserted === 0 && afterReplay.duplicates === replay.length && afterReplay.dropped === 0;
  log(`ingest: ${ingestPerSecond}/s in ${afterIngest.flushes} commits, stored ${stored}/${opts.messages}, replay inserted ${replayInserted}`);

  // Latest-50 fetch (warm cache, as a running server would have: a few unsampled rounds first,
  // which also settle the garbage the ingest left behind).
  for (let i = 0; i < 50; i++) store.latest(channel, 50);
  const fetchSamples: number[] = [];
  for (let i = 0; i < opts.fetches; i++) {
    const start = process.hrtime.bigint();
    const page = store.latest(channel, 50);
    fetchSamples.push(ms(start));
    if (page.length !== Math.min(50, opts.messages)) throw new Error(`latest returned ${page.length}`);
  }
  const latest50 = stats(fetchSamples);
  log(`latest-50: p50 ${latest50.p50Ms} ms, p99 ${latest50.p99Ms} ms`);

  // Full-text search: 1-3 words drawn from the same distribution (common and rare words alike),
  // some with the from/link filters, 25 results. Restricted to a list of readable channels, as
  // the HTTP API always asks (one channel, or every channel the caller may read).
  const searchSamples: number[] = [];
  let hits = 0;
  for (let i = 0; i < opts.searches; i++) {
    const n = 1 + Math.floor(rand() * 3);
    const q = Array.from({ length: n }, () => vocab[pickWord()]!).join(' ');
    const query = {
      q,
      channels: i % 2 === 0 ? [channel] : [channel, '#other', '#random'],
      limit: 25,
      ...(i % 4 === 1 ? { from: accounts[i % accounts.length]! } : {}),
      ...(i % 4 === 2 ? { hasLink: true } : {}),
    };
    const start = process.hrtime.bigint();
    const results = store.search(query);
    searchSamples.push(ms(start));
    hits += results.length;
  }
  const search = stats(searchSamples);
  log(`search: p50 ${search.p50Ms} ms, p99 ${search.p99Ms} ms (${hits} hits over ${opts.searches} queries)`);

  const dbBytes = ['', '-wal'].reduce((sum, ext) => {
    try {
      return sum + statSync(path + ext).size;
    } catch {
      return sum;
    }
  }, 0);
  db.close();

  const pass = {
    ingest: zeroLoss && ingestPerSecond >= TARGETS.ingestPerSecond,
    latest50: latest50.p99Ms <= TARGETS.latest50P99Ms,
    search: search.p99Ms <= TARGETS.searchP99Ms,
  };
  const result = {
    bench: 'history',
    node: process.version,
    options: { messages: opts.messages, batch: opts.batch, burst: opts.burst, fetches: opts.fetches, searches: opts.searches, seed: opts.seed },
    targets: TARGETS,
    ingest: {
      path: 'HistoryRecorder.handle (link bursts, batched commits)',
      messagesPerSecond: ingestPerSecond,
      seconds: Math.round(ingestMs) / 1000,
      commits: afterIngest.flushes,
      stored,
      replayInserted,
      zeroLoss,
    },
    latest50,
    search: { ...search, hits },
    dbBytes,
    pass: { ...pass, all: pass.ingest && pass.latest50 && pass.search },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  log(
    `${result.pass.all ? 'PASS' : 'FAIL'}: ingest ${ingestPerSecond}/s (≥ ${TARGETS.ingestPerSecond}, zero loss ${zeroLoss}), ` +
      `latest-50 p99 ${latest50.p99Ms} ms (≤ ${TARGETS.latest50P99Ms}), search p99 ${search.p99Ms} ms (≤ ${TARGETS.searchP99Ms})`,
  );
  process.exitCode = result.pass.all ? 0 : 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`history bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
