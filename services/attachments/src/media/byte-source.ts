import { open, type FileHandle } from 'node:fs/promises';

/**
 * Random access to a file's bytes with a budget, so a header parser fed a hostile or unusual file
 * reads a bounded number of bytes in a bounded number of reads whatever the file says about itself.
 */
export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes at `offset` (fewer at the end of the file, none past it). */
  read(offset: number, length: number): Promise<Buffer>;
}

export interface ByteBudget {
  maxBytes: number;
  maxReads: number;
}

/** Enough for every parser here on ordinary files: a few headers plus one Ogg tail of 128 KiB. */
export const DEFAULT_BYTE_BUDGET: ByteBudget = { maxBytes: 512 * 1024, maxReads: 512 };

/** Thrown when a parser would go over its budget: the caller treats it as "not cheap to read". */
export class ByteBudgetExceeded extends Error {
  override name = 'ByteBudgetExceeded';
}

abstract class BudgetedSource implements ByteSource {
  #bytes = 0;
  #reads = 0;
  constructor(
    readonly size: number,
    private readonly budget: ByteBudget,
  ) {}

  get bytesRead(): number {
    return this.#bytes;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`bad read ${offset}+${length}`);
    }
    const wanted = Math.max(0, Math.min(length, this.size - offset));
    if (wanted === 0) return Buffer.alloc(0);
    this.#reads += 1;
    this.#bytes += wanted;
    if (this.#reads > this.budget.maxReads || this.#bytes > this.budget.maxBytes) {
      throw new ByteBudgetExceeded(`header parsing went over its budget (${this.#reads} reads, ${this.#bytes} bytes)`);
    }
    return this.readRaw(offset, wanted);
  }

  protected abstract readRaw(offset: number, length: number): Promise<Buffer>;
}

export class BufferByteSource extends BudgetedSource {
  constructor(
    private readonly buffer: Buffer,
    budget: ByteBudget = DEFAULT_BYTE_BUDGET,
  ) {
    super(buffer.length, budget);
  }

  protected async readRaw(offset: number, length: number): Promise<Buffer> {
    return this.buffer.subarray(offset, offset + length);
  }
}

export class FileByteSource extends BudgetedSource {
  private constructor(
    private readonly handle: FileHandle,
    size: number,
    budget: ByteBudget,
  ) {
    super(size, budget);
  }

  static async open(path: string, budget: ByteBudget = DEFAULT_BYTE_BUDGET): Promise<FileByteSource> {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      return new FileByteSource(handle, size, budget);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  protected async readRaw(offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** A 64-bit unsigned field as a number, or undefined when it cannot be one exactly. */
export function safeUint64(value: bigint): number | undefined {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
}

/** A duration in seconds if it is one a media file can plausibly have (finite, ≥ 0, under a year). */
export function plausibleSeconds(seconds: number): number | undefined {
  return Number.isFinite(seconds) && seconds >= 0 && seconds < 366 * 24 * 3600 ? seconds : undefined;
}
