/**
 * The embed API end to end: the real attachments server (startAttachmentsServer) with the embed
 * module, the real control server and GrpcAuthorizer for tokens, and real loopback HTTP servers
 * as the linked sites. One attachments server runs with the default configuration; a second one
 * reads an `attachments.json` that allowlists the test site.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@alloquy/service-kit/log';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAttachmentsConfig } from '../../src/config/config.js';
import { createEmbeds } from '../../src/embeds/index.js';
import { startAttachmentsServer, type AttachmentsCore, type AttachmentsServer } from '../../src/server.js';
import { startTestStack, type TestStack } from '../support/stack.js';
import { makePng, ogPage, sendHtml, startServer, streamBytes, type TestServer } from './support.js';
import { forgedTokens } from '@alloquy/stack';

const embedModules = (core: AttachmentsCore) => [
  createEmbeds({ config: core.config, db: core.store.db, blobs: core.blobs, metrics: core.metrics, log: core.log.child({ component: 'embeds' }) }).routes,
];

let site: TestServer;
let internal: TestServer;
let stack: TestStack;
let allowHome: string;
let allowlisted: AttachmentsServer;
let allowBase: string;

beforeAll(async () => {
  const png = await makePng(800, 800);
  internal = await startServer((_req, res) => sendHtml(res, ogPage({ title: 'internal only' })));
  site = await startServer(async (req, res) => {
    switch (new URL(req.url ?? '/', 'http://site').pathname) {
      case '/post':
        return sendHtml(res, ogPage({ title: 'A post on loopback', description: 'Served by a test server', siteName: 'Loopback Blog', image: '/square.png' }));
      case '/square.png':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
        return res.end(png);
      case '/slow':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<html><head><title>never finished');
        return; // holds the connection open
      case '/huge':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<html><head><style>');
        return streamBytes(res, Buffer.alloc(64 * 1024, 'a'), 256 * 1024 * 1024);
      case '/to-internal':
        res.writeHead(302, { location: `${internal.origin}/` });
        return res.end();
      default:
        res.writeHead(404);
        return res.end();
    }
  });

  stack = await startTestStack({ attachments: { extraModules: embedModules } });

  // The "test configuration": an attachments.json that allowlists the test site's address and port.
  allowHome = mkdtempSync(join(tmpdir(), 'alloquy-embeds-allow-'));
  mkdirSync(allowHome, { recursive: true });
  writeFileSync(join(allowHome, 'attachments.json'), JSON.stringify({ embeds: { allow: [`127.0.0.1:${site.port}`], timeoutMs: 1000, maxBytes: 256 * 1024 } }));
  const config = loadAttachmentsConfig({
    ALLOQUY_HOME: allowHome,
    ALLOQUY_ATTACHMENTS_HOST: '127.0.0.1',
    ALLOQUY_ATTACHMENTS_PORT: '0',
    ALLOQUY_CONTROL_GRPC_ADDRESS: stack.control.grpc.address,
  });
  expect(config.embeds.allow).toEqual([`127.0.0.1:${site.port}`]);
  allowlisted = await startAttachmentsServer(config, createLogger('silent'), { authorizer: stack.authorizer, extraModules: embedModules });
  allowBase = `http://127.0.0.1:${allowlisted.httpPort}`;
});

afterAll(async () => {
  await allowlisted?.stop();
  await stack?.stop();
  await site?.close();
  await internal?.close();
  if (allowHome) rmSync(allowHome, { recursive: true, force: true });
});

async function embed(base: string, link: string | undefined, token: string | null = stack.tokens.alice) {
  const query = link === undefined ? '' : `?url=${encodeURIComponent(link)}`;
  const res = await fetch(`${base}/api/v1/embeds${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

const sitePath = (path: string) => site.requests.filter((r) => r.path === path).length;

describe('GET /api/v1/embeds', () => {
  it('refuses a page served on loopback under the default configuration', async () => {
    const res = await embed(stack.baseUrl, `${site.origin}/post`);
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ error: { code: 'forbidden', message: expect.stringContaining('embeds of private or loopback addresses are not allowed') } });
    expect(sitePath('/post')).toBe(0);
    for (const link of [
      `http://localhost:${site.port}/post`,
      `http://127.1:${site.port}/post`,
      `http://[::ffff:127.0.0.1]:${site.port}/post`,
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      expect((await embed(stack.baseUrl, link)).json.error.code).toBe('forbidden');
    }
    expect(sitePath('/post')).toBe(0);
  });

  it('embeds it when the test configuration allowlists it, with a preview served by the service', async () => {
    const res = await embed(allowBase, `${site.origin}/post`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      url: `${site.origin}/post`,
      title: 'A post on loopback',
      description: 'Served by a test server',
      site_name: 'Loopback Blog',
      image: {
        url: expect.stringMatching(new RegExp(`^${allowBase}/api/v1/embeds/previews/[0-9a-f]{64}\\.webp$`)),
        width: 400,
        height: 400,
        source_url: `${site.origin}/square.png`,
        placeholder: expect.any(String),
      },
      type: 'link',
      provider: 'Loopback Blog',
      video: null,
    });
    const image = await fetch(res.json.image.url);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/webp');
    expect(image.headers.get('x-content-type-options')).toBe('nosniff');
    const meta = await sharp(Buffer.from(await image.arrayBuffer())).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 400, height: 400 });

    // Cached: asking again does not fetch the page again.
    const before = sitePath('/post');
    expect((await embed(allowBase, `${site.origin}/post`)).json).toEqual(res.json);
    expect(sitePath('/post')).toBe(before);
  });

  it('still refuses what the allowlist does not cover, including through a redirect', async () => {
    const direct = await embed(allowBase, `${internal.origin}/`);
    expect(direct.status).toBe(403);
    const redirected = await embed(allowBase, `${site.origin}/to-internal`);
    expect(redirected.status).toBe(403);
    expect(redirected.json.error.code).toBe('forbidden');
    expect(internal.requests.length).toBe(0);
  });

  it('answers 504 for a page that does not finish in time, 502 for one over the size limit', async () => {
    const slow = await embed(allowBase, `${site.origin}/slow`);
    expect(slow.status).toBe(504);
    expect(slow.json.error.code).toBe('gateway_timeout');
    const huge = await embed(allowBase, `${site.origin}/huge`);
    expect(huge.status).toBe(502);
    expect(huge.json).toEqual({ error: { code: 'bad_gateway', message: 'the linked resource is larger than the 262144-byte limit' } });
    const missing = await embed(allowBase, `${site.origin}/missing`);
    expect(missing.status).toBe(502);
  });

  it('answers 400 for a missing or unusable link', async () => {
    for (const link of [
      undefined,
      '',
      'not a url',
      'ftp://example.com/file',
      'javascript:alert(1)',
      'http://user:pw@example.com/',
      `https://example.com/${'x'.repeat(2100)}`,
    ]) {
      const res = await embed(stack.baseUrl, link);
      expect([link, res.status, res.json.error.code]).toEqual([link, 400, 'invalid_request']);
    }
  });

  it('needs a valid access token', async () => {
    expect((await embed(stack.baseUrl, `${site.origin}/post`, null)).json.error.code).toBe('unauthorized');
    for (const token of forgedTokens(stack.tokens.alice)) {
      const res = await embed(stack.baseUrl, `${site.origin}/post`, token);
      expect([res.status, res.json.error.code]).toEqual([401, 'invalid_token']);
    }
  });
});

describe('GET /api/v1/embeds/previews/{file}', () => {
  it('serves only blobs that are embed previews', async () => {
    // An uploaded file is in the same BlobStore: its address must not open it here.
    const upload = new FormData();
    upload.set('channel', 'general');
    upload.set('file', new Blob([Buffer.from('private notes')], { type: 'text/plain' }), 'notes.txt');
    const uploaded = await fetch(`${allowBase}/api/v1/attachments`, {
      method: 'POST',
      body: upload,
      headers: { authorization: `Bearer ${stack.tokens.alice}` },
    });
    expect(uploaded.status).toBeLessThan(300);
    const sha = allowlisted.store.db.prepare('SELECT sha256 FROM attachments ORDER BY created_at DESC LIMIT 1').pluck().get() as string;
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    for (const file of [`${sha}.webp`, sha, '../../etc/passwd', 'x'.repeat(64) + '.webp']) {
      const res = await fetch(`${allowBase}/api/v1/embeds/previews/${encodeURIComponent(file)}`);
      expect([file, res.status]).toEqual([file, 404]);
    }
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${stack.baseUrl}/api/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/embeds', '/api/v1/embeds/previews/{file}']));
  });
});
