import { describe, expect, it } from 'vitest';
import { rms, zeroCrossingFrequency } from './audio-analysis.js';
import { SAMPLE_RATE, sineWave } from './tone.js';

describe('sineWave', () => {
  it('has the requested length, frequency, peak and RMS', () => {
    const tone = sineWave({ frequency: 440, durationSeconds: 0.5, amplitude: 0.25 });
    expect(tone).toHaveLength(SAMPLE_RATE / 2);
    expect(Math.max(...tone)).toBeLessThanOrEqual(Math.round(0.25 * 32767));
    expect(Math.max(...tone)).toBeGreaterThan(0.249 * 32767);
    expect(rms(tone)).toBeCloseTo((0.25 * 32767) / Math.SQRT2, -1);
    expect(zeroCrossingFrequency(tone)).toBeCloseTo(440, 1);
  });

  it('starts at the given phase, so consecutive tones join without a click', () => {
    const first = sineWave({ frequency: 1000, durationSeconds: 0.01 });
    const phase = (2 * Math.PI * 1000 * first.length) / SAMPLE_RATE;
    const second = sineWave({ frequency: 1000, durationSeconds: 0.01, phase });
    const whole = sineWave({ frequency: 1000, durationSeconds: 0.02 });
    expect(Array.from(second)).toEqual(Array.from(whole.subarray(first.length)));
  });

  it('rejects frequencies at or above Nyquist and amplitudes beyond full scale', () => {
    expect(() => sineWave({ frequency: 24_000, durationSeconds: 1 })).toThrow(RangeError);
    expect(() => sineWave({ frequency: 0, durationSeconds: 1 })).toThrow(RangeError);
    expect(() => sineWave({ frequency: 440, durationSeconds: 1, amplitude: 1.5 })).toThrow(RangeError);
  });
});
