import { plausibleSeconds, type ByteSource } from '../byte-source.js';
import { id3v2End } from './id3.js';

/**
 * Duration of an MPEG audio file (MP3, MP2): the frame count of a Xing/Info or VBRI header in the
 * first frame when there is one; otherwise, for constant-bitrate files, the audio bytes over the
 * bitrate. A variable-bitrate file without such a header would need every frame walked: it gets
 * no duration rather than a wrong one (the first frames are checked for a constant bitrate).
 */

export interface FrameHeader {
  version: 1 | 2 | 2.5;
  layer: 1 | 2 | 3;
  /** Bits per second. */
  bitrate: number;
  sampleRate: number;
  padding: number;
  mono: boolean;
  /** Frame length in bytes, header included. */
  length: number;
  samplesPerFrame: number;
}

const BITRATES_KBPS: Record<string, readonly number[]> = {
  '1-1': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  '1-2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  '1-3': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  '2-1': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  '2-2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  '2-3': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const SAMPLE_RATES: Record<string, readonly number[]> = {
  '1': [44_100, 48_000, 32_000],
  '2': [22_050, 24_000, 16_000],
  '2.5': [11_025, 12_000, 8_000],
};

/** A frame header at `pos`, or undefined if these 4 bytes are not one (free-format frames included). */
export function parseFrameHeader(b: Buffer, pos: number): FrameHeader | undefined {
  if (pos + 4 > b.length || b[pos] !== 0xff || (b[pos + 1]! & 0xe0) !== 0xe0) return undefined;
  const versionBits = (b[pos + 1]! >> 3) & 0b11;
  const layerBits = (b[pos + 1]! >> 1) & 0b11;
  const bitrateIndex = b[pos + 2]! >> 4;
  const rateIndex = (b[pos + 2]! >> 2) & 0b11;
  if (versionBits === 0b01 || layerBits === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return undefined;
  const version = versionBits === 0b11 ? 1 : versionBits === 0b10 ? 2 : 2.5;
  const layer = (4 - layerBits) as 1 | 2 | 3;
  const bitrate = BITRATES_KBPS[`${version === 1 ? 1 : 2}-${layer}`]![bitrateIndex]! * 1000;
  const sampleRate = SAMPLE_RATES[String(version)]![rateIndex]!;
  const padding = (b[pos + 2]! >> 1) & 1;
  const mono = b[pos + 3]! >> 6 === 0b11;
  const samplesPerFrame = layer === 1 ? 384 : layer === 3 && version !== 1 ? 576 : 1152;
  const length = layer === 1 ? (Math.floor((12 * bitrate) / sampleRate) + padding) * 4 : Math.floor(((samplesPerFrame / 8) * bitrate) / sampleRate) + padding;
  return { version, layer, bitrate, sampleRate, padding, mono, length, samplesPerFrame };
}

function sameStream(a: FrameHeader, b: FrameHeader): boolean {
  return a.version === b.version && a.layer === b.layer && a.sampleRate === b.sampleRate;
}

/** How far into the file to look for the first frame, and how many frames to check after it. */
const SYNC_SEARCH_BYTES = 64 * 1024;
const FRAMES_CHECKED = 8;

export async function mp3Duration(src: ByteSource): Promise<number | undefined> {
  const searchStart = await id3v2End(src, 0);
  const window = await src.read(searchStart, SYNC_SEARCH_BYTES);
  // The first frame is the first sync whose next frame follows where its length says (a lone
  // 0xFFEx in padding or junk is not a frame).
  let first: { pos: number; header: FrameHeader } | undefined;
  for (let pos = window.indexOf(0xff); pos >= 0 && !first; pos = window.indexOf(0xff, pos + 1)) {
    const header = parseFrameHeader(window, pos);
    if (!header) continue;
    const next = parseFrameHeader(window, pos + header.length);
    if (next && sameStream(header, next)) first = { pos, header };
  }
  if (!first) return undefined;
  const { header } = first;
  const audioStart = searchStart + first.pos;

  const frame = await src.read(audioStart, Math.min(header.length, 192));
  const sideInfo = header.version === 1 ? (header.mono ? 17 : 32) : header.mono ? 9 : 17;
  const xingAt = 4 + sideInfo;
  const tag = frame.toString('latin1', xingAt, xingAt + 4);
  if (tag === 'Xing' || tag === 'Info') {
    const flags = frame.readUInt32BE(xingAt + 4);
    if (flags & 0x1 && frame.length >= xingAt + 12) {
      const frames = frame.readUInt32BE(xingAt + 8);
      return frames > 0 ? plausibleSeconds((frames * header.samplesPerFrame) / header.sampleRate) : undefined;
    }
  }
  if (frame.length >= 36 + 18 && frame.toString('latin1', 36, 40) === 'VBRI') {
    const frames = frame.readUInt32BE(36 + 14);
    return frames > 0 ? plausibleSeconds((frames * header.samplesPerFrame) / header.sampleRate) : undefined;
  }

  // No frame count: only a constant bitrate makes bytes → time exact enough.
  let pos = audioStart;
  for (let i = 0; i < FRAMES_CHECKED; i++) {
    const h = parseFrameHeader(await src.read(pos, 4), 0);
    if (!h) {
      if (pos >= src.size - 128) break; // the end of a short file (or an ID3v1 tag)
      return undefined;
    }
    if (!sameStream(h, header) || h.bitrate !== header.bitrate) return undefined;
    pos += h.length;
  }
  const audioEnd = src.size - (await trailingTagsLength(src));
  if (audioEnd <= audioStart) return undefined;
  return plausibleSeconds(((audioEnd - audioStart) * 8) / header.bitrate);
}

/** Bytes taken by an ID3v1 tag and/or an APEv2 tag (which may hold cover art) at the end. */
async function trailingTagsLength(src: ByteSource): Promise<number> {
  let length = 0;
  if (src.size >= 128) {
    const v1 = await src.read(src.size - 128, 3);
    if (v1.toString('latin1') === 'TAG') length = 128;
  }
  if (src.size - length >= 32) {
    const footer = await src.read(src.size - length - 32, 32);
    if (footer.toString('latin1', 0, 8) === 'APETAGEX') {
      const tagSize = footer.readUInt32LE(12); // items + footer
      const hasHeader = (footer.readUInt32LE(20) & 0x80000000) !== 0;
      length += tagSize + (hasHeader ? 32 : 0);
    }
  }
  return length;
}
