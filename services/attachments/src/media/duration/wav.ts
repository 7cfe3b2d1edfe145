import { plausibleSeconds, safeUint64, type ByteSource } from '../byte-source.js';

/**
 * Duration of a RIFF/WAVE (or RF64) file: the `data` chunk's size over the `fmt ` chunk's byte
 * rate, or the `fact` chunk's sample count for compressed formats. A `data` size of 0 or
 * 0xFFFFFFFF (written by recorders that never came back to fix it) or one past the end of the
 * file means "up to the end of the file".
 */

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;
const MAX_CHUNKS = 64;

export async function wavDuration(src: ByteSource): Promise<number | undefined> {
  const head = await src.read(0, 12);
  const riff = head.toString('latin1', 0, 4);
  if (head.length < 12 || (riff !== 'RIFF' && riff !== 'RF64') || head.toString('latin1', 8, 12) !== 'WAVE') return undefined;

  let format: { tag: number; rate: number; byteRate: number } | undefined;
  let factSamples: number | undefined;
  let ds64DataSize: number | undefined;
  let pos = 12;
  for (let i = 0; i < MAX_CHUNKS && pos + 8 <= src.size; i++) {
    const chunk = await src.read(pos, 8);
    const id = chunk.toString('latin1', 0, 4);
    const size = chunk.readUInt32LE(4);
    const dataStart = pos + 8;
    if (id === 'fmt ') {
      const fmt = await src.read(dataStart, 16);
      if (fmt.length < 16) return undefined;
      format = { tag: fmt.readUInt16LE(0), rate: fmt.readUInt32LE(4), byteRate: fmt.readUInt32LE(8) };
    } else if (id === 'fact') {
      const fact = await src.read(dataStart, 4);
      if (fact.length === 4) factSamples = fact.readUInt32LE(0);
    } else if (id === 'ds64') {
      const ds64 = await src.read(dataStart, 16);
      if (ds64.length === 16) ds64DataSize = safeUint64(ds64.readBigUInt64LE(8));
    } else if (id === 'data') {
      if (!format) return undefined;
      const available = src.size - dataStart;
      let dataSize = size === 0xffffffff && ds64DataSize !== undefined ? ds64DataSize : size;
      if (dataSize === 0 || dataSize === 0xffffffff || dataSize > available) dataSize = available;
      const uncompressed = format.tag === PCM || format.tag === IEEE_FLOAT || format.tag === EXTENSIBLE;
      if (!uncompressed && factSamples !== undefined && format.rate > 0) return plausibleSeconds(factSamples / format.rate);
      if (format.byteRate === 0) return undefined;
      return plausibleSeconds(dataSize / format.byteRate);
    }
    pos = dataStart + size + (size & 1); // chunks are padded to an even length
  }
  return undefined;
}
