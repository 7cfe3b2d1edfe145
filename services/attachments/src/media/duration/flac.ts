import { plausibleSeconds, type ByteSource } from '../byte-source.js';
import { id3v2End } from './id3.js';

/**
 * Duration of a native FLAC file from its STREAMINFO block (always the first metadata block):
 * total samples over the sample rate. A total of 0 means "unknown" (streamed encodes): no duration.
 */
export async function flacDuration(src: ByteSource): Promise<number | undefined> {
  const start = await id3v2End(src, 0);
  const b = await src.read(start, 8 + 34);
  if (b.length < 42 || b.toString('latin1', 0, 4) !== 'fLaC' || (b[4]! & 0x7f) !== 0) return undefined;
  const info = 8;
  const rate = (b[info + 10]! << 12) | (b[info + 11]! << 4) | (b[info + 12]! >> 4);
  const totalSamples = (b[info + 13]! & 0x0f) * 2 ** 32 + b.readUInt32BE(info + 14);
  if (rate === 0 || totalSamples === 0) return undefined;
  return plausibleSeconds(totalSamples / rate);
}
