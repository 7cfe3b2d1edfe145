import { describe, expect, it } from 'vitest';
import { floatToInt16, int16ToFloat, PcmFramer } from './pcm.js';

describe('float <-> int16', () => {
  it('round-trips 16-bit samples exactly', () => {
    const samples = Int16Array.of(0, 1, -1, 12345, -12345, 32767, -32767);
    expect(Array.from(floatToInt16(int16ToFloat(samples)))).toEqual(Array.from(samples));
  });

  it('clamps floats outside [-1, 1]', () => {
    expect(Array.from(floatToInt16(Float32Array.of(1.5, -2, 1, -1)))).toEqual([32767, -32767, 32767, -32767]);
  });
});

describe('PcmFramer', () => {
  it('cuts arbitrary chunks into whole frames and keeps the rest', () => {
    const framer = new PcmFramer(4);
    expect(framer.push(Int16Array.of(1, 2, 3))).toEqual([]);
    expect(framer.buffered).toBe(3);
    const frames = framer.push(Int16Array.of(4, 5, 6, 7, 8, 9, 10));
    expect(frames.map((f) => Array.from(f))).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    expect(framer.buffered).toBe(2);
    expect(Array.from(framer.flush()!)).toEqual([9, 10, 0, 0]);
    expect(framer.flush()).toBeUndefined();
  });

  it('hands out frames that later pushes do not overwrite', () => {
    const framer = new PcmFramer(2);
    const [first] = framer.push(Int16Array.of(1, 2));
    framer.push(Int16Array.of(3, 4));
    expect(Array.from(first!)).toEqual([1, 2]);
  });

  it('rejects a frame size that is not a positive integer', () => {
    expect(() => new PcmFramer(0)).toThrow(RangeError);
    expect(() => new PcmFramer(1.5)).toThrow(RangeError);
  });
});
