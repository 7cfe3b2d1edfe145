import { describe, expect, it } from 'vitest';
import { inboundVideo, selectedCandidatePair, type StatsReport } from './stats.js';

function report(...entries: Array<Record<string, unknown>>): StatsReport {
  return new Map(entries.map((e) => [String(e.id), e]));
}

const relayLocal = { id: 'L1', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', address: '127.0.0.1', port: 50001, relayProtocol: 'udp' };
const hostLocal = { id: 'L2', type: 'local-candidate', candidateType: 'host', protocol: 'udp', address: '127.0.0.1', port: 40000 };
const relayRemote = { id: 'R1', type: 'remote-candidate', candidateType: 'relay', protocol: 'udp', address: '127.0.0.1', port: 50002 };
const hostRemote = { id: 'R2', type: 'remote-candidate', candidateType: 'host', protocol: 'udp', ip: '127.0.0.1', port: 40001 };

describe('selectedCandidatePair', () => {
  it("follows the transport's selectedCandidatePairId, not other succeeded pairs", () => {
    const stats = report(
      relayLocal,
      hostLocal,
      relayRemote,
      hostRemote,
      { id: 'P-host', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R2', state: 'succeeded', nominated: true },
      {
        id: 'P-relay',
        type: 'candidate-pair',
        localCandidateId: 'L1',
        remoteCandidateId: 'R1',
        state: 'succeeded',
        nominated: true,
        currentRoundTripTime: 0.002,
      },
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P-relay' },
    );
    expect(selectedCandidatePair(stats)).toEqual({
      local: { type: 'relay', protocol: 'udp', address: '127.0.0.1', port: 50001, relayProtocol: 'udp' },
      remote: { type: 'relay', protocol: 'udp', address: '127.0.0.1', port: 50002 },
      state: 'succeeded',
      currentRoundTripTime: 0.002,
    });
  });

  it('falls back to a pair marked selected, then to the nominated succeeded one', () => {
    const selected = report(hostLocal, hostRemote, relayLocal, relayRemote, {
      id: 'P',
      type: 'candidate-pair',
      localCandidateId: 'L2',
      remoteCandidateId: 'R2',
      state: 'succeeded',
      selected: true,
    });
    expect(selectedCandidatePair(selected)?.remote).toEqual({ type: 'host', protocol: 'udp', address: '127.0.0.1', port: 40001 });
    const nominated = report(
      hostLocal,
      hostRemote,
      relayLocal,
      relayRemote,
      { id: 'P1', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R2', state: 'in-progress', nominated: true },
      { id: 'P2', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', state: 'succeeded', nominated: true },
    );
    expect(selectedCandidatePair(nominated)?.local.type).toBe('relay');
  });

  it('answers nothing before ICE has chosen, or when a candidate is missing', () => {
    expect(selectedCandidatePair(report(hostLocal, { id: 'T', type: 'transport' }))).toBeUndefined();
    expect(
      selectedCandidatePair(report({ id: 'P', type: 'candidate-pair', localCandidateId: 'L9', remoteCandidateId: 'R9', state: 'succeeded', selected: true })),
    ).toBeUndefined();
  });
});

describe('inboundVideo', () => {
  it('sums decoded frames and bytes over video streams only, with the largest frame size', () => {
    const stats = report(
      { id: 'A', type: 'inbound-rtp', kind: 'video', framesDecoded: 30, bytesReceived: 1000, frameWidth: 640, frameHeight: 480 },
      { id: 'B', type: 'inbound-rtp', kind: 'video', framesDecoded: 12, bytesReceived: 500, frameWidth: 1280, frameHeight: 720 },
      { id: 'C', type: 'inbound-rtp', kind: 'audio', bytesReceived: 9999 },
      { id: 'D', type: 'outbound-rtp', kind: 'video', framesEncoded: 50 },
    );
    expect(inboundVideo(stats)).toEqual({ framesDecoded: 42, frameWidth: 1280, frameHeight: 720, bytesReceived: 1500, streams: 2 });
  });

  it('counts a stream that has decoded nothing yet as zero', () => {
    expect(inboundVideo(report({ id: 'A', type: 'inbound-rtp', kind: 'video' }))).toEqual({
      framesDecoded: 0,
      frameWidth: 0,
      frameHeight: 0,
      bytesReceived: 0,
      streams: 1,
    });
    expect(inboundVideo(report())).toMatchObject({ streams: 0 });
  });
});
