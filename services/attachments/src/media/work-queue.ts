/**
 * Runs at most `concurrency` tasks at once, in arrival order; up to `maxQueued` more wait (they
 * cost nothing but a promise: the file waits on disk). Beyond that, `run` rejects at once with
 * the error `full()` makes, so a burst of uploads is refused rather than buffered without bound.
 */
export class WorkQueue {
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(
    readonly concurrency: number,
    readonly maxQueued: number,
    private readonly full: () => Error = () => new Error('work queue is full'),
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer');
    if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new RangeError('maxQueued must be a non-negative integer');
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active < this.concurrency) {
      this.#active += 1;
    } else {
      if (this.#waiting.length >= this.maxQueued) throw this.full();
      // The finishing task hands its slot over: #active stays the same.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active -= 1;
    }
  }
}
