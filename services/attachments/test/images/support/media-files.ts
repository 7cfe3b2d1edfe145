/**
 * Small audio and video files built by hand, element by element, following each container's
 * specification (no encoder is installed here). The payloads are not decodable audio or video,
 * but every structure a demuxer reads for the duration is real: file-type recognises each one.
 */
import { oggCrc } from '../../../src/media/duration/ogg.js';

const u8 = (n: number) => Buffer.from([n]);
const u16be = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u16le = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32be = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const u32le = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const u64be = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};
const u64le = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};
const ascii = (s: string) => Buffer.from(s, 'latin1');

// ---------------------------------------------------------------- WAV

export interface WavOptions {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  seconds: number;
  /** What the data chunk's size field says (default: the true size). */
  dataSizeField?: number;
  /** An odd-sized chunk before `data`, to check chunk padding. */
  oddChunk?: boolean;
}

/** An RF64 file (WAV past 4 GiB): sizes of 0xFFFFFFFF, the real ones in a `ds64` chunk. */
export function rf64(sampleRate: number, seconds: number): Buffer {
  const dataSize = Math.round(seconds * sampleRate) * 2;
  const fmt = Buffer.concat([u16le(1), u16le(1), u32le(sampleRate), u32le(sampleRate * 2), u16le(2), u16le(16)]);
  const ds64 = Buffer.concat([u64le(BigInt(4 + 8 + 28 + 8 + 16 + 8 + dataSize)), u64le(BigInt(dataSize)), u64le(BigInt(dataSize / 2)), u32le(0)]);
  return Buffer.concat([
    ascii('RF64'),
    u32le(0xffffffff),
    ascii('WAVE'),
    ascii('ds64'),
    u32le(ds64.length),
    ds64,
    ascii('fmt '),
    u32le(16),
    fmt,
    ascii('data'),
    u32le(0xffffffff),
    Buffer.alloc(dataSize),
  ]);
}

export function wav(o: WavOptions): Buffer {
  const blockAlign = (o.channels * o.bitsPerSample) / 8;
  const dataSize = Math.round(o.seconds * o.sampleRate) * blockAlign;
  const fmt = Buffer.concat([u16le(1), u16le(o.channels), u32le(o.sampleRate), u32le(o.sampleRate * blockAlign), u16le(blockAlign), u16le(o.bitsPerSample)]);
  const chunks = [ascii('fmt '), u32le(fmt.length), fmt];
  if (o.oddChunk) chunks.push(ascii('LIST'), u32le(5), ascii('INFOx'), u8(0));
  chunks.push(ascii('data'), u32le(o.dataSizeField ?? dataSize), Buffer.alloc(dataSize));
  const body = Buffer.concat([ascii('WAVE'), ...chunks]);
  return Buffer.concat([ascii('RIFF'), u32le(body.length), body]);
}

// ---------------------------------------------------------------- ISO BMFF (MP4, MOV)

export function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([u32be(8 + body.length), ascii(type), body]);
}

function fullBox(type: string, version: number, ...payload: Buffer[]): Buffer {
  return box(type, u8(version), Buffer.alloc(3), ...payload);
}

const IDENTITY_MATRIX = Buffer.concat([0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000].map(u32be));

export function mvhd(version: 0 | 1, timescale: number, duration: number | bigint): Buffer {
  const times =
    version === 1
      ? [u64be(3_700_000_000n), u64be(3_700_000_000n), u32be(timescale), u64be(BigInt(duration))]
      : [u32be(3_700_000_000), u32be(3_700_000_000), u32be(timescale), u32be(Number(duration))];
  // rate 1.0, volume 1.0, reserved, matrix, pre_defined, next_track_ID
  return fullBox('mvhd', version, ...times, u32be(0x00010000), u16be(0x0100), Buffer.alloc(10), IDENTITY_MATRIX, Buffer.alloc(24), u32be(2));
}

export function ftyp(brand = 'isom'): Buffer {
  return box('ftyp', ascii(brand), u32be(512), ascii('isom'), ascii('iso2'), ascii('mp41'));
}

export interface Mp4Options {
  version?: 0 | 1;
  timescale: number;
  duration: number | bigint;
  /** Put `moov` after `mdat` (files not "fast-started", as most cameras write them). */
  moovLast?: boolean;
  mdatBytes?: number;
  /** Write `mdat` with a 64-bit size. */
  largeMdat?: boolean;
  /** Fragmented: mvhd says 0 and `mvex/mehd` carries the duration. */
  fragmentDuration?: number;
  brand?: string;
}

export function mp4(o: Mp4Options): Buffer {
  const payload = Buffer.alloc(o.mdatBytes ?? 1024, 0x11);
  const mdat = o.largeMdat ? Buffer.concat([u32be(1), ascii('mdat'), u64be(BigInt(16 + payload.length)), payload]) : box('mdat', payload);
  const children = [box('udta', box('free', Buffer.alloc(4))), mvhd(o.version ?? 0, o.timescale, o.duration)];
  if (o.fragmentDuration !== undefined) children.push(box('mvex', fullBox('mehd', 0, u32be(o.fragmentDuration))));
  const moov = box('moov', ...children);
  const head = ftyp(o.brand);
  return Buffer.concat(o.moovLast ? [head, mdat, moov] : [head, moov, mdat]);
}

// ---------------------------------------------------------------- Matroska / WebM

function idBytes(id: number): Buffer {
  const bytes: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from(bytes);
}

function sizeVint(n: number): Buffer {
  for (let length = 1; length <= 8; length++) {
    if (n < 2 ** (7 * length) - 1) {
      const b = Buffer.alloc(length);
      let v = n;
      for (let i = length - 1; i >= 0; i--) {
        b[i] = v & 0xff;
        v = Math.floor(v / 256);
      }
      b[0]! |= 0x80 >> (length - 1);
      return b;
    }
  }
  throw new RangeError('too large');
}

export const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export function el(id: number, ...children: Buffer[]): Buffer {
  const body = Buffer.concat(children);
  return Buffer.concat([idBytes(id), sizeVint(body.length), body]);
}
export function elUnknownSize(id: number, ...children: Buffer[]): Buffer {
  return Buffer.concat([idBytes(id), UNKNOWN_SIZE, ...children]);
}
function uintBytes(v: number): Buffer {
  const bytes: number[] = [];
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  return Buffer.from(bytes);
}
const uintEl = (id: number, v: number) => el(id, uintBytes(v));
const strEl = (id: number, s: string) => el(id, ascii(s));
const floatEl = (id: number, v: number, bytes: 4 | 8) => {
  const b = Buffer.alloc(bytes);
  if (bytes === 4) b.writeFloatBE(v);
  else b.writeDoubleBE(v);
  return el(id, b);
};

const EBML_HEADER = el(
  0x1a45dfa3,
  uintEl(0x4286, 1),
  uintEl(0x42f7, 1),
  uintEl(0x42f2, 4),
  uintEl(0x42f3, 8),
  strEl(0x4282, 'webm'),
  uintEl(0x4287, 4),
  uintEl(0x4285, 2),
);

function info(o: { durationTicks?: number; timestampScale?: number; floatBytes?: 4 | 8 }): Buffer {
  const fields = [uintEl(0x2ad7b1, o.timestampScale ?? 1_000_000), strEl(0x4d80, 'alloquy-test'), strEl(0x5741, 'alloquy-test')];
  if (o.durationTicks !== undefined) fields.push(floatEl(0x4489, o.durationTicks, o.floatBytes ?? 8));
  return el(0x1549a966, ...fields);
}

const TRACKS = el(
  0x1654ae6b,
  el(0xae, uintEl(0xd7, 1), uintEl(0x73c5, 1), uintEl(0x83, 1), strEl(0x86, 'V_VP8'), el(0xe0, uintEl(0xb0, 16), uintEl(0xba, 16))),
);

function cluster(timestamp: number, frameBytes = 512): Buffer {
  // SimpleBlock: track 1 (vint), relative timestamp 0, keyframe flag, frame bytes.
  return el(0x1f43b675, uintEl(0xe7, timestamp), el(0xa3, Buffer.from([0x81, 0x00, 0x00, 0x80]), Buffer.alloc(frameBytes, 0x22)));
}

function seekHead(entries: Array<{ id: number; position: number }>): Buffer {
  return el(0x114d9b74, ...entries.map((e) => el(0x4dbb, el(0x53ab, idBytes(e.id)), uintEl(0x53ac, e.position))));
}

export interface WebmOptions {
  durationTicks?: number;
  timestampScale?: number;
  floatBytes?: 4 | 8;
  /** Info after the first Cluster, found through the SeekHead (some muxers rewrite it there). */
  infoAfterCluster?: boolean;
  /** A live recording: unknown-size Segment and Clusters, no Duration. */
  live?: boolean;
}

export function webm(o: WebmOptions): Buffer {
  if (o.live) {
    const liveCluster = elUnknownSize(0x1f43b675, uintEl(0xe7, 0), el(0xa3, Buffer.from([0x81, 0x00, 0x00, 0x80]), Buffer.alloc(256)));
    return Buffer.concat([EBML_HEADER, elUnknownSize(0x18538067, info({ timestampScale: o.timestampScale }), TRACKS, liveCluster)]);
  }
  const inf = info(o);
  if (o.infoAfterCluster) {
    // The SeekHead's own length is part of the offset it stores: lay it out until that settles.
    const first = cluster(0, 2000);
    let head = seekHead([{ id: 0x1549a966, position: 0 }]);
    for (let i = 0; i < 3; i++) head = seekHead([{ id: 0x1549a966, position: head.length + TRACKS.length + first.length }]);
    return Buffer.concat([EBML_HEADER, el(0x18538067, head, TRACKS, first, inf, cluster(1000))]);
  }
  return Buffer.concat([EBML_HEADER, el(0x18538067, inf, TRACKS, cluster(0), cluster(1000))]);
}

// ---------------------------------------------------------------- Ogg

export interface OggPageOptions {
  headerType: number;
  granule: bigint;
  serial: number;
  sequence: number;
  packets: Buffer[];
}

export function oggPage(o: OggPageOptions): Buffer {
  const lacing: number[] = [];
  for (const packet of o.packets) {
    let left = packet.length;
    while (left >= 255) {
      lacing.push(255);
      left -= 255;
    }
    lacing.push(left);
  }
  if (lacing.length > 255) throw new RangeError('too many segments for one page');
  const header = Buffer.concat([
    ascii('OggS'),
    u8(0),
    u8(o.headerType),
    u64le(o.granule),
    u32le(o.serial),
    u32le(o.sequence),
    u32le(0),
    u8(lacing.length),
    Buffer.from(lacing),
  ]);
  const page = Buffer.concat([header, ...o.packets]);
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

const BOS = 0x02;
const EOS = 0x04;

export function vorbisIdHeader(sampleRate: number, channels = 2): Buffer {
  return Buffer.concat([u8(1), ascii('vorbis'), u32le(0), u8(channels), u32le(sampleRate), u32le(0), u32le(128_000), u32le(0), u8(0xb8), u8(1)]);
}

export function opusHead(preSkip: number, channels = 2): Buffer {
  return Buffer.concat([ascii('OpusHead'), u8(1), u8(channels), u16le(preSkip), u32le(48_000), u16le(0), u8(0)]);
}

function theoraIdHeader(): Buffer {
  return Buffer.concat([u8(0x80), ascii('theora'), u8(3), u8(2), u8(1), u16be(2), u16be(2), Buffer.alloc(32)]);
}

/** Ogg FLAC mapping: 0x7F "FLAC", version 1.0, header count, then "fLaC" and a STREAMINFO block. */
function oggFlacHeader(sampleRate: number): Buffer {
  const streamInfo = flac(sampleRate, 0).subarray(8, 8 + 34);
  return Buffer.concat([u8(0x7f), ascii('FLAC'), u8(1), u8(0), u16be(1), ascii('fLaC'), Buffer.from([0x80, 0, 0, 34]), streamInfo]);
}

export interface OggOptions {
  codec: 'vorbis' | 'opus' | 'flac' | 'theora-only' | 'theora+vorbis';
  /** Samples of the audio stream at its granule rate (Vorbis: the sample rate; Opus: 48 kHz, pre-skip included). */
  lastGranule: bigint;
  sampleRate?: number;
  preSkip?: number;
  /** Audio pages between the headers and the last one. */
  pages?: number;
}

/** An Ogg file whose last audio pages contain "OggS" inside packet data (which a parser must not take for a page). */
export function ogg(o: OggOptions): Buffer {
  const audio = 0x5eed;
  const video = 0x7e1e;
  const pages: Buffer[] = [];
  let seq = 0;
  let vseq = 0;
  const withVideo = o.codec === 'theora-only' || o.codec === 'theora+vorbis';
  if (withVideo) pages.push(oggPage({ headerType: BOS, granule: 0n, serial: video, sequence: vseq++, packets: [theoraIdHeader()] }));
  if (o.codec === 'theora-only') {
    for (let i = 1; i <= (o.pages ?? 4); i++)
      pages.push(
        oggPage({ headerType: i === (o.pages ?? 4) ? EOS : 0, granule: BigInt(i << 6), serial: video, sequence: vseq++, packets: [Buffer.alloc(300, 0x33)] }),
      );
    return Buffer.concat(pages);
  }
  const id =
    o.codec === 'opus' ? opusHead(o.preSkip ?? 312) : o.codec === 'flac' ? oggFlacHeader(o.sampleRate ?? 44_100) : vorbisIdHeader(o.sampleRate ?? 44_100);
  pages.push(oggPage({ headerType: BOS, granule: 0n, serial: audio, sequence: seq++, packets: [id] }));
  const tags =
    o.codec === 'opus'
      ? Buffer.concat([ascii('OpusTags'), u32le(7), ascii('alloquy'), u32le(0)])
      : Buffer.concat([u8(3), ascii('vorbis'), u32le(7), ascii('alloquy'), u32le(0), u8(1)]);
  pages.push(oggPage({ headerType: 0, granule: 0n, serial: audio, sequence: seq++, packets: [tags] }));
  const n = o.pages ?? 6;
  for (let i = 1; i <= n; i++) {
    const granule = i === n ? o.lastGranule : (o.lastGranule * BigInt(i)) / BigInt(n + 1);
    const packet = Buffer.alloc(700, 0x44);
    packet.write('OggS', 100, 'latin1'); // a false capture pattern inside the data
    pages.push(oggPage({ headerType: i === n ? EOS : 0, granule, serial: audio, sequence: seq++, packets: [packet] }));
    if (withVideo) pages.push(oggPage({ headerType: 0, granule: BigInt(i << 6), serial: video, sequence: vseq++, packets: [Buffer.alloc(400, 0x55)] }));
  }
  return Buffer.concat(pages);
}

// ---------------------------------------------------------------- MPEG audio

/** MPEG-1 Layer III frame header, 44.1 kHz, no CRC; `bitrateIndex` 9 = 128 kbit/s, 11 = 192 kbit/s. */
function mpeg1Layer3Header(bitrateIndex: number, padding = 0, mono = false): Buffer {
  return Buffer.from([0xff, 0xfb, (bitrateIndex << 4) | (padding << 1), mono ? 0xc0 : 0x00]);
}
const MPEG1_L3_KBPS = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];

function mpeg1Layer3Frame(bitrateIndex: number, padding = 0): Buffer {
  const length = Math.floor((144 * MPEG1_L3_KBPS[bitrateIndex]! * 1000) / 44_100) + padding;
  return Buffer.concat([mpeg1Layer3Header(bitrateIndex, padding), Buffer.alloc(length - 4)]);
}

function id3v2(bodyBytes: number): Buffer {
  const size = bodyBytes;
  const syncsafe = Buffer.from([(size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f]);
  return Buffer.concat([ascii('ID3'), u8(4), u8(0), u8(0), syncsafe, Buffer.alloc(bodyBytes)]);
}

function id3v1(): Buffer {
  const tag = Buffer.alloc(128);
  tag.write('TAG', 0, 'latin1');
  tag.write('alloquy test', 3, 'latin1');
  return tag;
}

export type Mp3Kind = 'cbr' | 'xing' | 'vbri' | 'vbr-no-header';

/**
 * `frames` frames at 44.1 kHz (1152 samples each). CBR frames are padded the way encoders pad
 * them (so 128 kbit/s holds on average); VBR files alternate 128 and 192 kbit/s frames.
 */
export function mp3(kind: Mp3Kind, frames: number): Buffer {
  const parts: Buffer[] = [id3v2(200)];
  if (kind === 'cbr') {
    let rest = 0;
    for (let i = 0; i < frames; i++) {
      // 144 × 128000 / 44100 = 417.96…: pad when the fractional bytes add up, as encoders do.
      rest += (144 * 128_000) % 44_100;
      const pad = rest >= 44_100 ? 1 : 0;
      if (pad) rest -= 44_100;
      parts.push(mpeg1Layer3Frame(9, pad));
    }
    parts.push(id3v1());
    return Buffer.concat(parts);
  }
  const vbrFrames = Array.from({ length: frames }, (_, i) => mpeg1Layer3Frame(i % 2 ? 11 : 9));
  const bytes = vbrFrames.reduce((sum, f) => sum + f.length, 0);
  if (kind === 'xing') {
    const first = mpeg1Layer3Frame(9);
    ascii('Xing').copy(first, 4 + 32);
    u32be(0x3).copy(first, 4 + 32 + 4); // frames and bytes present
    u32be(frames).copy(first, 4 + 32 + 8);
    u32be(bytes).copy(first, 4 + 32 + 12);
    parts.push(first);
  } else if (kind === 'vbri') {
    const first = mpeg1Layer3Frame(9);
    Buffer.concat([ascii('VBRI'), u16be(1), u16be(576), u16be(75), u32be(bytes), u32be(frames)]).copy(first, 36);
    parts.push(first);
  }
  parts.push(...vbrFrames);
  return Buffer.concat(parts);
}

/** MPEG-2 Layer III, 22.05 kHz mono, 64 kbit/s, with a Xing header (576 samples per frame). */
export function mp3Mpeg2Xing(frames: number): Buffer {
  const header = Buffer.from([0xff, 0xf3, 0x80, 0xc0]); // version 2, layer III, 64 kbit/s, 22.05 kHz, mono
  const length = Math.floor((72 * 64_000) / 22_050);
  const frame = () => Buffer.concat([header, Buffer.alloc(length - 4)]);
  const first = frame();
  ascii('Xing').copy(first, 4 + 9);
  u32be(0x1).copy(first, 4 + 9 + 4);
  u32be(frames).copy(first, 4 + 9 + 8);
  return Buffer.concat([first, ...Array.from({ length: frames }, frame)]);
}

// ---------------------------------------------------------------- FLAC

export function flac(sampleRate: number, totalSamples: number, channels = 2, bitsPerSample = 16): Buffer {
  const packed = (BigInt(sampleRate) << 44n) | (BigInt(channels - 1) << 41n) | (BigInt(bitsPerSample - 1) << 36n) | BigInt(totalSamples);
  const streamInfo = Buffer.concat([u16be(4096), u16be(4096), Buffer.alloc(3), Buffer.alloc(3), u64be(packed), Buffer.alloc(16)]);
  return Buffer.concat([ascii('fLaC'), u8(0x80), Buffer.from([0, 0, 34]), streamInfo, Buffer.alloc(64, 0x66)]);
}
