import { describe, expect, it } from 'vitest';
import { decodeProto, encodeMumbleFrame, encodeProto, MumbleFrameReader, MumbleMessage } from './mumble-probe.js';

describe('Mumble framing', () => {
  it('frames as 2-byte type, 4-byte length, payload, and reassembles split reads', () => {
    const frame = encodeMumbleFrame(MumbleMessage.Authenticate, Buffer.from('abc'));
    expect([...frame]).toEqual([0, 2, 0, 0, 0, 3, 0x61, 0x62, 0x63]);
    const reader = new MumbleFrameReader();
    const stream = Buffer.concat([frame, encodeMumbleFrame(MumbleMessage.Ping, Buffer.alloc(0))]);
    expect(reader.push(stream.subarray(0, 4))).toEqual([]);
    expect(reader.push(stream.subarray(4, 10))).toEqual([{ type: 2, payload: Buffer.from('abc') }]);
    expect(reader.push(stream.subarray(10))).toEqual([{ type: 3, payload: Buffer.alloc(0) }]);
  });
});

describe('protobuf fields', () => {
  it('round-trips varints, booleans and strings', () => {
    const payload = encodeProto([
      [1, 0x010304],
      [2, 'Ünïcode'],
      [5, true],
      [2, 'again'],
      [3, 2 ** 40],
    ]);
    const fields = decodeProto(payload);
    expect(fields.get(1)).toEqual([0x010304]);
    expect(fields.get(2)?.map((value) => value.toString())).toEqual(['Ünïcode', 'again']);
    expect(fields.get(5)).toEqual([1]);
    expect(fields.get(3)).toEqual([2 ** 40]);
  });

  it('matches the reference encoding', () => {
    // Version { version: 66308 } (1.3.4) as protoc encodes it: field 1, varint 0x010304.
    expect([...encodeProto([[1, 66308]])]).toEqual([0x08, 0x84, 0x86, 0x04]);
    expect(() => decodeProto(Buffer.from([0x08, 0x84]))).toThrow(/truncated varint/);
  });
});
