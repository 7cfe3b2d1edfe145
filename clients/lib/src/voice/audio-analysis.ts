/** Measurements on 16-bit PCM: level and dominant frequency. Pure functions, no I/O. */
import { SAMPLE_RATE } from './tone.js';

/** Root-mean-square level in 16-bit sample units (0 for an empty buffer). */
export function rms(pcm: Int16Array): number {
  if (pcm.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
  return Math.sqrt(sum / pcm.length);
}

/** RMS relative to a full-scale sine (0 dBFS = RMS of 32767/sqrt(2)); -Infinity for silence. */
export function rmsDbfs(pcm: Int16Array): number {
  return 20 * Math.log10(rms(pcm) / (32767 / Math.SQRT2));
}

/**
 * Amplitude of the component of `pcm` at `frequency` (Goertzel / single DTFT
 * bin): about A for a sine of amplitude A at that frequency, in sample units.
 */
export function goertzelAmplitude(pcm: Int16Array, frequency: number, sampleRate = SAMPLE_RATE): number {
  const n = pcm.length;
  if (n === 0) return 0;
  const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = pcm[i]! + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
  return (2 * Math.sqrt(Math.max(power, 0))) / n;
}

export interface FrequencyEstimate {
  /** Estimated dominant frequency in Hz. */
  frequency: number;
  /** Goertzel amplitude at that frequency over the whole buffer, in sample units. */
  amplitude: number;
}

export interface DominantFrequencyOptions {
  sampleRate?: number;
  /** Search range in Hz (default 50..4000). */
  minHz?: number;
  maxHz?: number;
  /** Resolution of the final answer in Hz (default 0.1). */
  resolutionHz?: number;
}

/** Length of the window the first, coarse scan runs on. */
const COARSE_WINDOW = 2048;

/**
 * The strongest frequency in `pcm`, by Goertzel scans from coarse to fine.
 * The first scan covers the whole range on a short window (bins ~23 Hz apart
 * at 48 kHz); each later scan searches around the previous best on a window
 * eight times longer with a step of half its bin spacing, so no scan can step
 * over the peak, and the last one runs on the whole buffer at `resolutionHz`
 * inside the main lobe. Accuracy therefore grows with the buffer: a clean
 * one-second tone comes out within a fraction of a hertz.
 */
export function dominantFrequency(pcm: Int16Array, options: DominantFrequencyOptions = {}): FrequencyEstimate {
  const sampleRate = options.sampleRate ?? SAMPLE_RATE;
  const minHz = options.minHz ?? 50;
  const maxHz = Math.min(options.maxHz ?? 4000, sampleRate / 2);
  const resolution = options.resolutionHz ?? 0.1;
  const n = pcm.length;
  if (n === 0) return { frequency: 0, amplitude: 0 };

  let length = Math.min(n, COARSE_WINDOW);
  let step = Math.max(sampleRate / length / 2, resolution);
  let best = scan(middle(pcm, length), minHz, maxHz, step, sampleRate);
  for (;;) {
    const previousStep = step;
    if (length < n) {
      length = Math.min(n, length * 8);
      step = Math.max(sampleRate / length / 2, resolution);
    } else if (step > resolution) {
      step = resolution;
    } else {
      break;
    }
    const low = Math.max(minHz, best.frequency - previousStep);
    const high = Math.min(maxHz, best.frequency + previousStep);
    best = scan(middle(pcm, length), low, high, step, sampleRate);
  }
  return best;
}

function middle(pcm: Int16Array, length: number): Int16Array {
  const start = Math.floor((pcm.length - length) / 2);
  return pcm.subarray(start, start + length);
}

function scan(pcm: Int16Array, low: number, high: number, step: number, sampleRate: number): FrequencyEstimate {
  let best: FrequencyEstimate = { frequency: low, amplitude: -1 };
  const count = Math.floor((high - low) / step + 1e-9);
  for (let i = 0; i <= count; i++) {
    const f = low + i * step;
    const amplitude = goertzelAmplitude(pcm, f, sampleRate);
    if (amplitude > best.amplitude) best = { frequency: f, amplitude };
  }
  return best;
}

/**
 * Frequency from rising zero crossings, interpolated between samples. Cheap and
 * exact for a clean tone; meaningless for noise or mixtures (use
 * {@link dominantFrequency} there).
 */
export function zeroCrossingFrequency(pcm: Int16Array, sampleRate = SAMPLE_RATE): number {
  let first = -1;
  let last = -1;
  let crossings = 0;
  for (let i = 1; i < pcm.length; i++) {
    const a = pcm[i - 1]!;
    const b = pcm[i]!;
    if (a < 0 && b >= 0) {
      const at = i - 1 + a / (a - b);
      if (first < 0) first = at;
      else crossings++;
      last = at;
    }
  }
  if (crossings === 0) return 0;
  return (crossings * sampleRate) / (last - first);
}

/** Concatenates PCM chunks. */
export function concatPcm(chunks: readonly Int16Array[]): Int16Array {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const out = new Int16Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
