import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AttachmentError } from '../../src/errors/attachment-error.js';
import { LocalBlobStore } from '../../src/storage/local-blob-store.js';

const hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Every file under a folder, as paths relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

async function* chunksOf(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

describe('LocalBlobStore', () => {
  let dir: string;
  let store: LocalBlobStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'alloquy-blobs-'));
    store = await LocalBlobStore.open(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores a stream at <dir>/ab/cd/<sha256> and answers its address and size', async () => {
    const data = randomBytes(300_000);
    const put = await store.put(chunksOf(data, 7_000));
    expect(put).toEqual({ sha256: hex(data), size: data.length, created: true });
    const path = join(dir, put.sha256.slice(0, 2), put.sha256.slice(2, 4), put.sha256);
    expect(store.localPath(put.sha256)).toBe(path);
    expect(await readFile(path)).toEqual(data);
    expect(await store.stat(put.sha256)).toEqual({ sha256: put.sha256, size: data.length });
    expect(filesUnder(join(dir, 'tmp'))).toEqual([]);
  });

  it('keeps one copy of identical content', async () => {
    const data = Buffer.from('same bytes twice');
    const first = await store.put(Readable.from([data]));
    const second = await store.put(Readable.from([data]));
    expect(first.created).toBe(true);
    expect(second).toEqual({ ...first, created: false });
    expect(filesUnder(dir)).toEqual([`${first.sha256.slice(0, 2)}/${first.sha256.slice(2, 4)}/${first.sha256}`]);
  });

  it('stores an empty stream', async () => {
    const put = await store.put(Readable.from([]));
    expect(put).toEqual({ sha256: hex(Buffer.alloc(0)), size: 0, created: true });
  });

  it('refuses a stream past maxBytes while it arrives and keeps nothing', async () => {
    let produced = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) {
        produced += 65_536;
        yield Buffer.alloc(65_536, 1);
      }
    }
    const err = await store.put(endless(), { maxBytes: 1_000_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AttachmentError);
    expect((err as AttachmentError).code).toBe('payload_too_large');
    // It stopped right after the limit, not at the end of the (endless) stream.
    expect(produced).toBeLessThan(1_000_000 + 4 * 65_536);
    expect(filesUnder(dir)).toEqual([]);
  });

  it('accepts exactly maxBytes', async () => {
    const data = randomBytes(4096);
    const put = await store.put(Readable.from([data]), { maxBytes: 4096 });
    expect(put.size).toBe(4096);
  });

  it('keeps nothing when the source fails mid-way', async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(100_000, 2);
      throw new Error('client went away');
    }
    await expect(store.put(broken())).rejects.toThrow('client went away');
    expect(filesUnder(dir)).toEqual([]);
  });

  it('opens whole blobs and inclusive byte ranges', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    const { sha256 } = await store.put(Readable.from([data]));
    expect(await text(await store.open(sha256))).toBe('0123456789abcdefghij');
    expect(await text(await store.open(sha256, { start: 0, end: 0 }))).toBe('0');
    expect(await text(await store.open(sha256, { start: 5, end: 9 }))).toBe('56789');
    expect(await text(await store.open(sha256, { start: 15, end: 19 }))).toBe('fghij');
  });

  it('answers not_found for a missing or malformed address', async () => {
    const missing = hex(Buffer.from('never stored'));
    await expect(store.open(missing)).rejects.toMatchObject({ code: 'not_found' });
    await expect(store.open('../../etc/passwd')).rejects.toMatchObject({ code: 'not_found' });
    expect(await store.stat(missing)).toBeUndefined();
    expect(await store.stat('nope')).toBeUndefined();
    expect(await store.delete(missing)).toBe(false);
  });

  it('deletes', async () => {
    const { sha256 } = await store.put(Readable.from([Buffer.from('bye')]));
    expect(await store.delete(sha256)).toBe(true);
    expect(await store.stat(sha256)).toBeUndefined();
    expect(await store.delete(sha256)).toBe(false);
  });

  it('takes over a finished file by moving it, and drops it when the content is already stored', async () => {
    const data = randomBytes(50_000);
    const source = join(dir, 'partial-upload');
    writeFileSync(source, data);
    const put = await store.putFile(source);
    expect(put).toEqual({ sha256: hex(data), size: data.length, created: true });
    expect(existsSync(source)).toBe(false);
    expect(await readFile(store.localPath(put.sha256))).toEqual(data);

    writeFileSync(source, data);
    expect(await store.putFile(source)).toEqual({ ...put, created: false });
    expect(existsSync(source)).toBe(false);
  });

  it('removes temp files a crash left behind, and only old ones', async () => {
    const stale = join(dir, 'tmp', 'stale.part');
    const fresh = join(dir, 'tmp', 'fresh.part');
    writeFileSync(stale, 'half an upload');
    writeFileSync(fresh, 'an upload in progress');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    utimesSync(stale, twoHoursAgo, twoHoursAgo);
    await LocalBlobStore.open(dir);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
  });
});
