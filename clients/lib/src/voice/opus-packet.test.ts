import { describe, expect, it } from 'vitest';
import { opusPacketDurationMs } from './opus-packet.js';

/** TOC byte: config (5 bits), stereo flag, frame count code (2 bits). */
const toc = (config: number, code: number): number => (config << 3) | code;

describe('opusPacketDurationMs', () => {
  it('reads the frame length of every mode', () => {
    expect(opusPacketDurationMs(Uint8Array.of(toc(1, 0)))).toBe(20); // SILK NB 20 ms
    expect(opusPacketDurationMs(Uint8Array.of(toc(11, 0)))).toBe(60); // SILK WB 60 ms
    expect(opusPacketDurationMs(Uint8Array.of(toc(12, 0)))).toBe(10); // hybrid SWB 10 ms
    expect(opusPacketDurationMs(Uint8Array.of(toc(31, 0)))).toBe(20); // CELT FB 20 ms
    expect(opusPacketDurationMs(Uint8Array.of(toc(16, 0)))).toBe(2.5); // CELT NB 2.5 ms
  });

  it('counts frames per packet', () => {
    expect(opusPacketDurationMs(Uint8Array.of(toc(31, 1), 0))).toBe(40);
    expect(opusPacketDurationMs(Uint8Array.of(toc(31, 2), 0))).toBe(40);
    expect(opusPacketDurationMs(Uint8Array.of(toc(30, 3), 3))).toBe(30); // three 10 ms frames
    expect(opusPacketDurationMs(Uint8Array.of(toc(30, 3)))).toBeUndefined();
    expect(opusPacketDurationMs(new Uint8Array(0))).toBeUndefined();
  });
});
