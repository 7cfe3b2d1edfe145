import type { ByteSource } from '../byte-source.js';

const MAX_TAGS = 4;

/**
 * Where the audio starts after any ID3v2 tags at `start` (MP3 and, written by some taggers, FLAC
 * files begin with them). Tag sizes are "syncsafe": 7 bits per byte.
 */
export async function id3v2End(src: ByteSource, start: number): Promise<number> {
  let pos = start;
  for (let i = 0; i < MAX_TAGS; i++) {
    const h = await src.read(pos, 10);
    if (h.length < 10 || h.toString('latin1', 0, 3) !== 'ID3') return pos;
    if ((h[6]! | h[7]! | h[8]! | h[9]!) & 0x80) return pos; // not syncsafe: not a tag
    const size = (h[6]! << 21) | (h[7]! << 14) | (h[8]! << 7) | h[9]!;
    const hasFooter = (h[5]! & 0x10) !== 0;
    pos += 10 + size + (hasFooter ? 10 : 0);
  }
  return pos;
}
