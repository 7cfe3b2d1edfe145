import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../src/media/work-queue.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  it('runs at most `concurrency` tasks at once, the rest in arrival order', async () => {
    const queue = new WorkQueue(2, 10);
    const gates = Array.from({ length: 5 }, deferred);
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const results = gates.map((gate, i) =>
      queue.run(async () => {
        started.push(i);
        running += 1;
        most = Math.max(most, running);
        await gate.promise;
        running -= 1;
        return i;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(queue.active).toBe(2);
    expect(queue.queued).toBe(3);
    gates[1]!.resolve();
    await results[1];
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    for (const gate of gates) gate.resolve();
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
    expect(queue.active).toBe(0);
    expect(queue.queued).toBe(0);
  });

  it('refuses at once when the waiting line is full, and frees slots after failures', async () => {
    const queue = new WorkQueue(1, 1, () => new Error('busy'));
    const gate = deferred();
    const first = queue.run(() =>
      gate.promise.then(() => {
        throw new Error('task failed');
      }),
    );
    const second = queue.run(async () => 'second');
    await expect(queue.run(async () => 'third')).rejects.toThrow('busy');
    gate.resolve();
    await expect(first).rejects.toThrow('task failed');
    expect(await second).toBe('second');
    expect(await queue.run(async () => 'again')).toBe('again');
    expect(queue.active).toBe(0);
  });

  it('rejects bad limits', () => {
    expect(() => new WorkQueue(0, 1)).toThrow(RangeError);
    expect(() => new WorkQueue(1, -1)).toThrow(RangeError);
  });
});
