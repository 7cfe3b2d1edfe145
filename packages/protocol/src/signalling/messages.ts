import { z } from 'zod';

/**
 * The WebSocket protocol, client → server, as zod schemas (documented in PROTOCOL.md). Every
 * message is a JSON object with a `type`; an optional `id` (client-chosen) is echoed as `ref` in
 * the `error` that answers it.
 */
export const TRACK_KINDS = ['camera', 'screen'] as const;
export type TrackKind = (typeof TRACK_KINDS)[number];

const MAX_TOKEN_CHARS = 8192;
/** An SDP of a mesh call with camera and screen is a few KiB; this leaves room for many codecs. */
const MAX_SDP_CHARS = 32 * 1024;

const requestId = z.union([z.string().max(64), z.number().int()]).optional();
const token = z.string().min(1).max(MAX_TOKEN_CHARS);
const peerId = z.string().min(1).max(64);
const track = z.enum(TRACK_KINDS);
/** A MediaStream id as it appears in SDP (`a=msid:<stream> <track>`): printable, no spaces. */
const streamId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\x21-\x7e]+$/, 'a stream id is printable ASCII without spaces');

/** RTCIceCandidateInit; `null` means end of candidates. */
const candidate = z
  .object({
    candidate: z.string().max(2048),
    sdpMid: z.string().max(64).nullish(),
    sdpMLineIndex: z.number().int().min(0).max(1024).nullish(),
    usernameFragment: z.string().max(256).nullish(),
  })
  .strict()
  .nullable();

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), id: requestId, token }).strict(),
  z.object({ type: z.literal('refresh'), id: requestId, token }).strict(),
  z.object({ type: z.literal('turn'), id: requestId }).strict(),
  z.object({ type: z.literal('join'), id: requestId, room: z.string().min(1).max(210) }).strict(),
  z.object({ type: z.literal('leave'), id: requestId }).strict(),
  z.object({ type: z.literal('publish'), id: requestId, track, stream: streamId.optional() }).strict(),
  z.object({ type: z.literal('unpublish'), id: requestId, track }).strict(),
  z.object({ type: z.literal('offer'), id: requestId, to: peerId, sdp: z.string().min(1).max(MAX_SDP_CHARS) }).strict(),
  z.object({ type: z.literal('answer'), id: requestId, to: peerId, sdp: z.string().min(1).max(MAX_SDP_CHARS) }).strict(),
  z.object({ type: z.literal('candidate'), id: requestId, to: peerId, candidate }).strict(),
  // simple-peer's own signals: the answering side asks the offering side to renegotiate, or to add
  // a transceiver, when it adds a track (only the offering side may send offers).
  z.object({ type: z.literal('renegotiate'), id: requestId, to: peerId }).strict(),
  z.object({ type: z.literal('transceiver'), id: requestId, to: peerId, kind: z.enum(['audio', 'video']) }).strict(),
]);

export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type RelayMessage = Extract<ClientMessage, { type: 'offer' | 'answer' | 'candidate' | 'renegotiate' | 'transceiver' }>;

/** A member of a room as others see it. */
export interface PeerInfo {
  peerId: string;
  account: string;
  tracks: TrackKind[];
  /** The MediaStream id each track travels in, when its publisher said. */
  streams: Partial<Record<TrackKind, string>>;
}

type Ref = { ref?: string | number };
type TurnInfo = { urls: string[]; username: string; credential: string; ttl: number };

/** Server → client. */
export type ServerMessage =
  | ({ type: 'welcome'; peerId: string; account: string; turn: TurnInfo } & Ref)
  | ({ type: 'refreshed'; turn: TurnInfo } & Ref)
  | ({ type: 'turn'; turn: TurnInfo } & Ref)
  | ({ type: 'room'; room: string; kind: 'voice' | 'dm'; channelId?: string; accounts?: string[]; peerId: string; peers: PeerInfo[] } & Ref)
  | { type: 'joined'; room: string; peer: PeerInfo }
  | ({ type: 'left'; room: string; peerId: string } & Ref)
  | ({ type: 'tracks'; room: string; peerId: string } & Pick<PeerInfo, 'tracks' | 'streams'> & Ref)
  | { type: 'renegotiate'; from: string }
  | { type: 'transceiver'; from: string; kind: 'audio' | 'video' }
  | { type: 'offer'; from: string; sdp: string }
  | { type: 'answer'; from: string; sdp: string }
  | { type: 'candidate'; from: string; candidate: z.infer<typeof candidate> }
  | { type: 'error'; code: string; message: string; ref?: string | number };

/** The `id` of a message that failed validation, when it had a usable one. */
export function requestIdOf(raw: unknown): string | number | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const id = (raw as { id?: unknown }).id;
  return (typeof id === 'string' && id.length <= 64) || (typeof id === 'number' && Number.isInteger(id)) ? id : undefined;
}
