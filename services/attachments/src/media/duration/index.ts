import { ByteBudgetExceeded, FileByteSource, type ByteSource } from '../byte-source.js';
import { flacDuration } from './flac.js';
import { id3v2End } from './id3.js';
import { matroskaDuration } from './matroska.js';
import { mp3Duration } from './mp3.js';
import { mp4Duration } from './mp4.js';
import { oggDuration } from './ogg.js';
import { wavDuration } from './wav.js';

export type Container = 'mp4' | 'matroska' | 'ogg' | 'wav' | 'flac' | 'mpeg-audio';

const PARSERS: Record<Container, (src: ByteSource) => Promise<number | undefined>> = {
  mp4: mp4Duration,
  matroska: matroskaDuration,
  ogg: oggDuration,
  wav: wavDuration,
  flac: flacDuration,
  'mpeg-audio': mp3Duration,
};

const MP4_FIRST_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot']);

/**
 * The container a file's first bytes announce (the upload's content type was already sniffed
 * from the bytes; this only picks the parser, so an `audio/mp4` and a `video/quicktime` both land
 * on the ISO box parser). MPEG audio has no magic number: only trusted when the type says so.
 */
export async function sniffContainer(src: ByteSource, contentType: string): Promise<Container | undefined> {
  const head = await src.read(0, 12);
  if (head.length < 4) return undefined;
  const ascii = (from: number, to: number) => head.toString('latin1', from, to);
  if (head.length >= 8 && MP4_FIRST_BOXES.has(ascii(4, 8))) return 'mp4';
  if (head.readUInt32BE(0) === 0x1a45dfa3) return 'matroska';
  if (ascii(0, 4) === 'OggS') return 'ogg';
  if ((ascii(0, 4) === 'RIFF' || ascii(0, 4) === 'RF64') && ascii(8, 12) === 'WAVE') return 'wav';
  if (ascii(0, 4) === 'fLaC') return 'flac';
  if (ascii(0, 3) === 'ID3') {
    const audio = await src.read(await id3v2End(src, 0), 4);
    if (audio.toString('latin1') === 'fLaC') return 'flac';
  }
  if (contentType === 'audio/mpeg' || contentType === 'audio/mp3') return 'mpeg-audio';
  return undefined;
}

/**
 * Duration in seconds of an audio or video file where its container says so cheaply; undefined
 * when the container is not one of these, does not carry a duration, or would cost more than the
 * byte budget to find out. Never throws for odd contents; I/O errors propagate.
 */
export async function readDuration(src: ByteSource, contentType: string): Promise<number | undefined> {
  try {
    const container = await sniffContainer(src, contentType);
    return container ? await PARSERS[container](src) : undefined;
  } catch (err) {
    if (err instanceof ByteBudgetExceeded || err instanceof RangeError) return undefined;
    throw err;
  }
}

export async function readDurationFromFile(path: string, contentType: string): Promise<number | undefined> {
  const src = await FileByteSource.open(path);
  try {
    return await readDuration(src, contentType);
  } finally {
    await src.close();
  }
}
