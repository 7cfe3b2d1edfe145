/**
 * Audible timestamps for the voice latency benchmark: a marker is one frame of
 * a tone burst in otherwise silent audio; the receiver finds it in the decoded
 * stream by its level and tells markers apart by their frequency.
 */
import { goertzelAmplitude, rms, SAMPLE_RATE, sineWave } from '@alloquy/client/voice';

/** Marker k is a burst at MARKER_FREQUENCIES[k % length]: four far-apart tones, each within Opus's easy range. */
export const MARKER_FREQUENCIES: readonly number[] = [700, 1100, 1700, 2300];

/** Fade at each end of a burst, in samples (1 ms), so the onset is sharp but not a click. */
const FADE_SAMPLES = SAMPLE_RATE / 1000;

/** One frame holding a full-length burst at `frequency` with `amplitude` (fraction of full scale). */
export function markerFrame(frequency: number, samples: number, amplitude = 0.5): Int16Array {
  const frame = sineWave({ frequency, durationSeconds: samples / SAMPLE_RATE, amplitude });
  for (let i = 0; i < FADE_SAMPLES && i < frame.length; i++) {
    const gain = 0.5 - 0.5 * Math.cos((Math.PI * i) / FADE_SAMPLES);
    frame[i] = Math.round(frame[i]! * gain);
    frame[frame.length - 1 - i] = Math.round(frame[frame.length - 1 - i]! * gain);
  }
  return frame;
}

export interface MarkerDetection {
  /** Index into the detector's frequencies of the strongest one in the frame. */
  frequencyIndex: number;
  /** First sample of the frame whose magnitude passes the onset threshold. */
  onsetSample: number;
}

export interface MarkerDetectorOptions {
  frequencies?: readonly number[];
  /** Amplitude of the bursts as sent (fraction of full scale); thresholds derive from it. */
  amplitude?: number;
}

/**
 * Finds burst onsets in a stream of decoded frames. A frame starts a marker
 * when its RMS exceeds a tenth of the burst's and the detector is not already
 * inside one; it leaves the marker once a frame falls below half of that.
 */
export class MarkerDetector {
  private readonly frequencies: readonly number[];
  private readonly onRms: number;
  private readonly offRms: number;
  private readonly onsetLevel: number;
  private inside = false;

  constructor(options: MarkerDetectorOptions = {}) {
    this.frequencies = options.frequencies ?? MARKER_FREQUENCIES;
    const peak = (options.amplitude ?? 0.5) * 32767;
    this.onRms = peak / Math.SQRT2 / 10;
    this.offRms = this.onRms / 2;
    this.onsetLevel = peak / 10;
  }

  push(frame: Int16Array): MarkerDetection | undefined {
    const level = rms(frame);
    if (this.inside) {
      if (level < this.offRms) this.inside = false;
      return undefined;
    }
    if (level < this.onRms) return undefined;
    this.inside = true;
    let frequencyIndex = 0;
    let strongest = -1;
    this.frequencies.forEach((frequency, index) => {
      const amplitude = goertzelAmplitude(frame, frequency);
      if (amplitude > strongest) {
        strongest = amplitude;
        frequencyIndex = index;
      }
    });
    let onsetSample = frame.findIndex((sample) => Math.abs(sample) >= this.onsetLevel);
    if (onsetSample < 0) onsetSample = 0;
    return { frequencyIndex, onsetSample };
  }
}

/**
 * Pairs detections with sent markers in order: a detection belongs to the
 * first not-yet-matched marker at or after the cursor with the same frequency
 * that has been sent; markers passed over are lost.
 */
export class MarkerMatcher {
  private cursor = 0;
  private lostCount = 0;
  private spuriousCount = 0;

  constructor(private readonly frequencyCount: number) {}

  /** `sentCount`: markers sent so far. Returns the matched marker index, or undefined (spurious). */
  match(frequencyIndex: number, sentCount: number): number | undefined {
    for (let k = this.cursor; k < sentCount; k++) {
      if (k % this.frequencyCount === frequencyIndex) {
        this.lostCount += k - this.cursor;
        this.cursor = k + 1;
        return k;
      }
    }
    this.spuriousCount++;
    return undefined;
  }

  /** Markers skipped over so far, plus those sent but never detected when `sentCount` is final. */
  lost(sentCount?: number): number {
    return this.lostCount + (sentCount === undefined ? 0 : Math.max(0, sentCount - this.cursor));
  }

  get spurious(): number {
    return this.spuriousCount;
  }
}
