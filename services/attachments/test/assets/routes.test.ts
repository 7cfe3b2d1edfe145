/**
 * Avatars, banners, the guild icon and custom emoji end to end: the real attachments server with
 * the assets module, the real control server (roles, permissions) and the real GrpcAuthorizer,
 * real sharp, a real LocalBlobStore on disk.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Permission } from '@alloquy/protocol/permissions';
import { OPERATOR } from '@alloquy/control/testing';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAssets } from '../../src/assets/index.js';
import { createEmbeds } from '../../src/embeds/index.js';
import type { AttachmentsCore } from '../../src/server.js';
import { uploadMultipart } from '../../bench/client.js';
import { writePngBomb } from '../images/support/png-bomb.js';
import { makeGif, makeJpeg, makePng, storedBlobs } from '../support/files.js';
import { MiB, PASSWORD, startTestStack, type TestStack } from '../support/stack.js';

/** As main.ts wires them: embeds and assets migrate into the same attachments database. */
const assetModules = (core: AttachmentsCore) => [
  createEmbeds({ config: core.config, db: core.store.db, blobs: core.blobs }).routes,
  createAssets({ config: core.config, db: core.store.db, blobs: core.blobs, authorizer: core.authorizer, log: core.log }).routes,
];

let stack: TestStack;
let ownerToken: string;
let scratch: string;
let storageDir: string;

beforeAll(async () => {
  stack = await startTestStack({ attachments: { extraModules: assetModules } });
  ownerToken = (await stack.control.accounts.login('owner', PASSWORD, { via: 'cli' })).access_token;
  // carol may manage emoji; bob and alice may not.
  stack.control.guild.createRole(OPERATOR, { name: 'emoji keepers', permissions: Permission.MANAGE_EMOJIS });
  stack.control.guild.addMemberRole(OPERATOR, 'carol', 'emoji keepers');
  scratch = mkdtempSync(join(tmpdir(), 'alloquy-assets-test-'));
  storageDir = stack.attachments.config.storage.dir;
});

afterAll(async () => {
  await stack?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Headers;
  json: any;
  bytes: Buffer;
}

async function call(
  method: string,
  path: string,
  options: { token?: string; body?: Buffer | Readable; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (options.body instanceof Readable) {
    init.body = Readable.toWeb(options.body) as ReadableStream;
    init.duplex = 'half';
  } else if (options.body) {
    init.body = options.body;
  }
  const res = await fetch(`${stack.baseUrl}${path}`, init);
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: unknown;
  if (res.headers.get('content-type')?.includes('json')) json = JSON.parse(bytes.toString('utf8'));
  return { status: res.status, headers: res.headers, json, bytes };
}

/** Temp folders of received bodies: removed before any answer is sent. */
const assetTempDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('alloquy-asset-'));

describe('avatars and banners', () => {
  it('sets, serves, replaces and deletes an avatar, dropping unused blobs', async () => {
    const before = storedBlobs(storageDir);
    const put = await call('PUT', '/api/v1/me/avatar', {
      token: stack.tokens.alice,
      body: await makeJpeg(640, 360),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ width: 256, height: 256, content_type: 'image/webp' });
    expect(put.json.url).toMatch(/\/avatars\/alice\.webp\?v=[0-9a-f]{16}$/);

    const got = await call('GET', '/avatars/alice.webp');
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/webp');
    expect(got.headers.get('cache-control')).toMatch(/public/);
    const meta = await sharp(got.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 256, 256]);
    const etag = got.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    expect((await call('GET', '/avatars/alice.webp', { headers: { 'if-none-match': etag } })).status).toBe(304);
    const first = storedBlobs(storageDir).filter((b) => !before.includes(b));
    expect(first).toHaveLength(1);

    // A new avatar replaces the old one; the old blob goes.
    const again = await call('PUT', '/api/v1/me/avatar', { token: stack.tokens.alice, body: await makePng(100, 300) });
    expect(again.status).toBe(200);
    expect(again.json.url).not.toBe(put.json.url);
    const second = storedBlobs(storageDir).filter((b) => !before.includes(b));
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first[0]);
    expect((await call('GET', '/avatars/alice.webp', { headers: { 'if-none-match': etag } })).status).toBe(200);

    expect((await call('DELETE', '/api/v1/me/avatar', { token: stack.tokens.alice })).status).toBe(204);
    expect((await call('GET', '/avatars/alice.webp')).status).toBe(404);
    expect(storedBlobs(storageDir)).toEqual(before);
    const missing = await call('DELETE', '/api/v1/me/avatar', { token: stack.tokens.alice });
    expect([missing.status, missing.json.error.code]).toEqual([404, 'not_found']);
  });

  it("keeps an avatar's blob when an upload of the very same bytes is refused", async () => {
    const put = await call('PUT', '/api/v1/me/avatar', { token: stack.tokens.carol, body: await makePng(120, 80) });
    expect(put.status).toBe(200);
    const avatar = (await call('GET', '/avatars/carol.webp')).bytes;
    // The channel comes after the file: the bytes are stored before bob's upload is refused.
    const refused = await uploadMultipart(stack.baseUrl, {
      token: stack.tokens.bob,
      parts: [
        { name: 'file', filename: 'copy.webp', data: avatar },
        { name: 'channel', value: 'announcements' },
      ],
    });
    expect([refused.status, refused.json.error.code]).toEqual([403, 'forbidden']);
    const after = await call('GET', '/avatars/carol.webp');
    expect(after.status).toBe(200);
    expect(after.bytes.equals(avatar)).toBe(true);
    expect((await call('DELETE', '/api/v1/me/avatar', { token: stack.tokens.carol })).status).toBe(204);
  });

  it('answers 404 for an account without an avatar, and 401 without a token', async () => {
    expect((await call('GET', '/avatars/bob.webp')).status).toBe(404);
    expect((await call('GET', '/banners/nobody.webp')).status).toBe(404);
    const put = await call('PUT', '/api/v1/me/avatar', { body: await makePng(64, 64) });
    expect([put.status, put.json.error.code]).toEqual([401, 'unauthorized']);
    const forged = await call('PUT', '/api/v1/me/avatar', { token: 'garbage', body: await makePng(64, 64) });
    expect(forged.status).toBe(401);
  });

  it('makes a 960×540 banner', async () => {
    const put = await call('PUT', '/api/v1/me/banner', { token: stack.tokens.bob, body: await makePng(300, 300) });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ width: 960, height: 540 });
    const got = await call('GET', '/banners/bob.webp');
    const meta = await sharp(got.bytes).metadata();
    expect([got.headers.get('content-type'), meta.width, meta.height]).toEqual(['image/webp', 960, 540]);
  });

  it('refuses a non-image with 415 whatever the declared type, keeping nothing', async () => {
    const before = storedBlobs(storageDir);
    const res = await call('PUT', '/api/v1/me/avatar', {
      token: stack.tokens.carol,
      body: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>'),
      headers: { 'content-type': 'image/png' },
    });
    expect([res.status, res.json.error.code]).toEqual([415, 'unsupported_media_type']);
    const pdf = await call('PUT', '/api/v1/me/avatar', { token: stack.tokens.carol, body: Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(100)]) });
    expect(pdf.status).toBe(415);
    const empty = await call('PUT', '/api/v1/me/avatar', { token: stack.tokens.carol, body: Buffer.alloc(0) });
    expect([empty.status, empty.json.error.code]).toEqual([400, 'invalid_request']);
    expect(storedBlobs(storageDir)).toEqual(before);
    expect(assetTempDirs()).toEqual([]);
    expect((await call('GET', '/avatars/carol.webp')).status).toBe(404);
  });

  it('refuses a body over 8 MiB with 413, declared or streamed', async () => {
    const big = Buffer.concat([await makePng(32, 32), Buffer.alloc(8 * MiB)]);
    const declared = await call('PUT', '/api/v1/me/avatar', { token: stack.tokens.carol, body: big });
    expect([declared.status, declared.json.error.code]).toEqual([413, 'payload_too_large']);
    // No Content-Length (chunked): cut off by the running count.
    const chunk = Buffer.alloc(MiB, 1);
    const streamed = await call('PUT', '/api/v1/me/avatar', { token: stack.tokens.carol, body: Readable.from(Array<Buffer>(10).fill(chunk)) });
    expect([streamed.status, streamed.json.error.code]).toEqual([413, 'payload_too_large']);
    expect(streamed.headers.get('connection')).toBe('close');
    expect(assetTempDirs()).toEqual([]);
    expect((await call('GET', '/avatars/carol.webp')).status).toBe(404);
  });

  it('refuses a PNG decompression bomb with 422 before decoding it', async () => {
    const path = join(scratch, 'bomb.png');
    await writePngBomb(path, 20_000, 20_000); // 400 million pixels, over the default 100 million
    const bomb = await readFile(path);
    expect(bomb.length).toBeLessThan(8 * MiB);
    const res = await call('PUT', '/api/v1/me/avatar', { token: stack.tokens.carol, body: bomb });
    expect([res.status, res.json.error.code]).toEqual([422, 'unprocessable_image']);
    expect(res.json.error.message).toMatch(/pixel limit/);
    const broken = await call('PUT', '/api/v1/me/avatar', { token: stack.tokens.carol, body: (await makePng(64, 64)).subarray(0, 60) });
    expect([broken.status, broken.json.error.code]).toEqual([422, 'unprocessable_image']);
    expect(assetTempDirs()).toEqual([]);
  });
});

describe('guild icon', () => {
  it('needs MANAGE_GUILD; the owner sets, serves and removes it', async () => {
    const refused = await call('PUT', '/api/v1/guild/icon', { token: stack.tokens.bob, body: await makePng(64, 64) });
    expect([refused.status, refused.json.error.code]).toEqual([403, 'forbidden']);
    expect((await call('GET', '/guild/icon.webp')).status).toBe(404);

    const put = await call('PUT', '/api/v1/guild/icon', { token: ownerToken, body: await makeJpeg(500, 400) });
    expect(put.status).toBe(200);
    expect(put.json.url).toMatch(/\/guild\/icon\.webp\?v=/);
    const got = await call('GET', '/guild/icon.webp');
    const meta = await sharp(got.bytes).metadata();
    expect([got.status, got.headers.get('content-type'), meta.width, meta.height]).toEqual([200, 'image/webp', 256, 256]);

    expect((await call('DELETE', '/api/v1/guild/icon', { token: stack.tokens.bob })).status).toBe(403);
    expect((await call('DELETE', '/api/v1/guild/icon', { token: ownerToken })).status).toBe(204);
    expect((await call('GET', '/guild/icon.webp')).status).toBe(404);
  });
});

describe('custom emoji', () => {
  it('needs MANAGE_EMOJIS to add; lists for members; serves WebP; 409 on a taken name; deletes', async () => {
    const refused = await call('POST', '/api/v1/emoji?name=party_parrot', { token: stack.tokens.bob, body: await makeGif(64, 64, 3) });
    expect([refused.status, refused.json.error.code]).toEqual([403, 'forbidden']);

    const parrot = await call('POST', '/api/v1/emoji?name=party_parrot', { token: stack.tokens.carol, body: await makeGif(200, 100, 3) });
    expect(parrot.status).toBe(201);
    expect(parrot.json).toMatchObject({ name: 'party_parrot', animated: true, created_by: 'carol' });
    const wave = await call('POST', '/api/v1/emoji?name=wave', { token: stack.tokens.carol, body: await makePng(300, 300) });
    expect(wave.status).toBe(201);
    expect(wave.json.animated).toBe(false);

    const list = await call('GET', '/api/v1/emoji', { token: stack.tokens.bob });
    expect(list.status).toBe(200);
    expect(list.json).toEqual([
      { name: 'party_parrot', url: `${stack.baseUrl}/emoji/party_parrot.webp`, animated: true, created_by: 'carol' },
      { name: 'wave', url: `${stack.baseUrl}/emoji/wave.webp`, animated: false, created_by: 'carol' },
    ]);
    expect((await call('GET', '/api/v1/emoji')).status).toBe(401);

    const image = await call('GET', '/emoji/party_parrot.webp');
    expect([image.status, image.headers.get('content-type')]).toEqual([200, 'image/webp']);
    const meta = await sharp(image.bytes, { animated: true }).metadata();
    expect([meta.format, meta.width, meta.pageHeight, meta.pages]).toEqual(['webp', 128, 128, 3]);
    const still = await sharp((await call('GET', '/emoji/wave.webp')).bytes).metadata();
    expect([still.width, still.height, still.pages ?? 1]).toEqual([128, 128, 1]);

    const taken = await call('POST', '/api/v1/emoji?name=Party_Parrot', { token: stack.tokens.carol, body: await makePng(32, 32) });
    expect([taken.status, taken.json.error.code]).toEqual([409, 'conflict']);
    for (const bad of ['x', 'with-dash', 'a'.repeat(33), '']) {
      const res = await call('POST', `/api/v1/emoji?name=${encodeURIComponent(bad)}`, { token: stack.tokens.carol, body: await makePng(32, 32) });
      expect([bad, res.status]).toEqual([bad, 400]);
    }

    expect((await call('DELETE', '/api/v1/emoji/wave', { token: stack.tokens.bob })).status).toBe(403);
    expect((await call('DELETE', '/api/v1/emoji/wave', { token: stack.tokens.carol })).status).toBe(204);
    expect((await call('GET', '/emoji/wave.webp')).status).toBe(404);
    expect((await call('DELETE', '/api/v1/emoji/wave', { token: stack.tokens.carol })).status).toBe(404);
    expect((await call('GET', '/api/v1/emoji', { token: stack.tokens.alice })).json.map((e: { name: string }) => e.name)).toEqual(['party_parrot']);
  });

  it('documents every route in the OpenAPI document', async () => {
    const doc = await call('GET', '/api/v1/openapi.json');
    for (const path of [
      '/api/v1/me/avatar',
      '/api/v1/me/banner',
      '/avatars/{file}',
      '/banners/{file}',
      '/api/v1/guild/icon',
      '/guild/icon.webp',
      '/api/v1/emoji',
      '/api/v1/emoji/{name}',
      '/emoji/{file}',
    ]) {
      expect(doc.json.paths[path], path).toBeDefined();
    }
  });
});
