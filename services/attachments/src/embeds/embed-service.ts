import { createHash } from 'node:crypto';
import type { Logger } from '@alloquy/service-kit/log';
import { AttachmentError, type AttachmentErrorCode } from '../errors/attachment-error.js';
import { WorkQueue } from '../media/work-queue.js';
import type { AttachmentsMetrics } from '../metrics/metrics.js';
import type { StoredEmbed } from './embed.js';
import type { EmbedResult, EmbedStore } from './embed-store.js';
import { checkUrl } from './safe-fetcher.js';
import type { Unfurler } from './unfurler.js';

export interface EmbedServiceOptions {
  unfurler: Pick<Unfurler, 'unfurl'>;
  store: EmbedStore;
  /** `TargetPolicy.fingerprint`: results are cached per allowlist. */
  policyFingerprint: string;
  /** How long an embed is kept. Default 24 h. */
  ttlMs?: number;
  /** How long a refusal (private address, port) is kept. Default 1 h. */
  refusalTtlMs?: number;
  /** How long a failure (timeout, unreachable, error status, too large) is kept. Default 5 min. */
  failureTtlMs?: number;
  /** Links fetched at once (default 16); up to `maxQueued` more wait (default 64), beyond that `too_many_requests`. */
  concurrency?: number;
  maxQueued?: number;
  metrics?: AttachmentsMetrics;
  log?: Logger;
  now?: () => number;
}

export const MAX_EMBED_URL_LENGTH = 2048;

/** Failures worth remembering: asking again soon would give the same answer. */
const CACHED_FAILURES: ReadonlySet<AttachmentErrorCode> = new Set(['forbidden', 'bad_gateway', 'gateway_timeout']);

/**
 * Link embeds with a cache: a lookup answers from SQLite while the result is fresh, and
 * concurrent lookups of the same link share one fetch.
 */
export class EmbedService {
  private readonly inFlight = new Map<string, Promise<EmbedResult>>();
  /** Each fetch holds sockets and up to two time limits: a burst of new links waits or is refused. */
  private readonly queue: WorkQueue;
  private readonly policy: string;
  private readonly ttlMs: number;
  private readonly refusalTtlMs: number;
  private readonly failureTtlMs: number;
  private readonly now: () => number;
  private writesSincePrune = 0;

  constructor(private readonly options: EmbedServiceOptions) {
    this.policy = createHash('sha256').update(options.policyFingerprint).digest('hex').slice(0, 32);
    this.ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
    this.refusalTtlMs = options.refusalTtlMs ?? 60 * 60 * 1000;
    this.failureTtlMs = options.failureTtlMs ?? 5 * 60 * 1000;
    this.now = options.now ?? Date.now;
    this.queue = new WorkQueue(
      options.concurrency ?? 16,
      options.maxQueued ?? 64,
      () => new AttachmentError('too_many_requests', 'too many links are being fetched right now; try again shortly'),
    );
  }

  /**
   * The embed for `link`, or AttachmentError: `invalid_request` (not an http(s) URL),
   * `forbidden` (a private or loopback target), `gateway_timeout`, `bad_gateway`.
   */
  async lookup(link: string): Promise<StoredEmbed> {
    const url = normalizeEmbedUrl(link);
    const key = url.href;
    const cached = this.options.store.get(key, this.policy, this.now());
    if (cached) {
      this.options.metrics?.embeds.inc({ result: 'cached' });
      return unwrap(cached);
    }
    let flight = this.inFlight.get(key);
    if (!flight) {
      flight = this.fetchAndStore(url).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, flight);
    }
    return unwrap(await flight);
  }

  private async fetchAndStore(url: URL): Promise<EmbedResult> {
    let result: EmbedResult;
    let ttl: number;
    try {
      result = { ok: true, embed: await this.queue.run(() => this.options.unfurler.unfurl(url)) };
      ttl = this.ttlMs;
      this.options.metrics?.embeds.inc({ result: 'fetched' });
    } catch (err) {
      if (!(err instanceof AttachmentError) || !CACHED_FAILURES.has(err.code)) {
        this.options.metrics?.embeds.inc({ result: 'failed' });
        throw err;
      }
      result = { ok: false, code: err.code, message: err.message };
      ttl = err.code === 'forbidden' ? this.refusalTtlMs : this.failureTtlMs;
      this.options.metrics?.embeds.inc({ result: err.code === 'forbidden' ? 'refused' : 'failed' });
      // The host only: links in messages can carry secrets in their path or query (signed URLs).
      this.options.log?.info({ host: url.host, code: err.code, reason: err.message }, 'link embed not made');
    }
    this.options.store.put(url.href, this.policy, result, ttl, this.now());
    if (++this.writesSincePrune >= 200) this.prune();
    return result;
  }

  /** Drops expired results and forgets previews nothing refers to (run now and then). */
  prune(): void {
    this.writesSincePrune = 0;
    const now = this.now();
    this.options.store.pruneExpired(now);
    this.options.store.forgetUnusedPreviews(now - 60 * 60 * 1000);
  }
}

function unwrap(result: EmbedResult): StoredEmbed {
  if (result.ok) return result.embed;
  throw new AttachmentError(result.code, result.message);
}

/**
 * The cache key of a link: parsed and re-serialized (lowercase scheme and host, default port
 * dropped, IPv4 forms canonical), without the fragment, which never reaches the server.
 */
export function normalizeEmbedUrl(link: string): URL {
  if (link.length > MAX_EMBED_URL_LENGTH) throw new AttachmentError('invalid_request', `the link is longer than ${MAX_EMBED_URL_LENGTH} characters`);
  const url = checkUrl(link.trim());
  url.hash = '';
  return url;
}
