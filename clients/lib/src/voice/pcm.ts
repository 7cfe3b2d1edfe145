/** 16-bit PCM <-> float conversions and fixed-size framing, shared by the codec and the client. */

/** Float samples in [-1, 1] (clamped) to 16-bit PCM, scaled by 32767 so the mapping is symmetric. */
export function floatToInt16(input: Float32Array): Int16Array {
  const out = new Int16Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const s = input[i]!;
    out[i] = Math.round((s > 1 ? 1 : s < -1 ? -1 : s) * 32767);
  }
  return out;
}

/** 16-bit PCM to float samples (divided by 32767; -32768 lands just below -1). */
export function int16ToFloat(input: Int16Array): Float32Array {
  const out = new Float32Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = input[i]! / 32767;
  return out;
}

/**
 * Cuts a stream of arbitrarily sized PCM chunks into frames of exactly
 * `frameSamples`, keeping the remainder for the next push.
 */
export class PcmFramer {
  private pending: Int16Array;
  private filled = 0;

  constructor(readonly frameSamples: number) {
    if (!Number.isInteger(frameSamples) || frameSamples <= 0) {
      throw new RangeError(`frameSamples must be a positive integer, got ${frameSamples}`);
    }
    this.pending = new Int16Array(frameSamples);
  }

  /** Samples waiting for a full frame. */
  get buffered(): number {
    return this.filled;
  }

  /** Appends `pcm` and returns every frame it completed (fresh arrays, safe to keep). */
  push(pcm: Int16Array): Int16Array[] {
    const frames: Int16Array[] = [];
    let offset = 0;
    while (offset < pcm.length) {
      const take = Math.min(this.frameSamples - this.filled, pcm.length - offset);
      this.pending.set(pcm.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.frameSamples) {
        frames.push(this.pending);
        this.pending = new Int16Array(this.frameSamples);
        this.filled = 0;
      }
    }
    return frames;
  }

  /** The remainder padded with silence to a full frame, or undefined when nothing is buffered. */
  flush(): Int16Array | undefined {
    if (this.filled === 0) return undefined;
    const frame = this.pending;
    frame.fill(0, this.filled);
    this.pending = new Int16Array(this.frameSamples);
    this.filled = 0;
    return frame;
  }

  /** Drops whatever is buffered. */
  clear(): void {
    this.filled = 0;
  }
}
