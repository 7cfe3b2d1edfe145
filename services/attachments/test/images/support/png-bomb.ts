import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import zlib from 'node:zlib';

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** Raw DEFLATE of `n` zero bytes ending on a full flush: byte-aligned and history-free, so it can be repeated. */
function repeatableZeroBlock(n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const deflate = zlib.createDeflateRaw({ level: 9 });
    const parts: Buffer[] = [];
    deflate.on('data', (b: Buffer) => parts.push(b));
    deflate.on('error', reject);
    deflate.write(Buffer.alloc(n));
    deflate.flush(zlib.constants.Z_FULL_FLUSH, () => {
      resolve(Buffer.concat(parts));
      deflate.close();
    });
  });
}

/**
 * Writes a valid, all-black 8-bit RGB PNG of `width`×`height` whose pixel data is almost all
 * zeros compressed ~1000:1: a 50,000×50,000 one (7.5 GB decoded) is ~7 MB on disk and takes a
 * few tens of milliseconds to write. The zlib stream is one DEFLATE block of 1 MiB of zeros
 * repeated (each ends on a full flush, so each is independent), a final block for the rest, and
 * the Adler-32 of the whole (for n zero bytes: a = 1, b = n mod 65521). Every row's filter byte is
 * 0 (None), so the raw scanlines really are all zeros.
 */
export async function writePngBomb(path: string, width: number, height: number): Promise<void> {
  const total = (1 + width * 3) * height;
  const unit = 1 << 20;
  const block = await repeatableZeroBlock(unit);
  const repeats = Math.floor(total / unit);
  const rest = total - repeats * unit;

  const out = createWriteStream(path);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  out.write(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  out.write(pngChunk('IHDR', ihdr));
  out.write(pngChunk('IDAT', Buffer.from([0x78, 0xda]))); // zlib header
  const perChunk = 64;
  const batch = Buffer.concat(Array<Buffer>(perChunk).fill(block));
  let written = 0;
  for (; written + perChunk <= repeats; written += perChunk) {
    if (!out.write(pngChunk('IDAT', batch))) await once(out, 'drain');
  }
  if (written < repeats) out.write(pngChunk('IDAT', Buffer.concat(Array<Buffer>(repeats - written).fill(block))));
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE(((total % 65521) * 65536 + 1) >>> 0);
  out.write(pngChunk('IDAT', Buffer.concat([zlib.deflateRawSync(Buffer.alloc(rest)), adler])));
  out.end(pngChunk('IEND', Buffer.alloc(0)));
  await once(out, 'finish');
}
