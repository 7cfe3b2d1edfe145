import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, sha256, uploadFile, uploadMultipart, type HttpResult } from '../../bench/client.js';
import { ATTACHMENT_TAG, parseAttachmentTag } from '@alloquy/protocol/irc';
import { writePngBomb } from '../images/support/png-bomb.js';
import { filesIn, makeGif, makeJpeg, makePng, storedBlobs } from '../support/files.js';
import { EVERYONE_MAX_BYTES, MiB, startTestStack, type TestStack } from '../support/stack.js';
import { eventually, forgedTokens } from '@alloquy/stack';

describe('multipart uploads', () => {
  let stack: TestStack;
  let storageDir: string;

  beforeAll(async () => {
    stack = await startTestStack({ media: true });
    storageDir = stack.attachments.config.storage.dir;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** Runs a refused request and checks that nothing of it stayed on disk. */
  async function refused(run: () => Promise<HttpResult>, status: number, code: string): Promise<HttpResult> {
    const before = storedBlobs(storageDir);
    const res = await run();
    expect(res.status, JSON.stringify(res.json)).toBe(status);
    expect(res.json.error.code).toBe(code);
    // The partial file goes when the failed request has been cleaned up, which may be a moment after the answer.
    await eventually(() => filesIn(join(storageDir, 'tmp')).length === 0, 5000, 'the temp folder to be empty');
    expect(storedBlobs(storageDir)).toEqual(before);
    return res;
  }

  async function expectImageUpload(data: Buffer, filename: string, type: string, width: number, height: number) {
    const res = await uploadFile(stack.baseUrl, stack.tokens.alice, 'general', filename, data, 'application/x-whatever');
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const a = res.json;
    expect(a).toMatchObject({
      content_type: type,
      kind: 'image',
      inline: true,
      size: data.length,
      sha256: sha256(data),
      filename,
      channel: 'general',
      uploader: 'alice',
      width,
      height,
    });
    expect(a.url).toBe(`${stack.baseUrl}/files/${a.id}/${encodeURIComponent(filename)}`);
    expect(a.url_expires_at).toBeNull();
    expect(typeof a.placeholder).toBe('string');

    // The message: a plain URL for stock clients, the metadata in a client tag.
    expect(a.irc_text).toBe(a.url);
    const tag = parseAttachmentTag(a.irc_tags[ATTACHMENT_TAG]);
    expect(tag).toMatchObject({ v: 1, id: a.id, n: filename, t: type, s: data.length, k: 'image', w: width, h: height });
    expect(tag!.th).toEqual(a.thumbnails.map((t: { width: number; height: number }) => [t.width, t.height]));

    const download = await request(a.url);
    expect(download.status).toBe(200);
    expect(download.headers['content-type']).toBe(type);
    expect(download.headers['content-disposition']).toMatch(/^inline; /);
    expect(download.headers['x-content-type-options']).toBe('nosniff');
    expect(sha256(download.body)).toBe(a.sha256);

    // Thumbnails: each one exists, is WebP, and has the size it is announced with, never larger than the image.
    expect(a.thumbnails.length).toBeGreaterThan(0);
    for (const t of a.thumbnails) {
      const thumb = await request(t.url);
      expect(thumb.status).toBe(200);
      expect(thumb.headers['content-type']).toBe('image/webp');
      const meta = await sharp(thumb.body).metadata();
      expect([meta.width, meta.pageHeight ?? meta.height]).toEqual([t.width, t.height]);
      expect(Math.max(t.width, t.height)).toBeLessThanOrEqual(Math.max(width, height));
    }
    return a;
  }

  it('stores a JPEG with its dimensions, a placeholder and thumbnails at their sizes', async () => {
    const a = await expectImageUpload(await makeJpeg(1600, 1200), 'photo.jpg', 'image/jpeg', 1600, 1200);
    expect(a.thumbnails.map((t: { width: number }) => t.width)).toEqual([160, 480, 1280]);
    expect(a.thumbnails.map((t: { height: number }) => t.height)).toEqual([120, 360, 960]);
  });

  it('stores a PNG', async () => {
    await expectImageUpload(await makePng(640, 480), 'diagram.png', 'image/png', 640, 480);
  });

  it('stores an animated GIF', async () => {
    const gif = await expectImageUpload(await makeGif(96, 64, 4), 'wave.gif', 'image/gif', 96, 64);
    expect(gif.animated).toBe(true);
    expect(parseAttachmentTag(gif.irc_tags[ATTACHMENT_TAG])!.a).toBe(1);
  });

  it('takes the channel after the file, from the query, and with a #', async () => {
    const data = randomBytes(1000);
    const after = await uploadMultipart(stack.baseUrl, {
      token: stack.tokens.bob,
      parts: [
        { name: 'file', filename: 'a.bin', data },
        { name: 'channel', value: 'general' },
      ],
    });
    expect(after.status, JSON.stringify(after.json)).toBe(201);
    expect(after.json).toMatchObject({ channel: 'general', kind: 'file', content_type: 'application/octet-stream', size: 1000 });

    const query = await uploadMultipart(stack.baseUrl, {
      token: stack.tokens.bob,
      query: '?channel=general',
      parts: [{ name: 'file', filename: 'b.bin', data }],
    });
    expect(query.status, JSON.stringify(query.json)).toBe(201);
    expect(query.json.channel).toBe('general');

    const hashed = await uploadFile(stack.baseUrl, stack.tokens.bob, '#General', 'c.bin', data);
    expect(hashed.status, JSON.stringify(hashed.json)).toBe(201);
    expect(hashed.json.channel).toBe('general');
    // Same bytes, three attachments, one blob.
    expect(new Set([after.json.sha256, query.json.sha256, hashed.json.sha256]).size).toBe(1);
    expect(storedBlobs(storageDir).filter((b) => b === after.json.sha256)).toHaveLength(1);
  });

  it('sniffs the type from the bytes: HTML named .png is stored as text/html and only ever downloaded as octet-stream', async () => {
    const html = Buffer.from('<!DOCTYPE html><html><body><script>fetch("/steal?c="+document.cookie)</script></body></html>');
    const res = await uploadFile(stack.baseUrl, stack.tokens.alice, 'general', 'cute-cat.png', html, 'image/png');
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json).toMatchObject({ content_type: 'text/html', kind: 'file', inline: false, thumbnails: [] });
    expect(res.json.width).toBeUndefined();

    const download = await request(res.json.url);
    expect(download.status).toBe(200);
    expect(download.headers['content-type']).toBe('application/octet-stream');
    expect(download.headers['content-disposition']).toMatch(/^attachment; filename="cute-cat.png"/);
    expect(download.headers['x-content-type-options']).toBe('nosniff');
    expect(download.headers['content-security-policy']).toContain('sandbox');
    expect(download.body).toEqual(html);
  });

  it('serves SVG (script-capable) as an octet-stream download too', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" height="9"/></svg>');
    const res = await uploadFile(stack.baseUrl, stack.tokens.alice, 'general', 'logo.svg', svg, 'image/svg+xml');
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ content_type: 'image/svg+xml', kind: 'file', inline: false });
    const download = await request(res.json.url);
    expect(download.headers['content-type']).toBe('application/octet-stream');
    expect(download.headers['content-disposition']).toMatch(/^attachment; /);
  });

  it('names an unnamed file after its type and cleans a hostile name', async () => {
    const png = await makePng(4, 4);
    const unnamed = await uploadMultipart(stack.baseUrl, {
      token: stack.tokens.alice,
      parts: [
        { name: 'channel', value: 'general' },
        { name: 'file', filename: '', data: png },
      ],
    });
    expect(unnamed.status, JSON.stringify(unnamed.json)).toBe(201);
    expect(unnamed.json.filename).toBe('file.png');
    const hostile = await uploadFile(stack.baseUrl, stack.tokens.alice, 'general', '../../x\u202Egnp.exe', png);
    expect(hostile.status).toBe(201);
    expect(hostile.json.filename).toBe('xgnp.exe');
  });

  it('refuses an upload without a token or with a forged one (401) before reading the file', async () => {
    const data = randomBytes(2000);
    await refused(() => uploadFile(stack.baseUrl, undefined, 'general', 'a.bin', data), 401, 'unauthorized');
    for (const token of forgedTokens(stack.tokens.alice)) {
      await refused(() => uploadFile(stack.baseUrl, token, 'general', 'a.bin', data), 401, 'invalid_token');
    }
  });

  it('refuses an upload into a channel without ATTACH_FILES (403), an unknown channel (404) and a bad name (400)', async () => {
    const data = randomBytes(2000);
    await refused(() => uploadFile(stack.baseUrl, stack.tokens.bob, 'announcements', 'a.bin', data), 403, 'forbidden');
    // File before channel: the refusal comes once the channel is known, and the stored bytes go.
    await refused(
      () =>
        uploadMultipart(stack.baseUrl, {
          token: stack.tokens.bob,
          parts: [
            { name: 'file', filename: 'a.bin', data },
            { name: 'channel', value: 'announcements' },
          ],
        }),
      403,
      'forbidden',
    );
    await refused(
      () => uploadMultipart(stack.baseUrl, { token: stack.tokens.bob, query: '?channel=announcements', parts: [{ name: 'file', filename: 'a.bin', data }] }),
      403,
      'forbidden',
    );
    await refused(() => uploadFile(stack.baseUrl, stack.tokens.alice, 'no-such-channel', 'a.bin', data), 404, 'not_found');
    await refused(() => uploadFile(stack.baseUrl, stack.tokens.alice, 'not a channel!', 'a.bin', data), 400, 'invalid_request');
  });

  it('refuses a form without a file or a channel, and a body that is not multipart', async () => {
    await refused(() => uploadMultipart(stack.baseUrl, { token: stack.tokens.alice, parts: [{ name: 'channel', value: 'general' }] }), 400, 'invalid_request');
    await refused(
      () => uploadMultipart(stack.baseUrl, { token: stack.tokens.alice, parts: [{ name: 'file', filename: 'a.bin', data: randomBytes(100) }] }),
      400,
      'invalid_request',
    );
    await refused(
      () =>
        request(`${stack.baseUrl}/api/v1/attachments?channel=general`, {
          method: 'POST',
          headers: { authorization: `Bearer ${stack.tokens.alice}`, 'content-type': 'application/json' },
          body: Buffer.from('{"file":"no"}'),
        }),
      415,
      'unsupported_media_type',
    );
  });

  describe('hostile multipart bodies are refused (400) and leave nothing behind', () => {
    const post = (contentType: string, body: Buffer) => () =>
      request(`${stack.baseUrl}/api/v1/attachments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.tokens.alice}`, 'content-type': contentType },
        body,
      });
    const part = (boundary: string, name: string, filename?: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"`}\r\n\r\n`;

    it('a body that ends inside the file (no closing boundary), though the request is complete', async () => {
      const b = 'truncated';
      const body = Buffer.concat([Buffer.from(`${part(b, 'channel')}general\r\n${part(b, 'file', 'x.bin')}`), randomBytes(256 * 1024)]);
      await refused(post(`multipart/form-data; boundary=${b}`, body), 400, 'invalid_request');
    });

    it('a multipart type without a boundary', async () => {
      await refused(post('multipart/form-data', Buffer.from(`${part('x', 'channel')}general\r\n--x--\r\n`)), 400, 'invalid_request');
    });

    it('two files in one form, the first one already stored', async () => {
      const b = 'twofiles';
      const body = Buffer.from(
        `${part(b, 'channel')}general\r\n${part(b, 'file', 'a.bin')}${'a'.repeat(5000)}\r\n${part(b, 'file', 'b.bin')}${'b'.repeat(5000)}\r\n--${b}--\r\n`,
      );
      const res = await refused(post(`multipart/form-data; boundary=${b}`, body), 400, 'invalid_request');
      expect(res.json.error.message).toMatch(/one file/);
    });

    it('more parts than a form of two fields needs', async () => {
      const b = 'manyparts';
      const fields = Array.from({ length: 40 }, (_, i) => `${part(b, `f${i}`)}x\r\n`).join('');
      await refused(post(`multipart/form-data; boundary=${b}`, Buffer.from(`${part(b, 'channel')}general\r\n${fields}--${b}--\r\n`)), 400, 'invalid_request');
    });
  });

  it("refuses a file over the uploader's limit (413) and keeps none of it", async () => {
    const tooBig = EVERYONE_MAX_BYTES + MiB;
    async function* big(): AsyncGenerator<Buffer> {
      for (let sent = 0; sent < tooBig; sent += 64 * 1024) yield randomBytes(64 * 1024);
    }
    // Bob's role limit applies as the bytes arrive...
    await refused(
      () =>
        uploadMultipart(stack.baseUrl, {
          token: stack.tokens.bob,
          parts: [
            { name: 'channel', value: 'general' },
            { name: 'file', filename: 'big.bin', data: big() },
          ],
        }),
      413,
      'payload_too_large',
    );
    // ... or, with the channel after the file, as soon as the channel is known.
    await refused(
      () =>
        uploadMultipart(stack.baseUrl, {
          token: stack.tokens.bob,
          parts: [
            { name: 'file', filename: 'big.bin', data: big() },
            { name: 'channel', value: 'general' },
          ],
        }),
      413,
      'payload_too_large',
    );
    // Alice's role allows it.
    const ok = await uploadMultipart(stack.baseUrl, {
      token: stack.tokens.alice,
      parts: [
        { name: 'channel', value: 'general' },
        { name: 'file', filename: 'big.bin', data: big() },
      ],
    });
    expect(ok.status).toBe(201);
    expect(ok.json.size).toBe(Math.ceil(tooBig / (64 * 1024)) * 64 * 1024);
  });

  it('refuses a 50,000×50,000 PNG bomb (422) and keeps nothing, thumbnails included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alloquy-bomb-'));
    try {
      const path = join(dir, 'bomb.png');
      await writePngBomb(path, 50_000, 50_000);
      const bomb = readFileSync(path);
      const res = await refused(() => uploadFile(stack.baseUrl, stack.tokens.alice, 'general', 'innocent.png', bomb), 422, 'unprocessable_image');
      expect(res.json.error.message).toMatch(/pixel/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps nothing of an upload whose connection drops mid-file', async () => {
    const before = storedBlobs(storageDir);
    const boundary = 'cut-boundary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="channel"\r\n\r\ngeneral\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.bin"\r\n\r\n`,
    );
    async function* body(): AsyncGenerator<Buffer> {
      yield head;
      for (let i = 0; i < 64; i++) yield randomBytes(64 * 1024);
    }
    await expect(
      request(`${stack.baseUrl}/api/v1/attachments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.tokens.alice}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
        body: body(),
        cutAfterBytes: head.length + 1024 * 1024,
      }),
    ).rejects.toThrow();
    await eventually(() => filesIn(join(storageDir, 'tmp')).length === 0, 5000, 'the partial file to be deleted');
    expect(storedBlobs(storageDir)).toEqual(before);
  });

  it('describes the routes in the OpenAPI document', async () => {
    const res = await request(`${stack.baseUrl}/api/v1/openapi.json`);
    expect(Object.keys(res.json.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/attachments',
        '/api/v1/attachments/{id}',
        '/api/v1/uploads',
        '/api/v1/uploads/{id}',
        '/files/{id}/{filename}',
        '/files/{id}/thumbnails/{size}',
      ]),
    );
  });
});
