import { describe, expect, it } from 'vitest';
import { integerOption } from './harness.js';

describe('integerOption', () => {
  it('takes plain integers and the fallback when absent', () => {
    expect(integerOption('clients', undefined, 200, 1)).toBe(200);
    expect(integerOption('clients', '50', 200, 1)).toBe(50);
    expect(integerOption('settle-ms', '0', 1000, 0)).toBe(0);
  });

  it.each(['', ' ', '0x10', '1e3', '1.5', 'abc', '5ms'])('refuses %j', (value) => {
    expect(() => integerOption('settle-ms', value, 1000, 0)).toThrow(/must be an integer/);
  });

  it('refuses values below the minimum', () => {
    expect(() => integerOption('clients', '0', 200, 1)).toThrow(/>= 1/);
  });
});
