import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Plaintext } from './plaintext.js';

describe('Plaintext', () => {
  it('shows its value only when asked', () => {
    const p = new Plaintext('hunter2-hunter2');
    expect(p.reveal()).toBe('hunter2-hunter2');
    expect(String(p)).toBe('[redacted]');
    expect(`${p}`).toBe('[redacted]');
    expect(JSON.stringify({ p })).toBe('{"p":"[redacted]"}');
    expect(inspect({ p })).not.toContain('hunter2');
  });
});
