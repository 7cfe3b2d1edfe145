/** Reading Opus packet headers (RFC 6716 section 3.1) without decoding them. */

/** Frame duration in ms for each of the 32 TOC configurations. */
const FRAME_MS: readonly number[] = [
  // SILK-only narrow-, medium-, wideband: 10, 20, 40, 60 ms each
  10, 20, 40, 60, 10, 20, 40, 60, 10, 20, 40, 60,
  // Hybrid super-wide- and fullband: 10, 20 ms each
  10, 20, 10, 20,
  // CELT-only narrow-, wide-, super-wide-, fullband: 2.5, 5, 10, 20 ms each
  2.5, 5, 10, 20, 2.5, 5, 10, 20, 2.5, 5, 10, 20, 2.5, 5, 10, 20,
];

/**
 * Audio duration of one Opus packet in ms, from its TOC byte (and the frame
 * count byte of code-3 packets); undefined for a packet too short to say.
 */
export function opusPacketDurationMs(packet: Uint8Array): number | undefined {
  if (packet.length === 0) return undefined;
  const toc = packet[0]!;
  const frameMs = FRAME_MS[toc >> 3]!;
  let frames: number;
  switch (toc & 0x03) {
    case 0:
      frames = 1;
      break;
    case 1:
    case 2:
      frames = 2;
      break;
    default:
      if (packet.length < 2) return undefined;
      frames = packet[1]! & 0x3f;
  }
  return frames * frameMs;
}
