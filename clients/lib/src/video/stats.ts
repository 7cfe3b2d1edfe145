/**
 * Reading WebRTC statistics (`RTCPeerConnection.getStats()`, W3C webrtc-stats): which candidate
 * pair ICE chose (relay through TURN, or direct), and how much remote video was decoded. Pure
 * functions over a report, so they are tested without a browser.
 */

/** The part of an RTCStatsReport these functions read: a map from stats id to stats object. */
export type StatsReport = Pick<ReadonlyMap<string, Record<string, unknown>>, 'get' | 'values'>;

export interface CandidateInfo {
  /** `host`, `srflx`, `prflx` or `relay`. */
  type: string;
  /** `udp` or `tcp`. */
  protocol: string;
  address?: string;
  port?: number;
  /** For a local relay candidate: how this end reaches the TURN server (`udp`, `tcp`, `tls`). */
  relayProtocol?: string;
}

export interface CandidatePairInfo {
  local: CandidateInfo;
  remote: CandidateInfo;
  state: string;
  /** Seconds, when measured. */
  currentRoundTripTime?: number;
}

export interface InboundVideo {
  framesDecoded: number;
  /** Of the largest inbound stream; 0 before the first decoded frame. */
  frameWidth: number;
  frameHeight: number;
  bytesReceived: number;
  /** Inbound video RTP streams (one per remote video track). */
  streams: number;
}

/**
 * The pair ICE uses now: the transport's `selectedCandidatePairId` (Chromium, Safari), else a
 * pair marked `selected` (Firefox), else the nominated succeeded one.
 */
export function selectedCandidatePair(report: StatsReport): CandidatePairInfo | undefined {
  let pair: Record<string, unknown> | undefined;
  for (const stats of report.values()) {
    if (stats.type === 'transport' && typeof stats.selectedCandidatePairId === 'string') {
      pair = report.get(stats.selectedCandidatePairId);
      if (pair) break;
    }
  }
  if (!pair) {
    const pairs = [...report.values()].filter((s) => s.type === 'candidate-pair');
    pair = pairs.find((p) => p.selected === true) ?? pairs.find((p) => p.nominated === true && p.state === 'succeeded');
  }
  if (!pair) return undefined;
  const local = candidate(report, pair.localCandidateId);
  const remote = candidate(report, pair.remoteCandidateId);
  if (!local || !remote) return undefined;
  const rtt = pair.currentRoundTripTime;
  return { local, remote, state: String(pair.state ?? ''), ...(typeof rtt === 'number' ? { currentRoundTripTime: rtt } : {}) };
}

function candidate(report: StatsReport, id: unknown): CandidateInfo | undefined {
  const stats = typeof id === 'string' ? report.get(id) : undefined;
  if (!stats) return undefined;
  const info: CandidateInfo = { type: String(stats.candidateType ?? ''), protocol: String(stats.protocol ?? '') };
  const address = stats.address ?? stats.ip;
  if (typeof address === 'string') info.address = address;
  if (typeof stats.port === 'number') info.port = stats.port;
  if (typeof stats.relayProtocol === 'string') info.relayProtocol = stats.relayProtocol;
  return info;
}

/** Decoded remote video, summed over the inbound video streams. */
export function inboundVideo(report: StatsReport): InboundVideo {
  const total: InboundVideo = { framesDecoded: 0, frameWidth: 0, frameHeight: 0, bytesReceived: 0, streams: 0 };
  for (const stats of report.values()) {
    if (stats.type !== 'inbound-rtp' || (stats.kind ?? stats.mediaType) !== 'video') continue;
    total.streams += 1;
    total.framesDecoded += numberOr0(stats.framesDecoded);
    total.bytesReceived += numberOr0(stats.bytesReceived);
    const width = numberOr0(stats.frameWidth);
    if (width > total.frameWidth) {
      total.frameWidth = width;
      total.frameHeight = numberOr0(stats.frameHeight);
    }
  }
  return total;
}

function numberOr0(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
