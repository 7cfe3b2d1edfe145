import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PatternFile, request, uploadMultipart } from '../../bench/client.js';
import { MiB, startTestStack, type TestStack } from '../support/stack.js';

describe('a 200 MB multipart upload', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('streams from a generator with progress, never holding the file in memory', async () => {
    const file = new PatternFile(200 * MiB);
    const expected = await file.sha256();

    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    const progress: number[] = [];
    let res;
    try {
      res = await uploadMultipart(stack.baseUrl, {
        token: stack.tokens.alice,
        parts: [
          { name: 'channel', value: 'general' },
          { name: 'file', filename: 'big.bin', data: file.chunks(0, 256 * 1024) },
        ],
        onProgress: (bytes) => progress.push(bytes),
      });
    } finally {
      clearInterval(sampler);
    }
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json).toMatchObject({ size: file.size, sha256: expected, kind: 'file' });

    // Progress was reported all the way, in many steps.
    expect(progress.length).toBeGreaterThan(100);
    expect(progress.at(-1)).toBeGreaterThanOrEqual(file.size);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));

    // Client and server share this process: together they grew by a fraction of the file.
    const growth = peak - baseline;
    expect(growth, `RSS grew by ${Math.round(growth / MiB)} MiB`).toBeLessThan(64 * MiB);

    // And the stored file is whole: its last megabyte comes back as sent.
    const tail = await request(res.json.url, { headers: { range: 'bytes=-1048576' } });
    expect(tail.status).toBe(206);
    expect(tail.body).toEqual(file.slice(file.size - MiB, MiB));
  });
});
