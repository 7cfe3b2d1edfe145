import { describe, expect, it } from 'vitest';
import { readMumbleVarint, voicePacketSource } from './voice-packet.js';

describe('readMumbleVarint', () => {
  it('decodes each length class', () => {
    expect(readMumbleVarint(Uint8Array.of(0x05))).toEqual({ value: 5, length: 1 });
    expect(readMumbleVarint(Uint8Array.of(0x81, 0x02))).toEqual({ value: 0x102, length: 2 });
    expect(readMumbleVarint(Uint8Array.of(0xc1, 0x02, 0x03))).toEqual({ value: 0x10203, length: 3 });
    expect(readMumbleVarint(Uint8Array.of(0xe1, 0x02, 0x03, 0x04))).toEqual({ value: 0x1020304, length: 4 });
    expect(readMumbleVarint(Uint8Array.of(0xf0, 0xff, 0x00, 0x00, 0x01))).toEqual({ value: 0xff000001, length: 5 });
    expect(readMumbleVarint(Uint8Array.of(0xfd))).toEqual({ value: ~1, length: 1 });
    expect(readMumbleVarint(Uint8Array.of(0xf8, 0x05))).toEqual({ value: ~5, length: 2 });
  });

  it('reads at an offset and refuses truncated input', () => {
    expect(readMumbleVarint(Uint8Array.of(0xff, 0x07), 1)).toEqual({ value: 7, length: 1 });
    expect(readMumbleVarint(Uint8Array.of(0x81))).toBeUndefined();
    expect(readMumbleVarint(new Uint8Array(0))).toBeUndefined();
  });
});

describe('voicePacketSource', () => {
  it('reads the session of an Opus packet from the server', () => {
    // type 4 (Opus) << 5 | target 0, session 300 (2-byte varint), sequence 0, then payload.
    expect(voicePacketSource(Uint8Array.of(0x80, 0x81, 0x2c, 0x00, 0x01, 0xaa))).toBe(300);
  });

  it('has no source for pings and empty packets', () => {
    expect(voicePacketSource(Uint8Array.of(0x20, 0x01))).toBeUndefined();
    expect(voicePacketSource(new Uint8Array(0))).toBeUndefined();
  });
});
