import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PatternFile, request, sha256, tusCreate, tusOffset, tusPatch } from '../../bench/client.js';
import { writePngBomb } from '../images/support/png-bomb.js';
import { filesIn, makePng, storedBlobs } from '../support/files.js';
import { EVERYONE_MAX_BYTES, MiB, startTestStack, type TestStack } from '../support/stack.js';
import { eventually, forgedTokens } from '@alloquy/stack';

const TUS = { 'tus-resumable': '1.0.0' };

describe('resumable uploads (tus)', () => {
  let stack: TestStack;
  let uploadsDir: string;

  beforeAll(async () => {
    stack = await startTestStack({ media: true, attachments: { resumableExpiryMs: 60 * 60 * 1000 } });
    uploadsDir = stack.attachments.config.storage.uploadsDir;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function create(token: string, length: number, metadata: Record<string, string> = { channel: 'general', filename: 'big.bin' }): Promise<string> {
    const res = await tusCreate(stack.baseUrl, token, length, metadata);
    expect(res.status, res.body.toString()).toBe(201);
    expect(res.headers['tus-resumable']).toBe('1.0.0');
    return String(res.headers.location);
  }

  it('survives a dropped connection: HEAD gives the offset, PATCH resumes, the file is identical', async () => {
    const file = new PatternFile(48 * MiB + 12_345);
    const expected = await file.sha256();
    const url = await create(stack.tokens.alice, file.size, { channel: 'general', filename: 'holiday.mov' });
    expect(url).toMatch(new RegExp(`^${stack.baseUrl}/api/v1/uploads/[0-9a-f]{32}$`));

    // The network goes away after 20 MiB.
    const cutAt = 20 * MiB;
    await expect(tusPatch(url, stack.tokens.alice, 0, file.chunks(0), { cutAfterBytes: cutAt })).rejects.toThrow();

    // The server kept what arrived (tus waits for the dropped request to let go of the upload).
    const offset = await eventually(
      async () => {
        const o = await tusOffset(url, stack.tokens.alice);
        return o > 0 ? o : undefined;
      },
      15_000,
      'the received bytes to be on record',
    );
    expect(offset).toBeLessThanOrEqual(cutAt);

    // Someone else cannot see or continue it.
    const asBob = { ...TUS, authorization: `Bearer ${stack.tokens.bob}` };
    expect((await request(url, { method: 'HEAD', headers: asBob })).status).toBe(404);
    expect(
      (
        await request(url, {
          method: 'PATCH',
          headers: { ...asBob, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
          body: Buffer.alloc(10),
        })
      ).status,
    ).toBe(404);

    // A PATCH from the wrong offset is refused without touching the upload.
    const wrong = await tusPatch(url, stack.tokens.alice, offset + 1, file.slice(offset + 1, 100));
    expect(wrong.status).toBe(409);

    const done = await tusPatch(url, stack.tokens.alice, offset, file.chunks(offset), { contentLength: file.size - offset });
    expect(done.status, done.body.toString()).toBe(200);
    expect(done.json).toMatchObject({ size: file.size, sha256: expected, filename: 'holiday.mov', channel: 'general', uploader: 'alice', kind: 'file' });

    // The downloaded file is the uploaded one.
    const hash = createHash('sha256');
    const download = await request(done.json.url);
    hash.update(download.body);
    expect(hash.digest('hex')).toBe(expected);

    // Finished: HEAD says complete, GET gives the attachment again, a repeated last PATCH repeats the answer.
    expect(await tusOffset(url, stack.tokens.alice)).toBe(file.size);
    const status = await request(url, { headers: { authorization: `Bearer ${stack.tokens.alice}` } });
    expect(status.json).toMatchObject({ offset: file.size, length: file.size, complete: true, attachment: { id: done.json.id } });
    const again = await tusPatch(url, stack.tokens.alice, file.size, Buffer.alloc(0));
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(done.json.id);

    // The partial file moved into the blob store: nothing is left behind.
    const id = url.split('/').pop()!;
    expect(filesIn(uploadsDir).filter((f) => f.startsWith(id))).toEqual([]);
    expect(storedBlobs(stack.attachments.config.storage.dir)).toContain(expected);
  });

  it('reports progress on GET while incomplete', async () => {
    const url = await create(stack.tokens.bob, 1000);
    const first = await tusPatch(url, stack.tokens.bob, 0, randomBytes(400));
    expect(first.status).toBe(204);
    expect(first.headers['upload-offset']).toBe('400');
    expect(Date.parse(String(first.headers['upload-expires']))).toBeGreaterThan(Date.now());
    const status = await request(url, { headers: { authorization: `Bearer ${stack.tokens.bob}` } });
    expect(status.json).toEqual({ id: url.split('/').pop(), offset: 400, length: 1000, complete: false, attachment: null });
  });

  it('takes a small file in the creation request (creation-with-upload) and sniffs it like any other', async () => {
    const png = await makePng(300, 200);
    const res = await request(`${stack.baseUrl}/api/v1/uploads`, {
      method: 'POST',
      headers: {
        ...TUS,
        authorization: `Bearer ${stack.tokens.bob}`,
        'upload-length': String(png.length),
        'upload-metadata': `channel ${Buffer.from('general').toString('base64')},filename ${Buffer.from('tiny.png').toString('base64')}`,
        'content-type': 'application/offset+octet-stream',
      },
      body: png,
    });
    expect(res.status, res.body.toString()).toBe(200);
    expect(JSON.parse(res.body.toString())).toMatchObject({ content_type: 'image/png', kind: 'image', width: 300, height: 200, sha256: sha256(png) });
  });

  it('authorizes the creation: token, channel permission, size limit, metadata', async () => {
    const meta = `channel ${Buffer.from('general').toString('base64')}`;
    const post = (headers: Record<string, string>) => request(`${stack.baseUrl}/api/v1/uploads`, { method: 'POST', headers: { ...TUS, ...headers } });
    const bob = { authorization: `Bearer ${stack.tokens.bob}` };

    expect((await post({ 'upload-length': '10', 'upload-metadata': meta })).status).toBe(401);
    for (const token of forgedTokens(stack.tokens.alice)) {
      expect((await post({ authorization: `Bearer ${token}`, 'upload-length': '10', 'upload-metadata': meta })).status).toBe(401);
    }
    const forbidden = await post({ ...bob, 'upload-length': '10', 'upload-metadata': `channel ${Buffer.from('announcements').toString('base64')}` });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.error.code).toBe('forbidden');
    expect((await post({ ...bob, 'upload-length': '10', 'upload-metadata': `channel ${Buffer.from('nowhere').toString('base64')}` })).status).toBe(404);
    const tooBig = await post({ ...bob, 'upload-length': String(EVERYONE_MAX_BYTES + 1), 'upload-metadata': meta });
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.error.code).toBe('payload_too_large');
    expect((await post({ ...bob, 'upload-length': '10' })).status).toBe(400);
    expect((await post({ ...bob, 'upload-length': '10', 'upload-metadata': 'channel !!notbase64' })).status).toBe(400);
    expect((await post({ ...bob, 'upload-defer-length': '1', 'upload-metadata': meta })).status).toBe(400);
    expect((await post({ ...bob, 'upload-metadata': meta })).status).toBe(400);
    // None of them created anything.
    expect(stack.attachments.store.db.prepare("SELECT COUNT(*) AS n FROM resumable_uploads WHERE account = 'bob' AND length = 10").get()).toEqual({ n: 0 });
  });

  it('refuses malformed sizes, offsets and bodies without touching the upload', async () => {
    const meta = `channel ${Buffer.from('general').toString('base64')}`;
    const asBob = { ...TUS, authorization: `Bearer ${stack.tokens.bob}` };
    for (const length of ['-1', '1e3', '0x10', '+10', '10.5', '1 0', '9'.repeat(16)]) {
      const res = await request(`${stack.baseUrl}/api/v1/uploads`, { method: 'POST', headers: { ...asBob, 'upload-length': length, 'upload-metadata': meta } });
      expect([length, res.status]).toEqual([length, 400]);
    }

    const url = await create(stack.tokens.bob, 1000);
    expect((await tusPatch(url, stack.tokens.bob, 0, randomBytes(100))).status).toBe(204);
    const patch = (headers: Record<string, string>) =>
      request(url, { method: 'PATCH', headers: { ...asBob, 'content-type': 'application/offset+octet-stream', ...headers }, body: randomBytes(50) });
    for (const offset of ['abc', '-100', '1e2', '']) {
      const res = await patch({ 'upload-offset': offset });
      expect([offset, res.status]).toEqual([offset, 400]);
    }
    const wrongType = await patch({ 'upload-offset': '100', 'content-type': 'application/octet-stream' });
    expect(wrongType.status, wrongType.body.toString()).toBe(400);
    expect(await tusOffset(url, stack.tokens.bob)).toBe(100);

    // Ids are looked up, never used as paths.
    const base = `${stack.baseUrl}/api/v1/uploads`;
    for (const id of ['..%2F..%2Fattachments.db', '%2E%2E', url.split('/').pop()! + '.json']) {
      expect((await request(`${base}/${id}`, { method: 'HEAD', headers: asBob })).status).toBe(404);
      expect((await request(`${base}/${id}`, { method: 'DELETE', headers: asBob })).status).toBe(404);
    }
  });

  it('refuses more bytes than announced', async () => {
    const url = await create(stack.tokens.bob, 100);
    const res = await tusPatch(url, stack.tokens.bob, 0, randomBytes(200));
    expect(res.status).toBe(413);
  });

  it('lets the owner abandon an upload, deleting its partial file', async () => {
    const url = await create(stack.tokens.bob, 5000);
    await tusPatch(url, stack.tokens.bob, 0, randomBytes(1000));
    const id = url.split('/').pop()!;
    expect(filesIn(uploadsDir)).toContain(id);
    expect((await request(url, { method: 'DELETE', headers: { ...TUS, authorization: `Bearer ${stack.tokens.alice}` } })).status).toBe(404);
    expect((await request(url, { method: 'DELETE', headers: { ...TUS, authorization: `Bearer ${stack.tokens.bob}` } })).status).toBe(204);
    expect(filesIn(uploadsDir).filter((f) => f.startsWith(id))).toEqual([]);
    expect((await request(url, { method: 'HEAD', headers: { ...TUS, authorization: `Bearer ${stack.tokens.bob}` } })).status).toBe(404);
  });

  it('refuses a decompression bomb at the last PATCH (422) and keeps nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alloquy-bomb-'));
    try {
      const path = join(dir, 'bomb.png');
      await writePngBomb(path, 50_000, 50_000);
      const bomb = readFileSync(path);
      const before = storedBlobs(stack.attachments.config.storage.dir);
      const url = await create(stack.tokens.alice, bomb.length, { channel: 'general', filename: 'bomb.png' });
      const res = await tusPatch(url, stack.tokens.alice, 0, bomb);
      expect(res.status).toBe(422);
      expect(JSON.parse(res.body.toString()).error.code).toBe('unprocessable_image');
      expect(storedBlobs(stack.attachments.config.storage.dir)).toEqual(before);
      const id = url.split('/').pop()!;
      expect(filesIn(uploadsDir).filter((f) => f.startsWith(id))).toEqual([]);
      expect((await request(url, { method: 'HEAD', headers: { ...TUS, authorization: `Bearer ${stack.tokens.alice}` } })).status).toBe(404);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers tus discovery (OPTIONS)', async () => {
    const res = await request(`${stack.baseUrl}/api/v1/uploads`, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers['tus-version']).toContain('1.0.0');
    expect(String(res.headers['tus-extension'])).toContain('creation');
  });
});

describe('resumable upload expiry', () => {
  it('deletes an abandoned partial upload once it has expired', async () => {
    const stack = await startTestStack({ attachments: { resumableExpiryMs: 300 } });
    try {
      const res = await tusCreate(stack.baseUrl, stack.tokens.bob, 5000, { channel: 'general' });
      const url = String(res.headers.location);
      await tusPatch(url, stack.tokens.bob, 0, randomBytes(1000));
      const id = url.split('/').pop()!;
      const uploadsDir = stack.attachments.config.storage.uploadsDir;
      expect(filesIn(uploadsDir)).toContain(id);
      await new Promise((r) => setTimeout(r, 400));
      const asBob = { ...TUS, authorization: `Bearer ${stack.tokens.bob}` };
      expect((await request(url, { method: 'HEAD', headers: asBob })).status).toBe(410);
      expect((await tusPatch(url, stack.tokens.bob, 1000, randomBytes(10))).status).toBe(410);
      await stack.attachments.sweepUploads();
      expect(filesIn(uploadsDir).filter((f) => f.startsWith(id))).toEqual([]);
      expect((await request(url, { method: 'HEAD', headers: { ...TUS, authorization: `Bearer ${stack.tokens.bob}` } })).status).toBe(404);
    } finally {
      await stack.stop();
    }
  });
});
