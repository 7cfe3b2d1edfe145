import { plausibleSeconds, safeUint64, type ByteSource } from '../byte-source.js';

/**
 * Duration of an ISO base media file (MP4, M4A, MOV, 3GP) from `moov/mvhd`, or for a fragmented
 * file whose `mvhd` says 0, from `moov/mvex/mehd`. Only box headers are read on the way, so a
 * `moov` placed after a large `mdat` (files not "fast-started") costs a few small reads.
 */

interface Box {
  type: string;
  dataStart: number;
  end: number;
}

const MAX_BOXES_PER_LEVEL = 64;

async function* boxes(src: ByteSource, start: number, end: number): AsyncGenerator<Box> {
  let pos = start;
  for (let i = 0; i < MAX_BOXES_PER_LEVEL && pos + 8 <= end; i++) {
    const header = await src.read(pos, 16);
    if (header.length < 8) return;
    let size = header.readUInt32BE(0);
    const type = header.toString('latin1', 4, 8);
    let headerLength = 8;
    if (size === 1) {
      if (header.length < 16) return;
      const large = safeUint64(header.readBigUInt64BE(8));
      if (large === undefined) return;
      size = large;
      headerLength = 16;
    } else if (size === 0) {
      size = end - pos; // "extends to the end of the file"
    }
    if (size < headerLength) return;
    // A truncated last box is still worth looking into (its header may be complete).
    const boxEnd = Math.min(pos + size, end);
    yield { type, dataStart: pos + headerLength, end: boxEnd };
    pos += size;
  }
}

async function findChild(src: ByteSource, parent: Box, type: string): Promise<Box | undefined> {
  for await (const box of boxes(src, parent.dataStart, parent.end)) if (box.type === type) return box;
  return undefined;
}

const U32_UNKNOWN = 0xffffffff;
const U64_UNKNOWN = 0xffffffffffffffffn;

export async function mp4Duration(src: ByteSource): Promise<number | undefined> {
  let moov: Box | undefined;
  for await (const box of boxes(src, 0, src.size)) {
    if (box.type === 'moov') {
      moov = box;
      break;
    }
  }
  if (!moov) return undefined;
  const mvhd = await findChild(src, moov, 'mvhd');
  if (!mvhd) return undefined;

  const b = await src.read(mvhd.dataStart, 32);
  const version = b[0];
  let timescale: number;
  let duration: number | undefined;
  if (version === 1) {
    if (b.length < 32) return undefined;
    timescale = b.readUInt32BE(20);
    const raw = b.readBigUInt64BE(24);
    duration = raw === U64_UNKNOWN ? undefined : safeUint64(raw);
  } else if (version === 0) {
    if (b.length < 20) return undefined;
    timescale = b.readUInt32BE(12);
    const raw = b.readUInt32BE(16);
    duration = raw === U32_UNKNOWN ? undefined : raw;
  } else {
    return undefined;
  }
  if (timescale === 0) return undefined;
  if (duration === 0) duration = await fragmentDuration(src, moov);
  return duration === undefined || duration === 0 ? undefined : plausibleSeconds(duration / timescale);
}

/** `mvex/mehd` fragment_duration (in the movie timescale), present in fragmented files. */
async function fragmentDuration(src: ByteSource, moov: Box): Promise<number | undefined> {
  const mvex = await findChild(src, moov, 'mvex');
  const mehd = mvex && (await findChild(src, mvex, 'mehd'));
  if (!mehd) return undefined;
  const b = await src.read(mehd.dataStart, 12);
  if (b[0] === 1 && b.length >= 12) return safeUint64(b.readBigUInt64BE(4));
  if (b[0] === 0 && b.length >= 8) return b.readUInt32BE(4);
  return undefined;
}
