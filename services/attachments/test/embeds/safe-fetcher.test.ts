import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHeadMetadata } from '../../src/embeds/page-metadata.js';
import { REFUSED_ADDRESS_MESSAGE, TargetPolicy } from '../../src/embeds/policy.js';
import { SafeFetcher, type AcceptedKind, type Resolver, type SafeFetcherOptions } from '../../src/embeds/safe-fetcher.js';
import { AttachmentError } from '../../src/errors/attachment-error.js';
import { fakeResolver, makePng, ogPage, selfSignedCert, sendHtml, startServer, streamBytes, type TestServer } from './support.js';

async function failure(promise: Promise<unknown>): Promise<AttachmentError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AttachmentError);
    return err as AttachmentError;
  }
  throw new Error('expected the fetch to fail');
}

function fetcher(allow: string[], options: Partial<SafeFetcherOptions> = {}): SafeFetcher {
  return new SafeFetcher({ policy: new TargetPolicy(allow), timeoutMs: 5000, maxBytes: 256 * 1024, ...options });
}

async function text(f: SafeFetcher, url: string, accept: AcceptedKind[] = ['html']): Promise<{ url: string; body: string }> {
  return f.fetch(url, { accept }, async (res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(chunk);
    return { url: res.url.href, body: Buffer.concat(chunks).toString('utf8') };
  });
}

let page: TestServer;
let other: TestServer;

beforeAll(async () => {
  page = await startServer((req, res) => {
    if (req.url === '/to-other') {
      res.writeHead(302, { location: `${other.origin}/secret` });
      res.end();
    } else if (req.url === '/to-self') {
      res.writeHead(301, { location: '/landing' });
      res.end();
    } else if (req.url === '/to-file') {
      res.writeHead(302, { location: 'file:///etc/passwd' });
      res.end();
    } else if (req.url === '/to-rebound') {
      res.writeHead(307, { location: `http://inside.alloquy.test:${other.port}/secret` });
      res.end();
    } else if (req.url?.startsWith('/loop')) {
      const n = Number(req.url.slice(5) || 0);
      res.writeHead(302, { location: `/loop${n + 1}` });
      res.end();
    } else if (req.url === '/missing') {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<title>Not found</title>');
    } else if (req.url === '/pdf') {
      res.writeHead(200, { 'content-type': 'application/pdf' });
      res.end('%PDF-1.4');
    } else {
      sendHtml(res, ogPage({ title: `Page at ${req.url}` }));
    }
  });
  other = await startServer((_req, res) => sendHtml(res, ogPage({ title: 'internal secret' })));
});

afterAll(async () => {
  await page.close();
  await other.close();
});

describe('by default, loopback and private targets are refused before any connection', () => {
  const none = fetcher([]);

  it.each([
    ['127.0.0.1', (p: number) => `http://127.0.0.1:${p}/`],
    ['localhost', (p: number) => `http://localhost:${p}/`],
    ['[::1]', (p: number) => `http://[::1]:${p}/`],
    ['[::ffff:127.0.0.1]', (p: number) => `http://[::ffff:127.0.0.1]:${p}/`],
    ['127.1', (p: number) => `http://127.1:${p}/`],
    ['0x7f.1', (p: number) => `http://0x7f.1:${p}/`],
    ['2130706433', (p: number) => `http://2130706433:${p}/`],
    ['0177.0.0.1', (p: number) => `http://0177.0.0.1:${p}/`],
    ['0.0.0.0', (p: number) => `http://0.0.0.0:${p}/`],
  ])('%s', async (_name, url) => {
    const before = page.requests.length;
    const err = await failure(text(none, url(page.port)));
    expect(err.code).toBe('forbidden');
    expect(err.status).toBe(403);
    expect(err.message).toContain(REFUSED_ADDRESS_MESSAGE);
    expect(page.requests.length).toBe(before);
  });

  it('refuses the standard ports too, and link-local / private / CGNAT literals without connecting', async () => {
    for (const url of [
      'http://127.0.0.1/',
      'https://127.0.0.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/',
      'http://100.64.0.1/',
      'http://[fe80::1]/',
      'http://[fd00::1]/',
    ]) {
      expect((await failure(text(none, url))).code).toBe('forbidden');
    }
  });

  it('refuses a public-looking host name that resolves to loopback', async () => {
    const resolver = fakeResolver({ 'news.example.com': ['127.0.0.1'] });
    const f = fetcher([], { resolver });
    const before = page.requests.length;
    const err = await failure(text(f, `http://news.example.com:${page.port}/`));
    expect(err.code).toBe('forbidden');
    expect(err.message).toContain('loopback');
    expect(resolver.calls).toEqual(['news.example.com']);
    expect(page.requests.length).toBe(before);
    // Standard port, one public and one private answer: still refused.
    const mixed = fetcher([], { resolver: fakeResolver({ 'mixed.example.com': ['93.184.216.34', '192.168.1.10'] }) });
    expect((await failure(text(mixed, 'http://mixed.example.com/'))).code).toBe('forbidden');
  });

  it('refuses other schemes, credentials and malformed links as bad requests', async () => {
    for (const url of ['ftp://example.com/', 'file:///etc/passwd', 'gopher://127.0.0.1:70/', 'http://user:pass@example.com/', 'not a url', 'http://']) {
      expect((await failure(text(none, url))).code).toBe('invalid_request');
    }
  });

  it('refuses a public address on a port other than 80 and 443', async () => {
    const f = fetcher([], { resolver: fakeResolver({ 'www.example.com': ['93.184.216.34'] }) });
    const err = await failure(text(f, 'http://www.example.com:8080/'));
    expect(err.code).toBe('forbidden');
    expect(err.message).toMatch(/ports 80 and 443/);
  });
});

describe('with an allowlist', () => {
  it('fetches an allowlisted loopback server, and only on the allowlisted port', async () => {
    const f = fetcher([`127.0.0.1:${page.port}`]);
    const res = await text(f, `${page.origin}/article`);
    expect(res.body).toContain('Page at /article');
    expect((await failure(text(f, `${other.origin}/`))).code).toBe('forbidden');
    expect(other.requests.length).toBe(0);
  });

  it('connects to the checked address: the name is never looked up again, and Host stays the name', async () => {
    // `.test` names never resolve through the system: only the injected resolver knows this one,
    // so the request can only have reached the server through the pinned address.
    const resolver = fakeResolver({ 'pinned.alloquy.test': ['127.0.0.1'] });
    const f = fetcher([`pinned.alloquy.test:${page.port}`], { resolver });
    const res = await text(f, `http://pinned.alloquy.test:${page.port}/pinned`);
    expect(res.body).toContain('Page at /pinned');
    expect(resolver.calls).toEqual(['pinned.alloquy.test']);
    expect(page.requests.at(-1)).toMatchObject({ path: '/pinned', host: `pinned.alloquy.test:${page.port}` });
    expect(page.requests.at(-1)?.userAgent).toMatch(/AlloquyBot/);
  });

  it('a DNS answer that changes between check and connect cannot move the connection', async () => {
    // First answer: the allowlisted server. Any later answer: the other one. One lookup per hop.
    let answers = 0;
    const resolver = fakeResolver({ 'rebind.alloquy.test': () => (answers++ === 0 ? ['127.0.0.1'] : ['127.0.0.2']) });
    const f = fetcher([`127.0.0.1:${page.port}`], { resolver });
    const res = await text(f, `http://rebind.alloquy.test:${page.port}/rebind`);
    expect(res.body).toContain('Page at /rebind');
    expect(resolver.calls).toEqual(['rebind.alloquy.test']);
    // Asked again, the name now points elsewhere, which the allowlist does not cover.
    expect((await failure(text(f, `http://rebind.alloquy.test:${page.port}/rebind`))).code).toBe('forbidden');
  });

  it('checks every redirect again: an allowlisted server cannot send us to another loopback port', async () => {
    const f = fetcher([`127.0.0.1:${page.port}`]);
    const err = await failure(text(f, `${page.origin}/to-other`));
    expect(err.code).toBe('forbidden');
    expect(err.message).toContain(REFUSED_ADDRESS_MESSAGE);
    expect(other.requests.length).toBe(0);
    // Nor through a name that resolves to loopback.
    const viaName = fetcher([`127.0.0.1:${page.port}`], { resolver: fakeResolver({ 'inside.alloquy.test': ['127.0.0.1'] }) });
    expect((await failure(text(viaName, `${page.origin}/to-rebound`))).code).toBe('forbidden');
    expect(other.requests.length).toBe(0);
    // A redirect to a non-http scheme is refused too.
    expect((await failure(text(f, `${page.origin}/to-file`))).code).toBe('forbidden');
  });

  it('follows allowed redirects up to the limit and reports the final URL', async () => {
    const f = fetcher([`127.0.0.1:${page.port}`], { maxRedirects: 3 });
    expect(await text(f, `${page.origin}/to-self`)).toMatchObject({ url: `${page.origin}/landing`, body: expect.stringContaining('Page at /landing') });
    const err = await failure(text(f, `${page.origin}/loop0`));
    expect(err.code).toBe('bad_gateway');
    expect(err.message).toMatch(/redirects more than 3 times/);
  });

  it('answers error statuses and unaccepted types as bad gateway', async () => {
    const f = fetcher([`127.0.0.1:${page.port}`]);
    expect(await failure(text(f, `${page.origin}/missing`))).toMatchObject({ code: 'bad_gateway', message: expect.stringMatching(/HTTP 404/) });
    expect(await failure(text(f, `${page.origin}/pdf`))).toMatchObject({
      code: 'bad_gateway',
      message: expect.stringMatching(/not a web page \(application\/pdf\)/),
    });
  });

  it('reports an unreachable allowlisted target without leaking its address', async () => {
    const closed = await startServer(() => undefined);
    const port = closed.port;
    await closed.close();
    const err = await failure(text(fetcher([`127.0.0.1:${port}`]), `http://127.0.0.1:${port}/`));
    expect(err.code).toBe('bad_gateway');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message).not.toContain('127.0.0.1');
    const unknown = fetcher([], { resolver: fakeResolver({}) });
    expect((await failure(text(unknown, 'http://nowhere.alloquy.test/'))).message).toMatch(/could not be resolved \(ENOTFOUND\)/);
  });
});

describe('time and size limits', () => {
  let slow: TestServer;
  let huge: TestServer;
  const HUGE = 64 * 1024 * 1024;

  beforeAll(async () => {
    slow = await startServer(async (req, res) => {
      if (req.url === '/no-headers') return; // never answers
      // Headers at once, then a head that never ends, one byte now and then.
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write('<html><head><title>slow');
      const timer = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(timer));
    });
    huge = await startServer(async (req, res) => {
      if (req.url === '/endless-head') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<html><head><script>');
        await streamBytes(res, Buffer.alloc(64 * 1024, 'x'), HUGE);
      } else if (req.url === '/long-body') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write(ogPage({ title: 'Long page' }).replace('</body></html>', ''));
        await streamBytes(res, Buffer.from('<p>filler</p>'.repeat(5000)), HUGE);
      } else if (req.url === '/gzip') {
        const body = gzipSync(ogPage({ title: 'Compressed page' }));
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', 'content-length': body.length });
        res.end(body);
      } else if (req.url === '/gzip-bomb') {
        // 16 MiB of zeros inside a head that never ends, compressed to a few KiB.
        const body = gzipSync(Buffer.concat([Buffer.from('<head><script>'), Buffer.alloc(16 * 1024 * 1024)]));
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', 'content-length': body.length });
        res.end(body);
      } else if (req.url === '/big-image') {
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': HUGE });
        await streamBytes(res, Buffer.alloc(64 * 1024), HUGE);
      } else if (req.url === '/big-image-chunked') {
        res.writeHead(200, { 'content-type': 'image/png' });
        await streamBytes(res, Buffer.alloc(64 * 1024), HUGE);
      } else if (req.url === '/image') {
        const png = await makePng(32, 32);
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
        res.end(png);
      }
    });
  });

  afterAll(async () => {
    await slow.close();
    await huge.close();
  });

  it('gives up when no answer comes in time (504)', async () => {
    const f = fetcher([`127.0.0.1:${slow.port}`], { timeoutMs: 300 });
    const err = await failure(text(f, `${slow.origin}/no-headers`));
    expect(err.code).toBe('gateway_timeout');
    expect(err.status).toBe(504);
  });

  it('gives up when the body trickles past the time limit (504)', async () => {
    const f = fetcher([`127.0.0.1:${slow.port}`], { timeoutMs: 300 });
    const err = await failure(f.fetch(`${slow.origin}/trickle`, { accept: ['html'] }, (res) => readHeadMetadata(res.body, res.url, res.charset)));
    expect(err.code).toBe('gateway_timeout');
  });

  it('stops a page whose head never ends at the byte limit and drops the connection', async () => {
    const f = fetcher([`127.0.0.1:${huge.port}`], { maxBytes: 128 * 1024 });
    const abandonedBefore = huge.abandoned;
    const err = await failure(f.fetch(`${huge.origin}/endless-head`, { accept: ['html'] }, (res) => readHeadMetadata(res.body, res.url, res.charset)));
    expect(err.code).toBe('bad_gateway');
    expect(err.message).toMatch(/larger than the 131072-byte limit/);
    await expect.poll(() => huge.abandoned).toBe(abandonedBefore + 1);
  });

  it('reads a huge page only up to </head>', async () => {
    const f = fetcher([`127.0.0.1:${huge.port}`], { maxBytes: 128 * 1024 });
    const abandonedBefore = huge.abandoned;
    const meta = await f.fetch(`${huge.origin}/long-body`, { accept: ['html'] }, (res) => readHeadMetadata(res.body, res.url, res.charset));
    expect(meta.og.title).toBe('Long page');
    await expect.poll(() => huge.abandoned).toBe(abandonedBefore + 1);
  });

  it('decompresses gzip, and counts the decompressed bytes against the limit', async () => {
    const f = fetcher([`127.0.0.1:${huge.port}`], { maxBytes: 128 * 1024 });
    const meta = await f.fetch(`${huge.origin}/gzip`, { accept: ['html'] }, (res) => readHeadMetadata(res.body, res.url, res.charset));
    expect(meta.og.title).toBe('Compressed page');
    const err = await failure(f.fetch(`${huge.origin}/gzip-bomb`, { accept: ['html'] }, (res) => readHeadMetadata(res.body, res.url, res.charset)));
    expect(err.message).toMatch(/larger than the 131072-byte limit/);
  });

  it('refuses an image whose Content-Length is over its limit before reading it, and stops one without', async () => {
    const f = fetcher([`127.0.0.1:${huge.port}`]);
    const limits = { accept: ['image'] as AcceptedKind[], maxBytes: { image: 1024 * 1024 } };
    expect((await failure(f.fetchBytes(`${huge.origin}/big-image`, limits))).message).toMatch(/larger than the 1048576-byte limit/);
    expect((await failure(f.fetchBytes(`${huge.origin}/big-image-chunked`, limits))).message).toMatch(/larger than the 1048576-byte limit/);
    const small = await f.fetchBytes(`${huge.origin}/image`, limits);
    expect(small).toMatchObject({ kind: 'image', mimeType: 'image/png' });
    expect(small.bytes.subarray(1, 4).toString()).toBe('PNG');
    // A page is not an image.
    expect((await failure(f.fetchBytes(`${huge.origin}/long-body`, limits))).message).toMatch(/not an image \(text\/html\)/);
  });
});

describe('TLS to a pinned address', () => {
  const hostname = 'secure.alloquy.test';
  let tls: { key: string; cert: string };
  let secure: TestServer;
  let resolver: Resolver;

  beforeAll(async () => {
    tls = selfSignedCert(hostname);
    secure = await startServer((_req, res) => sendHtml(res, ogPage({ title: 'Secure page' })), { tls });
    resolver = fakeResolver({ [hostname]: ['127.0.0.1'] });
  });
  afterAll(() => secure.close());

  it('sends the host name as SNI and verifies the certificate against it', async () => {
    const f = fetcher([`${hostname}:${secure.port}`], { resolver, ca: tls.cert });
    const res = await text(f, `https://${hostname}:${secure.port}/`);
    expect(res.body).toContain('Secure page');
    expect(secure.requests.at(-1)).toMatchObject({ servername: hostname, host: `${hostname}:${secure.port}` });
  });

  it('fails on a certificate it does not trust, or one for another name', async () => {
    const untrusted = fetcher([`${hostname}:${secure.port}`], { resolver });
    expect((await failure(text(untrusted, `https://${hostname}:${secure.port}/`))).code).toBe('bad_gateway');
    const otherName = fetcher([`127.0.0.1:${secure.port}`, `other.alloquy.test:${secure.port}`], {
      resolver: fakeResolver({ 'other.alloquy.test': ['127.0.0.1'] }),
      ca: tls.cert,
    });
    expect((await failure(text(otherName, `https://other.alloquy.test:${secure.port}/`))).message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
  });
});

describe('IPv6 loopback', () => {
  it('is refused by default and allowed when allowlisted', async () => {
    let server: TestServer;
    try {
      server = await startServer((_req, res) => sendHtml(res, ogPage({ title: 'v6 page' })), { host: '::1' });
    } catch {
      return; // no IPv6 loopback on this machine
    }
    try {
      expect((await failure(text(fetcher([]), `${server.origin}/`))).code).toBe('forbidden');
      expect((await text(fetcher([`[::1]:${server.port}`]), `${server.origin}/`)).body).toContain('v6 page');
    } finally {
      await server.close();
    }
  });
});
