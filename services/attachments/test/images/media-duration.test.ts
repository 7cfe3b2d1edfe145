/**
 * Durations of audio and video from container headers, on files built by hand per each
 * container's specification (see support/media-files.ts: no encoder exists on this machine).
 * Each file is first recognised by file-type (what the upload path sniffs with), then read through
 * the media processor from disk; odd, truncated and hostile inputs get no duration, never an error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileTypeFromFile } from 'file-type';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferByteSource } from '../../src/media/byte-source.js';
import { readDuration, sniffContainer } from '../../src/media/duration/index.js';
import { readVint } from '../../src/media/duration/matroska.js';
import { parseFrameHeader } from '../../src/media/duration/mp3.js';
import { LocalMediaProcessor } from '../../src/media/media-processor.js';
import { box, flac, ftyp, mp3, mp3Mpeg2Xing, mp4, ogg, rf64, webm, wav } from './support/media-files.js';

const dir = mkdtempSync(join(tmpdir(), 'alloquy-media-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const processor = new LocalMediaProcessor({ maxImagePixels: 100_000_000 });
let fileNumber = 0;

/** Writes the file, checks file-type sniffs it as `expectedType`, and returns what the processor says. */
async function durationOf(bytes: Buffer, expectedType: string): Promise<number | undefined> {
  const path = join(dir, `media-${fileNumber++}`);
  writeFileSync(path, bytes);
  const sniffed = await fileTypeFromFile(path);
  expect(sniffed?.mime).toBe(expectedType);
  const info = await processor.process({
    path,
    contentType: sniffed!.mime,
    size: bytes.length,
    write: () => Promise.reject(new Error('no thumbnails for audio or video')),
  });
  expect(info.thumbnails).toEqual([]);
  return info.durationSeconds;
}

describe('WAV', () => {
  it('reads data size over byte rate', async () => {
    expect(await durationOf(wav({ sampleRate: 8000, channels: 1, bitsPerSample: 16, seconds: 2.5 }), 'audio/wav')).toBe(2.5);
    expect(await durationOf(wav({ sampleRate: 44_100, channels: 2, bitsPerSample: 24, seconds: 0.75, oddChunk: true }), 'audio/wav')).toBe(0.75);
  });

  it('reads RF64 sizes from the ds64 chunk', async () => {
    // file-type does not recognise RF64 (such uploads are stored as plain files); the parser does.
    expect(await readDuration(new BufferByteSource(rf64(16_000, 1.5)), 'audio/wav')).toBe(1.5);
  });

  it('takes a data size of 0xFFFFFFFF or past the end as "to the end of the file"', async () => {
    expect(await durationOf(wav({ sampleRate: 8000, channels: 1, bitsPerSample: 8, seconds: 1.25, dataSizeField: 0xffffffff }), 'audio/wav')).toBe(1.25);
    const truncated = wav({ sampleRate: 8000, channels: 1, bitsPerSample: 8, seconds: 2 }).subarray(0, 44 + 4000);
    expect(await durationOf(truncated, 'audio/wav')).toBe(0.5);
  });
});

describe('MP4 / MOV', () => {
  it('reads mvhd version 0 and 1', async () => {
    expect(await durationOf(mp4({ timescale: 1000, duration: 2500 }), 'video/mp4')).toBe(2.5);
    expect(await durationOf(mp4({ version: 1, timescale: 90_000, duration: 90_000n * 3723n }), 'video/mp4')).toBe(3723);
    expect(await durationOf(mp4({ timescale: 44_100, duration: 44_100 * 61, brand: 'M4A ' }), 'audio/x-m4a')).toBe(61);
    expect(await durationOf(mp4({ timescale: 600, duration: 600 * 4 + 300, brand: 'qt  ' }), 'video/quicktime')).toBe(4.5);
  });

  it('finds moov after a large mdat, also with a 64-bit box size, in a few reads', async () => {
    const file = mp4({ timescale: 30_000, duration: 30_000 * 12, moovLast: true, largeMdat: true, mdatBytes: 3 * 1024 * 1024 });
    expect(await durationOf(file, 'video/mp4')).toBe(12);
    const src = new BufferByteSource(file);
    expect(await readDuration(src, 'video/mp4')).toBe(12);
    expect(src.bytesRead).toBeLessThan(1024);
  });

  it('reads a fragmented file from mvex/mehd, and gives none for an unknown duration', async () => {
    expect(await durationOf(mp4({ timescale: 1000, duration: 0, fragmentDuration: 7250 }), 'video/mp4')).toBe(7.25);
    expect(await durationOf(mp4({ timescale: 1000, duration: 0 }), 'video/mp4')).toBeUndefined();
    expect(await durationOf(mp4({ timescale: 1000, duration: 0xffffffff }), 'video/mp4')).toBeUndefined();
    expect(await durationOf(mp4({ timescale: 0, duration: 1000 }), 'video/mp4')).toBeUndefined();
  });

  it('gives up within its budget on a file of thousands of tiny boxes', async () => {
    const junk = Buffer.concat([ftyp(), ...Array.from({ length: 5000 }, () => box('free'))]);
    const src = new BufferByteSource(junk);
    expect(await readDuration(src, 'video/mp4')).toBeUndefined();
    expect(src.bytesRead).toBeLessThan(4096);
  });
});

describe('WebM / Matroska', () => {
  it('reads Segment/Info/Duration in TimestampScale units', async () => {
    expect(await durationOf(webm({ durationTicks: 3500 }), 'video/webm')).toBe(3.5);
    expect(await durationOf(webm({ durationTicks: 1_250_000, timestampScale: 1000, floatBytes: 4 }), 'video/webm')).toBe(1.25);
  });

  it('finds Info after a Cluster through the SeekHead', async () => {
    expect(await durationOf(webm({ durationTicks: 42_000, infoAfterCluster: true }), 'video/webm')).toBe(42);
  });

  it('gives none for a live recording (unknown sizes, no Duration)', async () => {
    expect(await durationOf(webm({ live: true }), 'video/webm')).toBeUndefined();
  });

  it('decodes EBML variable-length integers', () => {
    expect(readVint(Buffer.from([0x81]), 0, false)).toEqual({ value: 1, length: 1, unknown: false });
    expect(readVint(Buffer.from([0x40, 0x02]), 0, false)).toEqual({ value: 2, length: 2, unknown: false });
    expect(readVint(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), 0, true)?.value).toBe(0x1a45dfa3);
    expect(readVint(Buffer.from([0xff]), 0, false)).toEqual({ value: 0, length: 1, unknown: true });
    expect(readVint(Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 0, false)?.unknown).toBe(true);
    expect(readVint(Buffer.from([0x00, 0x01]), 0, false)).toBeUndefined();
    expect(readVint(Buffer.from([0x40]), 0, false)).toBeUndefined();
  });
});

describe('Ogg', () => {
  it('reads Vorbis (last granule over the sample rate) past "OggS" inside packet data', async () => {
    expect(await durationOf(ogg({ codec: 'vorbis', sampleRate: 44_100, lastGranule: 121_275n }), 'audio/ogg')).toBe(2.75);
  });

  it('reads Opus (48 kHz granules, pre-skip removed)', async () => {
    expect(await durationOf(ogg({ codec: 'opus', preSkip: 312, lastGranule: 312n + 72_000n }), 'audio/ogg; codecs=opus')).toBe(1.5);
  });

  it('reads Ogg FLAC (STREAMINFO sample rate in the mapping header)', async () => {
    const file = ogg({ codec: 'flac', sampleRate: 96_000, lastGranule: 96_000n * 3n });
    expect(await readDuration(new BufferByteSource(file), 'audio/ogg')).toBe(3);
  });

  it('reads the audio stream of a video+audio file and gives none for video alone', async () => {
    expect(await durationOf(ogg({ codec: 'theora+vorbis', sampleRate: 48_000, lastGranule: 480_000n }), 'video/ogg')).toBe(10);
    expect(await durationOf(ogg({ codec: 'theora-only', lastGranule: 0n }), 'video/ogg')).toBeUndefined();
  });

  it('ignores a last page whose checksum is wrong', async () => {
    const file = ogg({ codec: 'vorbis', sampleRate: 44_100, lastGranule: 441_000n, pages: 3 });
    const lastPage = file.length - (27 + 3 + 700); // header, 3 lacing values (255+255+190), body
    const corrupted = Buffer.from(file);
    corrupted[lastPage + 30 + 50]! ^= 0xff; // one byte of the last page's body
    const src = new BufferByteSource(corrupted);
    const seconds = await readDuration(src, 'audio/ogg');
    // The page before it says 2/4 of the way: 441000 × 2 / 4 samples.
    expect(seconds).toBe(5);
  });
});

describe('MP3', () => {
  it('reads the frame count of a Xing or VBRI header', async () => {
    expect(await durationOf(mp3('xing', 500), 'audio/mpeg')).toBeCloseTo((500 * 1152) / 44_100, 3);
    expect(await durationOf(mp3('vbri', 300), 'audio/mpeg')).toBeCloseTo((300 * 1152) / 44_100, 3);
    expect(await durationOf(mp3Mpeg2Xing(100), 'audio/mpeg')).toBeCloseTo((100 * 576) / 22_050, 3);
  });

  it('estimates a constant-bitrate file from its size (ID3 tags excluded)', async () => {
    const frames = 400;
    const seconds = await durationOf(mp3('cbr', frames), 'audio/mpeg');
    expect(seconds).toBeDefined();
    expect(Math.abs(seconds! - (frames * 1152) / 44_100)).toBeLessThan(0.01);
  });

  it('gives none for variable bitrate without a header rather than a wrong estimate', async () => {
    expect(await durationOf(mp3('vbr-no-header', 200), 'audio/mpeg')).toBeUndefined();
  });

  it('parses frame headers and rejects reserved values', () => {
    const h = parseFrameHeader(Buffer.from([0xff, 0xfb, 0x90, 0x00]), 0);
    expect(h).toMatchObject({ version: 1, layer: 3, bitrate: 128_000, sampleRate: 44_100, length: 417, samplesPerFrame: 1152 });
    expect(parseFrameHeader(Buffer.from([0xff, 0xfb, 0xf0, 0x00]), 0)).toBeUndefined(); // bitrate index 15
    expect(parseFrameHeader(Buffer.from([0xff, 0xfb, 0x9c, 0x00]), 0)).toBeUndefined(); // sample rate index 3
    expect(parseFrameHeader(Buffer.from([0xff, 0xeb, 0x90, 0x00]), 0)).toBeUndefined(); // reserved version
    expect(parseFrameHeader(Buffer.from([0xff, 0xf3, 0x80, 0xc0]), 0)).toMatchObject({
      version: 2,
      sampleRate: 22_050,
      bitrate: 64_000,
      length: 208,
      samplesPerFrame: 576,
      mono: true,
    });
  });
});

describe('FLAC', () => {
  it('reads STREAMINFO total samples over the sample rate', async () => {
    expect(await durationOf(flac(48_000, 96_000), 'audio/flac')).toBe(2);
    expect(await durationOf(flac(44_100, 0), 'audio/flac')).toBeUndefined(); // "unknown"
  });
});

describe('hostile and odd input', () => {
  const samples: Array<[string, Buffer]> = [
    ['video/mp4', mp4({ timescale: 1000, duration: 2500, moovLast: true })],
    ['video/webm', webm({ durationTicks: 3500, infoAfterCluster: true })],
    ['audio/ogg', ogg({ codec: 'vorbis', lastGranule: 44_100n })],
    ['audio/wav', wav({ sampleRate: 8000, channels: 1, bitsPerSample: 8, seconds: 0.5 })],
    ['audio/mpeg', mp3('xing', 20)],
    ['audio/mpeg', mp3('cbr', 20)],
    ['audio/flac', flac(48_000, 96_000)],
  ];

  it('never throws on any truncation or byte flip of a valid file', async () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (const [type, file] of samples) {
      for (let cut = 0; cut < file.length; cut += Math.max(1, Math.floor(file.length / 200))) {
        const seconds = await readDuration(new BufferByteSource(file.subarray(0, cut)), type);
        if (seconds !== undefined) expect(Number.isFinite(seconds) && seconds >= 0).toBe(true);
      }
      for (let i = 0; i < 200; i++) {
        const flipped = Buffer.from(file);
        for (let k = 0; k < 4; k++) flipped[Math.floor(random() * Math.min(flipped.length, 512))] = Math.floor(random() * 256);
        const seconds = await readDuration(new BufferByteSource(flipped), type);
        if (seconds !== undefined) expect(Number.isFinite(seconds) && seconds >= 0).toBe(true);
      }
    }
  });

  it('gives none for random bytes and for containers it does not read', async () => {
    let seed = 99;
    const noise = Buffer.from(Array.from({ length: 4096 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24));
    for (const type of ['audio/mpeg', 'video/mp4', 'audio/aac', 'video/x-msvideo']) {
      expect(await readDuration(new BufferByteSource(noise), type)).toBeUndefined();
    }
    expect(await sniffContainer(new BufferByteSource(noise), 'audio/aac')).toBeUndefined();
  });

  it('leaves plain files alone', async () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'hello');
    expect(await processor.process({ path, contentType: 'text/plain', size: 5, write: () => Promise.reject(new Error('unexpected')) })).toEqual({
      thumbnails: [],
    });
  });
});
