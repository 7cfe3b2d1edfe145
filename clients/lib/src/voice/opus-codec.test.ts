import { once } from 'node:events';
import type { Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { dominantFrequency, rms } from './audio-analysis.js';
import { OpusCodecs, type DecodedFrame } from './opus-codec.js';
import { int16ToFloat } from './pcm.js';
import { sineWave } from './tone.js';

interface Encoded {
  frame: Buffer;
  codec: string;
  target: number;
}

async function through<T>(stream: Transform, inputs: unknown[]): Promise<T[]> {
  const out: T[] = [];
  stream.on('data', (chunk: T) => out.push(chunk));
  for (const input of inputs) stream.write(input);
  stream.end();
  await once(stream, 'end');
  return out;
}

function frames(pcm: Int16Array, size: number): Int16Array[] {
  const out: Int16Array[] = [];
  for (let i = 0; i + size <= pcm.length; i += size) out.push(pcm.subarray(i, i + size));
  return out;
}

describe('OpusCodecs', () => {
  it('advertises Opus only', () => {
    const codecs = new OpusCodecs();
    expect(codecs.opus).toBe(true);
    expect(codecs.celt).toEqual([]);
    codecs.destroy();
  });

  it('encodes 20 ms frames that decode back to the same tone and level', async () => {
    const codecs = new OpusCodecs();
    const tone = sineWave({ frequency: 440, durationSeconds: 1, amplitude: 0.5 });
    const input = frames(tone, 960).map((frame) => ({ target: 0, pcm: int16ToFloat(frame), numberOfChannels: 1, bitrate: 40_000 }));
    const encoded = await through<Encoded>(codecs.createEncoderStream('Opus'), input);
    expect(encoded).toHaveLength(50);
    for (const packet of encoded) {
      expect(packet.codec).toBe('Opus');
      expect(codecs.getDuration('Opus', packet.frame)).toBe(20);
    }

    const decoded = await through<DecodedFrame>(
      codecs.createDecoderStream({ id: 7 }),
      encoded.map((packet) => ({ target: 'normal', codec: 'Opus', frame: packet.frame })),
    );
    expect(decoded).toHaveLength(50);
    const pcm = new Int16Array(decoded.flatMap((frame) => Array.from(frame.pcm16)));
    expect(pcm).toHaveLength(48_000);
    // Skip the codec's start-up (look-ahead and the first frame's fade-in).
    const steady = pcm.subarray(4800);
    expect(Math.abs(dominantFrequency(steady).frequency - 440)).toBeLessThan(0.5);
    expect(rms(steady) / rms(tone)).toBeGreaterThan(0.95);
    expect(rms(steady) / rms(tone)).toBeLessThan(1.05);
    expect(decoded[10]!.pcm[100]).toBeCloseTo(decoded[10]!.pcm16[100]! / 32767, 6);
    codecs.destroy();
  });

  it('encodes 10 ms frames', async () => {
    const codecs = new OpusCodecs();
    const input = frames(sineWave({ frequency: 1000, durationSeconds: 0.1 }), 480).map((frame) => ({
      target: 0,
      pcm: int16ToFloat(frame),
      numberOfChannels: 1,
    }));
    const encoded = await through<Encoded>(codecs.createEncoderStream('Opus'), input);
    expect(encoded.map((packet) => codecs.getDuration('Opus', packet.frame))).toEqual(new Array(10).fill(10));
    codecs.destroy();
  });

  it('turns a lost frame into 10 ms of marked silence, skips other codecs, survives garbage', async () => {
    const codecs = new OpusCodecs();
    const decoded = await through<DecodedFrame>(codecs.createDecoderStream({ id: 1 }), [
      { target: 'normal', codec: 'Opus', frame: null },
      { target: 'normal', codec: 'Speex', frame: Buffer.from([1, 2, 3]) },
      { target: 'normal', codec: 'Opus', frame: Buffer.from([0xff, 0xff, 0xff]) },
    ]);
    expect(decoded).toHaveLength(2);
    expect(decoded[0]!.concealed).toBe(true);
    expect(decoded[0]!.pcm16).toHaveLength(480);
    expect(decoded[1]!.concealed).toBe(true);
    codecs.destroy();
  });

  it('refuses frame sizes Opus cannot encode', async () => {
    const codecs = new OpusCodecs();
    const stream = codecs.createEncoderStream('Opus');
    const failed = once(stream, 'error');
    stream.write({ target: 0, pcm: new Float32Array(1000), numberOfChannels: 1 });
    const [error] = (await failed) as [Error];
    expect(error.message).toMatch(/2.5, 5, 10, 20, 40 or 60 ms/);
    codecs.destroy();
  });
});
