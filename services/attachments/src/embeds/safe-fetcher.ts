import { lookup } from 'node:dns/promises';
import { type Readable, pipeline } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Agent, buildConnector, request } from 'undici';
import { AttachmentError } from '../errors/attachment-error.js';
import { formatIp, parseIp, type IpAddress } from './address.js';
import { TargetPolicy } from './policy.js';

/**
 * Fetches what a link embed needs (a page, an oEmbed document, a preview image) without letting
 * a URL reach anything it should not:
 * - it resolves the host itself and asks the {@link TargetPolicy} about every address;
 * - the connection goes to the address that was checked (a per-hop undici Agent whose connector
 *   ignores DNS), so a second, different DNS answer (rebinding) cannot move it; TLS still
 *   verifies the certificate for the host name and the Host header is the URL's;
 * - redirects are followed by hand, and each Location goes through the same checks;
 * - one deadline covers resolving, connecting, every redirect and reading the body, and the
 *   body stops (the socket is destroyed) at the byte limit, counted after decompression.
 */

export type Resolver = (hostname: string) => Promise<ReadonlyArray<{ address: string }>>;

/** Every address of a host name, in the resolver's order (getaddrinfo, like every other client here). */
export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** What a caller will accept; anything else is refused before the body is read. */
export type AcceptedKind = 'html' | 'json' | 'image';

export interface SafeFetcherOptions {
  policy: TargetPolicy;
  /** The whole fetch, redirects and body included. */
  timeoutMs: number;
  /** Body bytes read at most (after decompression), unless a request says otherwise. */
  maxBytes: number;
  maxRedirects?: number;
  resolver?: Resolver;
  userAgent?: string;
  /** Extra trusted certificate authorities (an intranet CA; tests). The system store stays trusted. */
  ca?: string | Buffer | Array<string | Buffer>;
}

export interface SafeRequest {
  accept: readonly AcceptedKind[];
  /**
   * Body bytes read at most, per accepted kind (the fetcher's `maxBytes` otherwise). JSON and
   * images are needed whole, so a Content-Length above their limit is refused before reading;
   * an HTML page is read only up to `</head>`, so a long page is fine.
   */
  maxBytes?: Partial<Record<AcceptedKind, number>>;
  /** Absolute time (ms) by which everything must be done; the fetcher's own limit applies too. */
  deadline?: number;
}

export interface SafeResponse {
  /** The URL that answered, after redirects. */
  url: URL;
  status: number;
  kind: AcceptedKind;
  /** Media type without parameters, lowercase. */
  mimeType: string;
  charset: string | null;
  /** Decoded body in chunks; throws `bad_gateway` past the byte limit. Breaking out early is fine. */
  body: AsyncIterable<Buffer>;
}

export interface FetchedBytes {
  url: URL;
  kind: AcceptedKind;
  mimeType: string;
  charset: string | null;
  bytes: Buffer;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

const ACCEPT_HEADERS: Record<AcceptedKind, string> = {
  html: 'text/html,application/xhtml+xml;q=0.9',
  json: 'application/json;q=0.9',
  image: 'image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9',
};

export class SafeFetcher {
  readonly policy: TargetPolicy;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly maxRedirects: number;
  private readonly resolver: Resolver;
  private readonly userAgent: string;
  private readonly connector: buildConnector.connector;

  constructor(options: SafeFetcherOptions) {
    this.policy = options.policy;
    this.timeoutMs = options.timeoutMs;
    this.maxBytes = options.maxBytes;
    this.maxRedirects = options.maxRedirects ?? 5;
    this.resolver = options.resolver ?? systemResolver;
    this.userAgent = options.userAgent ?? 'Mozilla/5.0 (compatible; AlloquyBot/1.0; link previews)';
    this.connector = buildConnector({
      timeout: options.timeoutMs,
      ...(options.ca ? { ca: withSystemCas(options.ca) } : {}),
    });
  }

  /**
   * Fetches `input` and hands the answer to `consume`; the connection is closed when `consume`
   * settles. Throws AttachmentError: `invalid_request` (not an http(s) URL), `forbidden` (a
   * refused address, port or redirect), `gateway_timeout`, `bad_gateway` (unreachable, an error
   * status, an unaccepted type, too large).
   */
  async fetch<T>(input: string | URL, req: SafeRequest, consume: (res: SafeResponse) => Promise<T>): Promise<T> {
    let url = checkUrl(input);
    const limitMs = Math.min(this.timeoutMs, req.deadline === undefined ? Infinity : req.deadline - Date.now());
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        controller.abort();
      },
      Math.max(0, limitMs),
    );
    const agents: Agent[] = [];
    try {
      for (let redirects = 0; ; redirects++) {
        const address = await this.checkTarget(url, controller.signal);
        const agent = this.pinnedAgent(url, address);
        agents.push(agent);
        const res = await request(url, {
          dispatcher: agent,
          method: 'GET',
          headers: {
            'user-agent': this.userAgent,
            accept: req.accept.map((k) => ACCEPT_HEADERS[k]).join(','),
            'accept-encoding': 'gzip, deflate, br',
          },
          signal: controller.signal,
        });
        if (REDIRECT_STATUSES.has(res.statusCode)) {
          discard(res.body);
          const location = header(res.headers.location);
          if (!location) throw new AttachmentError('bad_gateway', `the linked site answered HTTP ${res.statusCode} without a Location`);
          if (redirects >= this.maxRedirects) throw new AttachmentError('bad_gateway', `the link redirects more than ${this.maxRedirects} times`);
          url = checkRedirect(location, url);
          continue;
        }
        if (res.statusCode < 200 || res.statusCode >= 300) {
          discard(res.body);
          throw new AttachmentError('bad_gateway', `the linked site answered HTTP ${res.statusCode}`);
        }
        const { mimeType, charset } = parseContentType(header(res.headers['content-type']));
        const kind = req.accept.find((k) => kindAccepts(k, mimeType));
        if (!kind) {
          discard(res.body);
          throw new AttachmentError('bad_gateway', `the link is not ${describeAccepted(req.accept)} (${mimeType || 'no content type'})`);
        }
        const maxBytes = req.maxBytes?.[kind] ?? this.maxBytes;
        const declared = Number(header(res.headers['content-length']) ?? NaN);
        const encoding = (header(res.headers['content-encoding']) ?? 'identity').trim().toLowerCase();
        if (kind !== 'html' && encoding === 'identity' && declared > maxBytes) {
          discard(res.body);
          throw tooLarge(maxBytes);
        }
        return await consume({ url, status: res.statusCode, kind, mimeType, charset, body: limitedBody(res.body, encoding, maxBytes) });
      }
    } catch (err) {
      if (timedOut) throw new AttachmentError('gateway_timeout', `the linked site did not answer within ${Math.max(0, Math.round(limitMs))} ms`);
      if (err instanceof AttachmentError) throw err;
      throw new AttachmentError('bad_gateway', `the linked site could not be reached (${errorCode(err)})`);
    } finally {
      clearTimeout(timer);
      // destroy(), not close(): a page reader stops mid-body and the rest must not be read.
      await Promise.all(agents.map((a) => a.destroy().catch(() => undefined)));
    }
  }

  /** The whole body in memory, for small things only (oEmbed JSON, a capped preview image). */
  async fetchBytes(input: string | URL, req: SafeRequest): Promise<FetchedBytes> {
    return this.fetch(input, req, async (res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of res.body) chunks.push(chunk);
      return { url: res.url, kind: res.kind, mimeType: res.mimeType, charset: res.charset, bytes: Buffer.concat(chunks) };
    });
  }

  /** Resolves the URL's host and returns the one address to connect to, or throws `forbidden`. */
  private async checkTarget(url: URL, signal: AbortSignal): Promise<IpAddress> {
    const hostname = bareHostname(url);
    const literal = parseIp(hostname);
    let addresses: IpAddress[];
    if (literal) {
      addresses = [literal];
    } else {
      let answers: ReadonlyArray<{ address: string }>;
      try {
        answers = await abortable(this.resolver(hostname), signal);
      } catch (err) {
        if (signal.aborted) throw err;
        throw new AttachmentError('bad_gateway', `the host ${hostname} could not be resolved (${errorCode(err)})`);
      }
      // An answer that is not an address at all is refused, never passed on to a socket.
      addresses = answers.map((a) => parseIp(a.address) ?? { family: 4, bytes: new Uint8Array([0, 0, 0, 0]) });
    }
    const decision = this.policy.check({ hostname, port: effectivePort(url), addresses });
    if (!decision.allowed) throw new AttachmentError('forbidden', decision.message);
    return addresses[0]!;
  }

  /**
   * An Agent that connects every request for this URL's origin to `address`, whatever DNS says
   * by then. TLS gets the host name as SNI and for certificate checks.
   */
  private pinnedAgent(url: URL, address: IpAddress): Agent {
    const hostname = bareHostname(url);
    const pinnedIp = formatIp(address);
    const servername = parseIp(hostname) ? undefined : hostname;
    const base = this.connector;
    return new Agent({
      connections: 1,
      connect: (opts, callback) => {
        // This Agent serves one origin; anything else would bypass the check.
        if (opts.hostname.replace(/^\[|\]$/g, '') !== hostname) {
          callback(new Error('connection to an unchecked host refused'), null);
          return;
        }
        base({ ...opts, hostname: pinnedIp, ...(servername ? { servername } : {}) }, callback);
      },
    });
  }
}

/** A URL the fetcher will try: http(s), no credentials. `invalid_request` otherwise. */
export function checkUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new AttachmentError('invalid_request', 'the link is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AttachmentError('invalid_request', 'only http and https links have embeds');
  if (url.username || url.password) throw new AttachmentError('invalid_request', 'links with a user name or password have no embeds');
  return url;
}

function checkRedirect(location: string, from: URL): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new AttachmentError('bad_gateway', 'the linked site redirects to an invalid URL');
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:')
    throw new AttachmentError('forbidden', 'the link redirects to something other than http or https');
  if (next.username || next.password) throw new AttachmentError('forbidden', 'the link redirects to a URL with credentials');
  return next;
}

function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

function effectivePort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function parseContentType(value: string | undefined): { mimeType: string; charset: string | null } {
  if (!value) return { mimeType: '', charset: null };
  const [type, ...params] = value.split(';');
  let charset: string | null = null;
  for (const param of params) {
    const match = /^\s*charset\s*=\s*"?([^";\s]+)"?\s*$/i.exec(param);
    if (match) charset = match[1]!.toLowerCase();
  }
  return { mimeType: type!.trim().toLowerCase(), charset };
}

function kindAccepts(kind: AcceptedKind, mimeType: string): boolean {
  switch (kind) {
    case 'html':
      return mimeType === 'text/html' || mimeType === 'application/xhtml+xml';
    case 'json':
      // `application/json+oembed` is what the oEmbed spec's discovery link names; providers send it too.
      return mimeType === 'application/json' || mimeType === 'text/json' || mimeType.endsWith('+json') || mimeType === 'application/json+oembed';
    case 'image':
      // SVG is a document that can pull in other resources, not a bitmap to thumbnail.
      return mimeType.startsWith('image/') && mimeType !== 'image/svg+xml';
  }
}

function describeAccepted(accept: readonly AcceptedKind[]): string {
  const names: Record<AcceptedKind, string> = { html: 'a web page', json: 'a JSON document', image: 'an image' };
  return accept.map((k) => names[k]).join(' or ');
}

function tooLarge(maxBytes: number): AttachmentError {
  return new AttachmentError('bad_gateway', `the linked resource is larger than the ${maxBytes}-byte limit`);
}

/**
 * Drops a body unread. undici reports a body destroyed before its end as an error event; the
 * fetch is already settled by then, so nobody is left to hear it.
 */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

async function* limitedBody(raw: Readable, encoding: string, maxBytes: number): AsyncGenerator<Buffer> {
  // Stopping early (the head is over, the limit is reached) destroys the body: see discard().
  raw.on('error', () => undefined);
  let source: Readable = raw;
  if (encoding !== 'identity' && encoding !== '') {
    const decoder =
      encoding === 'gzip' || encoding === 'x-gzip'
        ? createGunzip()
        : encoding === 'deflate'
          ? createInflate()
          : encoding === 'br'
            ? createBrotliDecompress()
            : null;
    if (!decoder) {
      discard(raw);
      throw new AttachmentError('bad_gateway', `the linked site sent an unsupported content encoding (${encoding})`);
    }
    decoder.on('error', () => undefined);
    source = pipeline(raw, decoder, () => undefined);
  }
  let total = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) throw tooLarge(maxBytes);
      yield chunk;
    }
  } finally {
    source.destroy();
    raw.destroy();
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** An error's code only: messages of socket errors carry the internal address and port. */
function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return 'error';
}

let systemCas: string[] | null = null;
function withSystemCas(extra: string | Buffer | Array<string | Buffer>): Array<string | Buffer> {
  // Setting `ca` replaces Node's bundled roots; keep them so public sites still verify.
  systemCas ??= [...rootCertificates];
  return [...systemCas, ...(Array.isArray(extra) ? extra : [extra])];
}
