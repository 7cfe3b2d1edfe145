import { describe, expect, it } from 'vitest';
import { concatPcm, dominantFrequency, goertzelAmplitude, rms, rmsDbfs, zeroCrossingFrequency } from './audio-analysis.js';
import { sineWave } from './tone.js';

function mix(a: Int16Array, b: Int16Array): Int16Array {
  return a.map((value, i) => value + (b[i] ?? 0));
}

/** Deterministic white noise (xorshift), so tests never flake. */
function noise(length: number, amplitude: number, seed = 12345): Int16Array {
  let state = seed;
  const out = new Int16Array(length);
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = Math.round((((state >>> 0) / 0xffffffff) * 2 - 1) * amplitude);
  }
  return out;
}

describe('rms', () => {
  it('is 0 for silence and for an empty buffer', () => {
    expect(rms(new Int16Array(100))).toBe(0);
    expect(rms(new Int16Array(0))).toBe(0);
  });

  it('is A/sqrt(2) for a sine of amplitude A, and 0 dBFS at full scale', () => {
    expect(rms(sineWave({ frequency: 1000, durationSeconds: 1, amplitude: 0.5 }))).toBeCloseTo(16383.5 / Math.SQRT2, -1);
    expect(rmsDbfs(sineWave({ frequency: 1000, durationSeconds: 1, amplitude: 1 }))).toBeCloseTo(0, 2);
    expect(rmsDbfs(sineWave({ frequency: 1000, durationSeconds: 1, amplitude: 0.1 }))).toBeCloseTo(-20, 1);
  });

  it('is the sample magnitude for a constant', () => {
    expect(rms(new Int16Array(10).fill(-300))).toBe(300);
  });
});

describe('goertzelAmplitude', () => {
  it('recovers the amplitude of a tone at its frequency and ignores other frequencies', () => {
    const tone = sineWave({ frequency: 440, durationSeconds: 1, amplitude: 0.5 });
    expect(goertzelAmplitude(tone, 440)).toBeCloseTo(16383.5, -2);
    expect(goertzelAmplitude(tone, 1000)).toBeLessThan(50);
  });
});

describe('dominantFrequency', () => {
  it('finds a clean tone to within 0.1 Hz', () => {
    for (const frequency of [100, 440, 997.3, 3000]) {
      const estimate = dominantFrequency(sineWave({ frequency, durationSeconds: 1 }));
      expect(Math.abs(estimate.frequency - frequency)).toBeLessThanOrEqual(0.1);
    }
  });

  it('finds the stronger of two tones, and a tone under noise', () => {
    const two = mix(sineWave({ frequency: 440, durationSeconds: 1, amplitude: 0.4 }), sineWave({ frequency: 1200, durationSeconds: 1, amplitude: 0.2 }));
    expect(dominantFrequency(two).frequency).toBeCloseTo(440, 0);
    const noisy = mix(sineWave({ frequency: 440, durationSeconds: 2, amplitude: 0.1 }), noise(96_000, 6000));
    expect(Math.abs(dominantFrequency(noisy).frequency - 440)).toBeLessThan(1);
  });

  it('works on short buffers, with resolution limited by their length', () => {
    const short = sineWave({ frequency: 440, durationSeconds: 0.02 });
    expect(Math.abs(dominantFrequency(short).frequency - 440)).toBeLessThan(10);
  });

  it('reports 0 for an empty buffer', () => {
    expect(dominantFrequency(new Int16Array(0))).toEqual({ frequency: 0, amplitude: 0 });
  });
});

describe('zeroCrossingFrequency', () => {
  it('measures a clean tone exactly and silence as 0', () => {
    expect(zeroCrossingFrequency(sineWave({ frequency: 440, durationSeconds: 1, phase: 0.3 }))).toBeCloseTo(440, 2);
    expect(zeroCrossingFrequency(new Int16Array(1000))).toBe(0);
  });
});

describe('concatPcm', () => {
  it('joins chunks in order', () => {
    expect(Array.from(concatPcm([Int16Array.of(1, 2), new Int16Array(0), Int16Array.of(3)]))).toEqual([1, 2, 3]);
  });
});
