import { plausibleSeconds, safeUint64, type ByteSource } from '../byte-source.js';

/**
 * Duration of a Matroska or WebM file: `Segment/Info/Duration` (a float in `TimestampScale`
 * units, nanoseconds each by default). Segment children are skipped by their sizes; when a
 * `Cluster` comes before `Info`, the `SeekHead` says where `Info` is. Live recordings
 * (MediaRecorder, streaming muxers) write no Duration: those get none rather than a guess.
 */

const ID = {
  ebml: 0x1a45dfa3,
  segment: 0x18538067,
  seekHead: 0x114d9b74,
  seek: 0x4dbb,
  seekId: 0x53ab,
  seekPosition: 0x53ac,
  info: 0x1549a966,
  timestampScale: 0x2ad7b1,
  duration: 0x4489,
  cluster: 0x1f43b675,
} as const;

interface Vint {
  value: number;
  length: number;
  /** A size whose value bits are all ones: "unknown", the element runs to its parent's end. */
  unknown: boolean;
}

/** An EBML variable-length integer; IDs keep their length marker bits, sizes do not. */
export function readVint(buf: Buffer, pos: number, keepMarker: boolean): Vint | undefined {
  const first = buf[pos];
  if (first === undefined || first === 0) return undefined;
  const length = Math.clz32(first) - 23;
  if (pos + length > buf.length) return undefined;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    const byte = buf[pos + i]!;
    value = value * 256 + byte;
    allOnes &&= byte === 0xff;
  }
  if (!keepMarker && allOnes) return { value: 0, length, unknown: true };
  if (!Number.isSafeInteger(value)) return undefined;
  return { value, length, unknown: false };
}

interface Element {
  id: number;
  dataStart: number;
  /** Undefined for unknown-size elements. */
  size: number | undefined;
}

function parseHeader(buf: Buffer, pos: number, base: number): Element | undefined {
  const id = readVint(buf, pos, true);
  if (!id || id.length > 4) return undefined;
  const size = readVint(buf, pos + id.length, false);
  if (!size) return undefined;
  return { id: id.value, dataStart: base + pos + id.length + size.length, size: size.unknown ? undefined : size.value };
}

async function readHeader(src: ByteSource, pos: number): Promise<Element | undefined> {
  return parseHeader(await src.read(pos, 12), 0, pos);
}

/** Child elements of an in-memory element body. */
function* children(body: Buffer): Generator<{ id: number; data: Buffer }> {
  let pos = 0;
  while (pos < body.length) {
    const el = parseHeader(body, pos, 0);
    if (!el || el.size === undefined || el.dataStart + el.size > body.length) return;
    yield { id: el.id, data: body.subarray(el.dataStart, el.dataStart + el.size) };
    pos = el.dataStart + el.size;
  }
}

function readUint(data: Buffer): number | undefined {
  if (data.length > 8) return undefined;
  let value = 0n;
  for (const byte of data) value = value * 256n + BigInt(byte);
  return safeUint64(value);
}

const MAX_SEGMENT_CHILDREN = 64;
/** Info and SeekHead are tiny (titles, muxer names); anything larger is not worth reading. */
const MAX_SMALL_ELEMENT = 64 * 1024;

export async function matroskaDuration(src: ByteSource): Promise<number | undefined> {
  const ebml = await readHeader(src, 0);
  if (!ebml || ebml.id !== ID.ebml || ebml.size === undefined) return undefined;
  const segment = await readHeader(src, ebml.dataStart + ebml.size);
  if (!segment || segment.id !== ID.segment) return undefined;
  const segmentStart = segment.dataStart;
  const segmentEnd = segment.size === undefined ? src.size : Math.min(src.size, segmentStart + segment.size);

  let infoOffset: number | undefined;
  let pos = segmentStart;
  for (let i = 0; i < MAX_SEGMENT_CHILDREN && pos < segmentEnd; i++) {
    const el = await readHeader(src, pos);
    if (!el) break;
    if (el.id === ID.info) return infoDuration(src, el);
    if (el.id === ID.seekHead && el.size !== undefined && el.size <= MAX_SMALL_ELEMENT) {
      infoOffset = seekHeadInfoOffset(await src.read(el.dataStart, el.size));
    }
    if (el.id === ID.cluster || el.size === undefined) break;
    pos = el.dataStart + el.size;
  }
  if (infoOffset === undefined) return undefined;
  const info = await readHeader(src, segmentStart + infoOffset);
  return info?.id === ID.info ? infoDuration(src, info) : undefined;
}

function seekHeadInfoOffset(body: Buffer): number | undefined {
  for (const seek of children(body)) {
    if (seek.id !== ID.seek) continue;
    let target: number | undefined;
    let position: number | undefined;
    for (const field of children(seek.data)) {
      if (field.id === ID.seekId && field.data.length <= 4 && field.data.length > 0) target = field.data.readUIntBE(0, field.data.length);
      if (field.id === ID.seekPosition) position = readUint(field.data);
    }
    if (target === ID.info && position !== undefined) return position;
  }
  return undefined;
}

async function infoDuration(src: ByteSource, info: Element): Promise<number | undefined> {
  if (info.size === undefined || info.size > MAX_SMALL_ELEMENT) return undefined;
  const body = await src.read(info.dataStart, info.size);
  let scale = 1_000_000;
  let ticks: number | undefined;
  for (const field of children(body)) {
    if (field.id === ID.timestampScale) scale = readUint(field.data) ?? 0;
    if (field.id === ID.duration) {
      if (field.data.length === 4) ticks = field.data.readFloatBE(0);
      else if (field.data.length === 8) ticks = field.data.readDoubleBE(0);
    }
  }
  if (ticks === undefined || scale === 0 || !(ticks > 0)) return undefined;
  return plausibleSeconds((ticks * scale) / 1e9);
}
