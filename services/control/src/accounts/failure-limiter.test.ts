import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './failure-limiter.js';

describe('FailureLimiter', () => {
  it('throttles after the limit and lets go once the window passes', () => {
    let now = 1_000_000;
    const l = new FailureLimiter(3, 60_000, () => now);
    for (let i = 0; i < 3; i++) {
      expect(l.retryAfterSeconds('k')).toBe(0);
      l.recordFailure('k');
      now += 1000;
    }
    expect(l.retryAfterSeconds('k')).toBe(57);
    expect(l.retryAfterSeconds('other')).toBe(0);
    now += 57_000;
    expect(l.retryAfterSeconds('k')).toBe(0);
  });

  it('keeps bounded memory per key and forgets dead windows', () => {
    let now = 0;
    const l = new FailureLimiter(2, 1000, () => now);
    for (let i = 0; i < 1000; i++) l.recordFailure('k');
    expect(l.retryAfterSeconds('k')).toBe(1);
    now = 5000;
    l.sweep();
    expect(l.size).toBe(0);
  });

  it('clear forgives a key', () => {
    const l = new FailureLimiter(1, 1000);
    l.recordFailure('k');
    expect(l.retryAfterSeconds('k')).toBeGreaterThan(0);
    l.clear('k');
    expect(l.retryAfterSeconds('k')).toBe(0);
  });
});
