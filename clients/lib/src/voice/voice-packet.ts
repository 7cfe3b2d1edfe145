/**
 * Just enough of Mumble's voice packet format (the UDPTunnel payload) to read
 * who a packet is from, so packets from an unknown session can be dropped
 * before mumble-client dereferences them.
 * https://mumble-protocol.readthedocs.io/en/latest/voice_data.html
 */

/** A Mumble varint at `offset`: its value and how many bytes it took; undefined when truncated or invalid. */
export function readMumbleVarint(data: Uint8Array, offset = 0): { value: number; length: number } | undefined {
  const at = (i: number): number | undefined => data[offset + i];
  const b0 = at(0);
  if (b0 === undefined) return undefined;
  const need = (n: number): boolean => data.length >= offset + n;
  if ((b0 & 0x80) === 0) return { value: b0 & 0x7f, length: 1 };
  if ((b0 & 0xc0) === 0x80) return need(2) ? { value: ((b0 & 0x3f) << 8) | at(1)!, length: 2 } : undefined;
  if ((b0 & 0xe0) === 0xc0) {
    return need(3) ? { value: ((b0 & 0x1f) << 16) | (at(1)! << 8) | at(2)!, length: 3 } : undefined;
  }
  if ((b0 & 0xf0) === 0xe0) {
    return need(4) ? { value: ((b0 & 0x0f) << 24) | (at(1)! << 16) | (at(2)! << 8) | at(3)!, length: 4 } : undefined;
  }
  switch (b0 & 0xfc) {
    case 0xf0:
      return need(5) ? { value: ((at(1)! << 24) >>> 0) + ((at(2)! << 16) | (at(3)! << 8) | at(4)!), length: 5 } : undefined;
    case 0xf8: {
      const inner = readMumbleVarint(data, offset + 1);
      return inner === undefined ? undefined : { value: ~inner.value, length: inner.length + 1 };
    }
    case 0xfc:
      return { value: ~(b0 & 0x03), length: 1 };
    default:
      // 0xf4 (64-bit) never carries a session id.
      return undefined;
  }
}

/** Packet type of a voice packet header: 1 is a ping, 0/2/3/4 audio (CELT alpha, Speex, CELT beta, Opus). */
export function voicePacketType(packet: Uint8Array): number | undefined {
  return packet.length === 0 ? undefined : packet[0]! >> 5;
}

/**
 * The sender's session id in a server-to-client audio packet, undefined for a
 * ping or a malformed packet.
 */
export function voicePacketSource(packet: Uint8Array): number | undefined {
  const type = voicePacketType(packet);
  if (type === undefined || type === 1) return undefined;
  return readMumbleVarint(packet, 1)?.value;
}
