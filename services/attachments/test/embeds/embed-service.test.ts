import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmbedService } from '../../src/embeds/embed-service.js';
import { EmbedStore } from '../../src/embeds/embed-store.js';
import { TargetPolicy } from '../../src/embeds/policy.js';
import { createPreviewImageProcessor, PreviewMaker } from '../../src/embeds/preview-image.js';
import { SafeFetcher, type Resolver } from '../../src/embeds/safe-fetcher.js';
import { Unfurler } from '../../src/embeds/unfurler.js';
import { AttachmentError } from '../../src/errors/attachment-error.js';
import { AttachmentsMetrics } from '../../src/metrics/metrics.js';
import { LocalBlobStore } from '../../src/storage/local-blob-store.js';
import { makePng, ogPage, sendHtml, startServer, type TestServer } from './support.js';

let site: TestServer;
let elsewhere: TestServer;
let blobs: LocalBlobStore;
let png: Buffer;
let slowPageRelease: (() => void) | null = null;

beforeAll(async () => {
  png = await makePng(1200, 600);
  blobs = await LocalBlobStore.open(mkdtempSync(join(tmpdir(), 'alloquy-embed-blobs-')));
  elsewhere = await startServer(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
    res.end(png);
  });
  site = await startServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://site').pathname;
    if (path === '/article') {
      sendHtml(
        res,
        ogPage({
          title: 'An article',
          description: 'What it is about',
          siteName: 'The Site',
          image: '/cover.png',
          extraHead: '<meta property="og:type" content="article">',
        }),
      );
    } else if (path === '/cover.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
      res.end(png);
    } else if (path === '/photo.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(png);
    } else if (path === '/video-page') {
      // No OpenGraph title: the oEmbed document supplies title, provider and thumbnail.
      sendHtml(res, ogPage({ oembed: '/oembed?url=%2Fvideo-page&format=json' }));
    } else if (path.startsWith('/oembed')) {
      res.writeHead(200, { 'content-type': 'application/json+oembed' });
      res.end(
        JSON.stringify({
          version: '1.0',
          type: 'video',
          title: 'A video',
          provider_name: 'VideoHost',
          thumbnail_url: '/cover.png',
          thumbnail_width: 1200,
          thumbnail_height: 600,
          html: '<iframe></iframe>',
        }),
      );
    } else if (path === '/plain') {
      sendHtml(res, '<html><head><title>Only a title</title><meta name="description" content="Only a description"></head><body></body></html>');
    } else if (path === '/image-elsewhere') {
      sendHtml(res, ogPage({ title: 'Image on a refused port', image: `${elsewhere.origin}/secret.png` }));
    } else if (path === '/broken-image') {
      sendHtml(res, ogPage({ title: 'Broken image', image: '/not-an-image' }));
    } else if (path === '/mislabelled-page') {
      sendHtml(res, ogPage({ title: 'Mislabelled image', image: '/mislabelled.png' }));
    } else if (path === '/mislabelled.png') {
      // A JPEG the server calls a PNG: the type comes from the bytes.
      const jpeg = await sharp(png).jpeg().toBuffer();
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(jpeg);
    } else if (path === '/not-an-image') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end('this is not a png');
    } else if (path === '/slow') {
      await new Promise<void>((resolve) => {
        slowPageRelease = resolve;
      });
      sendHtml(res, ogPage({ title: 'Slow but shared' }));
    } else if (path === '/redirect-to-elsewhere') {
      res.writeHead(302, { location: `${elsewhere.origin}/` });
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
});

afterAll(async () => {
  await site.close();
  await elsewhere.close();
});

interface Harness {
  service: EmbedService;
  store: EmbedStore;
  metrics: AttachmentsMetrics;
  clock: { now: number };
}

function harness(
  db: Database.Database,
  allow: string[],
  options: { maxPixels?: number; resolver?: Resolver; concurrency?: number; maxQueued?: number } = {},
): Harness {
  const policy = new TargetPolicy(allow);
  const fetcher = new SafeFetcher({ policy, timeoutMs: 5000, maxBytes: 512 * 1024, ...(options.resolver ? { resolver: options.resolver } : {}) });
  const store = new EmbedStore(db);
  const previews = new PreviewMaker({ images: createPreviewImageProcessor(options.maxPixels ?? 100_000_000), blobs, store });
  const unfurler = new Unfurler({ fetcher, previews, timeoutMs: 5000, maxPageBytes: 512 * 1024, maxImageBytes: 5 * 1024 * 1024 });
  const metrics = new AttachmentsMetrics();
  const clock = { now: Date.now() };
  const service = new EmbedService({
    unfurler,
    store,
    policyFingerprint: policy.fingerprint,
    metrics,
    now: () => clock.now,
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.maxQueued !== undefined ? { maxQueued: options.maxQueued } : {}),
  });
  return { service, store, metrics, clock };
}

async function embedCount(metrics: AttachmentsMetrics, result: string): Promise<number> {
  const values = (await metrics.embeds.get()).values;
  return values.find((v) => v.labels.result === result)?.value ?? 0;
}

function pageRequests(path: string): number {
  return site.requests.filter((r) => r.path === path).length;
}

let db: Database.Database;
let allowed: Harness;

let dbDir: string;

beforeEach(() => {
  dbDir = mkdtempSync(join(tmpdir(), 'alloquy-embed-db-'));
  db = new Database(join(dbDir, 'attachments.sqlite'));
  allowed = harness(db, [`127.0.0.1:${site.port}`]);
});

afterEach(() => {
  db.close();
  rmSync(dbDir, { recursive: true, force: true });
});

describe('building embeds', () => {
  it('reads OpenGraph and makes a small WebP preview stored in the BlobStore', async () => {
    const embed = await allowed.service.lookup(`${site.origin}/article#comments`);
    expect(embed).toEqual({
      url: `${site.origin}/article`,
      title: 'An article',
      description: 'What it is about',
      site_name: 'The Site',
      image: {
        preview: expect.stringMatching(/^[0-9a-f]{64}$/),
        width: 400,
        height: 200,
        source_url: `${site.origin}/cover.png`,
        placeholder: expect.stringMatching(/^[A-Za-z0-9+/=]{10,}$/),
      },
      type: 'article',
      provider: 'The Site',
      video: null,
    });
    const preview = allowed.store.preview(embed.image!.preview)!;
    expect(preview).toMatchObject({ contentType: 'image/webp', width: 400, height: 200 });
    const stored = await blobs.stat(preview.sha256);
    expect(stored?.size).toBe(preview.size);
    const meta = await sharp(blobs.localPath(preview.sha256)).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 400, height: 200 });
    expect(meta.exif).toBeUndefined();
  });

  it('discovers the oEmbed document and uses it where the page says nothing', async () => {
    const embed = await allowed.service.lookup(`${site.origin}/video-page`);
    expect(embed).toMatchObject({
      title: 'A video',
      type: 'video',
      provider: 'VideoHost',
      image: { width: 400, height: 200, source_url: `${site.origin}/cover.png` },
    });
    expect(pageRequests('/oembed?url=%2Fvideo-page&format=json')).toBe(1);
  });

  it('falls back to <title> and the meta description, and the host as provider', async () => {
    expect(await allowed.service.lookup(`${site.origin}/plain`)).toMatchObject({
      title: 'Only a title',
      description: 'Only a description',
      site_name: null,
      image: null,
      type: 'link',
      provider: '127.0.0.1',
    });
  });

  it('embeds a direct image link as an image', async () => {
    expect(await allowed.service.lookup(`${site.origin}/photo.png`)).toMatchObject({ type: 'image', title: null, image: { width: 400, height: 200 } });
  });

  it('trusts the bytes, not the Content-Type, of a preview image', async () => {
    expect(await allowed.service.lookup(`${site.origin}/mislabelled-page`)).toMatchObject({ title: 'Mislabelled image', image: { width: 400, height: 200 } });
  });

  it('leaves the image out when it is on a refused target, does not decode, or has too many pixels', async () => {
    const refused = await allowed.service.lookup(`${site.origin}/image-elsewhere`);
    expect(refused).toMatchObject({ title: 'Image on a refused port', image: null });
    expect(elsewhere.requests.length).toBe(0);
    expect(await allowed.service.lookup(`${site.origin}/broken-image`)).toMatchObject({ title: 'Broken image', image: null });
    // 1200×600 is over a 100,000-pixel limit: refused from the header, no preview.
    const tight = harness(db, [`127.0.0.1:${site.port}`], { maxPixels: 100_000 });
    expect(await tight.service.lookup(`${site.origin}/article?tight`)).toMatchObject({ title: 'An article', image: null });
  });
});

describe('the cache', () => {
  it('answers a second lookup without fetching again', async () => {
    const first = await allowed.service.lookup(`${site.origin}/article?cache=1`);
    const fetched = pageRequests('/article?cache=1');
    expect(fetched).toBe(1);
    const second = await allowed.service.lookup(`${site.origin}/article?cache=1#other-fragment`);
    expect(second).toEqual(first);
    expect(pageRequests('/article?cache=1')).toBe(1);
    expect(await embedCount(allowed.metrics, 'cached')).toBe(1);
    expect(await embedCount(allowed.metrics, 'fetched')).toBe(1);
    // Survives a restart: a new service on the same database still has it.
    const restarted = harness(db, [`127.0.0.1:${site.port}`]);
    expect(await restarted.service.lookup(`${site.origin}/article?cache=1`)).toEqual(first);
    expect(pageRequests('/article?cache=1')).toBe(1);
  });

  it('fetches again once the entry has expired', async () => {
    await allowed.service.lookup(`${site.origin}/plain?ttl`);
    allowed.clock.now += 25 * 60 * 60 * 1000;
    await allowed.service.lookup(`${site.origin}/plain?ttl`);
    expect(pageRequests('/plain?ttl')).toBe(2);
  });

  it('shares one fetch between concurrent lookups of the same link', async () => {
    const url = `${site.origin}/slow`;
    const lookups = Array.from({ length: 5 }, () => allowed.service.lookup(url));
    await expect.poll(() => slowPageRelease !== null).toBe(true);
    slowPageRelease!();
    const results = await Promise.all(lookups);
    expect(new Set(results.map((r) => r.title))).toEqual(new Set(['Slow but shared']));
    expect(pageRequests('/slow')).toBe(1);
  });

  it('refuses new links beyond its fetch queue with 429, without caching that', async () => {
    slowPageRelease = null;
    const busy = harness(db, [`127.0.0.1:${site.port}`], { concurrency: 1, maxQueued: 0 });
    const holding = busy.service.lookup(`${site.origin}/slow?queue`);
    await expect.poll(() => slowPageRelease !== null).toBe(true);
    await expect(busy.service.lookup(`${site.origin}/plain?queue`)).rejects.toMatchObject({ code: 'too_many_requests', status: 429 });
    slowPageRelease!();
    expect((await holding).title).toBe('Slow but shared');
    expect((await busy.service.lookup(`${site.origin}/plain?queue`)).title).toBe('Only a title');
  });

  it('remembers a refusal, but not across a change of the allowlist', async () => {
    const closed = harness(db, []);
    const url = `${site.origin}/plain?refusal`;
    for (let i = 0; i < 2; i++) {
      const err = await closed.service.lookup(url).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AttachmentError);
      expect(err).toMatchObject({ code: 'forbidden', message: expect.stringContaining('embeds of private or loopback addresses are not allowed') });
    }
    expect(await embedCount(closed.metrics, 'refused')).toBe(1);
    expect(await embedCount(closed.metrics, 'cached')).toBe(1);
    expect(pageRequests('/plain?refusal')).toBe(0);
    // Same database, the allowlist now covers the site: the cached refusal does not apply.
    expect(await allowed.service.lookup(url)).toMatchObject({ title: 'Only a title' });
    // And an embed fetched under the allowlist is not served once the entry is gone.
    await expect(closed.service.lookup(`${site.origin}/article`)).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('refuses a redirect from the allowlisted site to a loopback port that is not', async () => {
    await expect(allowed.service.lookup(`${site.origin}/redirect-to-elsewhere`)).rejects.toMatchObject({ code: 'forbidden' });
    expect(elsewhere.requests.length).toBe(0);
  });

  it('does not cache a bad link', async () => {
    await expect(allowed.service.lookup('javascript:alert(1)')).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(allowed.service.lookup(`http://x/${'a'.repeat(3000)}`)).rejects.toMatchObject({ code: 'invalid_request' });
    expect(db.prepare('SELECT COUNT(*) FROM embed_cache').pluck().get()).toBe(0);
  });

  it('prunes expired entries and forgets previews nothing refers to', async () => {
    const embed = await allowed.service.lookup(`${site.origin}/article?prune`);
    const sha = embed.image!.preview;
    allowed.clock.now += 48 * 60 * 60 * 1000;
    allowed.service.prune();
    expect(db.prepare('SELECT COUNT(*) FROM embed_cache').pluck().get()).toBe(0);
    expect(allowed.store.preview(sha)).toBeUndefined();
    // The blob stays: the BlobStore is shared and content-addressed.
    expect(await blobs.stat(sha)).toBeDefined();
  });
});
