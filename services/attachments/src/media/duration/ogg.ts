import { plausibleSeconds, safeUint64, type ByteSource } from '../byte-source.js';

/**
 * Duration of an Ogg stream (Vorbis, Opus, FLAC): the granule position of the audio stream's
 * last page, found in the file's tail, over the sample rate from its identification header.
 * Candidate pages in the tail are CRC-checked, so "OggS" inside packet data is not mistaken for a
 * page. Theora and other video-only streams have no cheap duration and get none.
 */

const CAPTURE = Buffer.from('OggS', 'latin1');
const FLAG_BOS = 0x02;
const NO_GRANULE = 0xffffffffffffffffn;
/** The largest possible page (27 + 255 lacing values + 255 × 255 body bytes), twice. */
const TAIL_BYTES = 2 * 65_307;
const MAX_BOS_PAGES = 8;

interface Page {
  headerType: number;
  granule: bigint;
  serial: number;
  headerLength: number;
  bodyLength: number;
  /** Length of the first packet on the page (up to the body length). */
  firstPacketLength: number;
}

function parsePage(buf: Buffer, pos: number): Page | undefined {
  if (pos + 27 > buf.length || !buf.subarray(pos, pos + 4).equals(CAPTURE) || buf[pos + 4] !== 0) return undefined;
  const segments = buf[pos + 26]!;
  if (pos + 27 + segments > buf.length) return undefined;
  let bodyLength = 0;
  let firstPacketLength = -1;
  for (let i = 0; i < segments; i++) {
    const lacing = buf[pos + 27 + i]!;
    bodyLength += lacing;
    if (firstPacketLength < 0 && lacing < 255) firstPacketLength = bodyLength;
  }
  return {
    headerType: buf[pos + 5]!,
    granule: buf.readBigUInt64LE(pos + 6),
    serial: buf.readUInt32LE(pos + 14),
    headerLength: 27 + segments,
    bodyLength,
    firstPacketLength: firstPacketLength < 0 ? bodyLength : firstPacketLength,
  };
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

/** Ogg's page checksum: CRC-32, polynomial 0x04C11DB7, not reflected, over the page with its CRC field zeroed. */
export function oggCrc(page: Buffer): number {
  let crc = 0;
  for (let i = 0; i < page.length; i++) {
    const byte = i >= 22 && i < 26 ? 0 : page[i]!;
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  }
  return crc;
}

interface AudioStream {
  serial: number;
  /** Granule positions count samples at this rate. */
  rate: number;
  /** Samples to drop at the start (Opus pre-skip). */
  preSkip: number;
}

/** Which codec a stream's first packet identifies, and its granule rate. */
export function identifyStream(packet: Buffer): Omit<AudioStream, 'serial'> | undefined {
  if (packet.length >= 16 && packet[0] === 0x01 && packet.toString('latin1', 1, 7) === 'vorbis') {
    return { rate: packet.readUInt32LE(12), preSkip: 0 };
  }
  if (packet.length >= 19 && packet.toString('latin1', 0, 8) === 'OpusHead') {
    return { rate: 48_000, preSkip: packet.readUInt16LE(10) };
  }
  // Ogg FLAC mapping: 0x7F "FLAC" major minor headers(2) "fLaC" then a STREAMINFO block.
  if (packet.length >= 30 && packet[0] === 0x7f && packet.toString('latin1', 1, 5) === 'FLAC' && packet.toString('latin1', 9, 13) === 'fLaC') {
    const info = 17; // after the 4-byte metadata block header
    const rate = (packet[info + 10]! << 12) | (packet[info + 11]! << 4) | (packet[info + 12]! >> 4);
    return { rate, preSkip: 0 };
  }
  return undefined;
}

async function findAudioStream(src: ByteSource): Promise<AudioStream | undefined> {
  let pos = 0;
  for (let i = 0; i < MAX_BOS_PAGES; i++) {
    const head = await src.read(pos, 27 + 255);
    const page = parsePage(head, 0);
    if (!page || !(page.headerType & FLAG_BOS)) return undefined;
    const packet = await src.read(pos + page.headerLength, Math.min(page.firstPacketLength, 64));
    const codec = identifyStream(packet);
    if (codec && codec.rate > 0) return { serial: page.serial, ...codec };
    pos += page.headerLength + page.bodyLength;
  }
  return undefined;
}

export async function oggDuration(src: ByteSource): Promise<number | undefined> {
  const stream = await findAudioStream(src);
  if (!stream) return undefined;
  const tailStart = Math.max(0, src.size - TAIL_BYTES);
  const tail = await src.read(tailStart, src.size - tailStart);
  for (let pos = tail.lastIndexOf(CAPTURE); pos >= 0; pos = pos > 0 ? tail.lastIndexOf(CAPTURE, pos - 1) : -1) {
    const page = parsePage(tail, pos);
    if (!page || page.serial !== stream.serial || page.granule === NO_GRANULE) continue;
    const end = pos + page.headerLength + page.bodyLength;
    if (end > tail.length) continue;
    const pageBytes = tail.subarray(pos, end);
    if (oggCrc(pageBytes) !== pageBytes.readUInt32LE(22)) continue;
    const samples = safeUint64(page.granule);
    if (samples === undefined || samples <= stream.preSkip) return undefined;
    return plausibleSeconds((samples - stream.preSkip) / stream.rate);
  }
  return undefined;
}
