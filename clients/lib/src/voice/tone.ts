/** Sample rate of every PCM buffer in the voice module (Mumble's Opus runs at 48 kHz). */
export const SAMPLE_RATE = 48_000;

export interface ToneOptions {
  /** Frequency in Hz. */
  frequency: number;
  /** Length in seconds. */
  durationSeconds: number;
  /** Peak amplitude as a fraction of full scale, 0..1 (default 0.5). */
  amplitude?: number;
  /** Default {@link SAMPLE_RATE}. */
  sampleRate?: number;
  /** Phase of the first sample in radians (default 0), for stitching tones together. */
  phase?: number;
}

/**
 * A mono sine as 16-bit PCM. The RMS level of a full-scale-fraction `a` sine is
 * `a * 32767 / sqrt(2)`, which is what {@link rms} measures on the result.
 */
export function sineWave(options: ToneOptions): Int16Array {
  const { frequency, durationSeconds } = options;
  const amplitude = options.amplitude ?? 0.5;
  const sampleRate = options.sampleRate ?? SAMPLE_RATE;
  if (!(frequency > 0) || frequency >= sampleRate / 2) {
    throw new RangeError(`frequency must be between 0 and ${sampleRate / 2} Hz, got ${frequency}`);
  }
  if (!(amplitude >= 0 && amplitude <= 1)) throw new RangeError(`amplitude must be within 0..1, got ${amplitude}`);
  if (!(durationSeconds >= 0)) throw new RangeError(`durationSeconds must not be negative, got ${durationSeconds}`);
  const length = Math.round(durationSeconds * sampleRate);
  const out = new Int16Array(length);
  const step = (2 * Math.PI * frequency) / sampleRate;
  const phase = options.phase ?? 0;
  const peak = amplitude * 32767;
  for (let i = 0; i < length; i++) out[i] = Math.round(peak * Math.sin(phase + step * i));
  return out;
}
