import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { OpusCodecs, type DecodedFrame, int16ToFloat } from '@alloquy/client/voice';
import { MARKER_FREQUENCIES, MarkerDetector, markerFrame, MarkerMatcher } from './markers.js';

describe('MarkerDetector', () => {
  it('finds each burst once, names its frequency, and ignores silence', () => {
    const detector = new MarkerDetector();
    const silence = new Int16Array(960);
    expect(detector.push(silence)).toBeUndefined();
    expect(detector.push(markerFrame(MARKER_FREQUENCIES[2]!, 960))).toEqual({ frequencyIndex: 2, onsetSample: expect.any(Number) });
    // Still inside the same burst: no second detection.
    expect(detector.push(markerFrame(MARKER_FREQUENCIES[2]!, 960))).toBeUndefined();
    expect(detector.push(silence)).toBeUndefined();
    expect(detector.push(markerFrame(MARKER_FREQUENCIES[3]!, 960))?.frequencyIndex).toBe(3);
  });

  it('finds markers after an Opus round trip, in the frame they were sent in', async () => {
    const codecs = new OpusCodecs();
    const encoder = codecs.createEncoderStream('Opus');
    const decoder = codecs.createDecoderStream({ id: 1 });
    encoder.pipe(decoder);
    const decoded: DecodedFrame[] = [];
    decoder.on('data', (frame: DecodedFrame) => decoded.push(frame));
    // Marker m goes out in frame 10m + 5, at frequency m % 4.
    const sentAt: number[] = [];
    for (let i = 0; i < 100; i++) {
      let pcm = new Int16Array(960);
      if (i % 10 === 5) {
        pcm = markerFrame(MARKER_FREQUENCIES[sentAt.length % 4]!, 960);
        sentAt.push(i);
      }
      encoder.write({ target: 0, pcm: int16ToFloat(pcm), numberOfChannels: 1 });
    }
    encoder.end();
    await once(decoder, 'end');

    const detector = new MarkerDetector();
    const found: { frame: number; onset: number; frequencyIndex: number }[] = [];
    decoded.forEach((frame, index) => {
      const hit = detector.push(frame.pcm16);
      if (hit) found.push({ frame: index, onset: hit.onsetSample, frequencyIndex: hit.frequencyIndex });
    });
    expect(found.map((hit) => hit.frame)).toEqual(sentAt);
    expect(found.map((hit) => hit.frequencyIndex)).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
    // Opus delays audio by its look-ahead (6.5 ms = 312 samples at 48 kHz): the onset lands there, not at 0.
    for (const hit of found) expect(hit.onset).toBeGreaterThan(200);
    for (const hit of found) expect(hit.onset).toBeLessThan(400);
    codecs.destroy();
  });
});

describe('MarkerMatcher', () => {
  it('pairs detections in order and counts what was skipped or never seen', () => {
    const matcher = new MarkerMatcher(4);
    expect(matcher.match(0, 1)).toBe(0);
    expect(matcher.match(2, 3)).toBe(2); // marker 1 was lost
    expect(matcher.match(1, 3)).toBeUndefined(); // nothing sent with that frequency after the cursor
    expect(matcher.lost()).toBe(1);
    expect(matcher.spurious).toBe(1);
    expect(matcher.lost(5)).toBe(3); // markers 3 and 4 never arrived
  });
});
