import { describe, expect, it } from 'vitest';

import { LineFramer } from './line-framer.js';

function collect(framer: LineFramer, ...chunks: string[]): { lines: string[]; discarded: number[] } {
  const lines: string[] = [];
  const discarded = chunks.map((chunk) => framer.push(chunk, (line) => (lines.push(line), true)));
  return { lines, discarded };
}

describe('LineFramer', () => {
  it('cuts at LF, drops an optional CR and skips empty lines', () => {
    const { lines } = collect(new LineFramer(), 'PING a\r\nPING b\n\r\n\nPING c\r\n');
    expect(lines).toEqual(['PING a', 'PING b', 'PING c']);
  });

  it('joins a line split across chunks, even between CR and LF', () => {
    const { lines } = collect(new LineFramer(), 'PI', 'NG a\r', '\nPING', ' b\r\n', 'PING c');
    expect(lines).toEqual(['PING a', 'PING b']);
  });

  it('keeps only a CR right before the LF as a terminator', () => {
    const { lines } = collect(new LineFramer(), 'a\rb\r\r\n');
    expect(lines).toEqual(['a\rb\r']);
  });

  it('stops reading a chunk when told to, and forgets the rest on reset', () => {
    const framer = new LineFramer();
    const seen: string[] = [];
    framer.push('ERROR :bye\r\nPING a\r\n', (line) => (seen.push(line), false));
    expect(seen).toEqual(['ERROR :bye']);
    framer.reset();
    framer.push('PING b\r\n', (line) => (seen.push(line), true));
    expect(seen).toEqual(['ERROR :bye', 'PING b']);
  });

  it('throws an oversized partial line away, and its tail up to the next newline', () => {
    const framer = new LineFramer(10);
    const { lines, discarded } = collect(framer, 'x'.repeat(8), 'x'.repeat(8), 'tail of it\r\nPING a\r\n');
    expect(discarded).toEqual([0, 16, 0]);
    expect(lines).toEqual(['PING a']);
  });

  it('keeps a partial line of exactly the limit', () => {
    const framer = new LineFramer(10);
    const { lines, discarded } = collect(framer, 'x'.repeat(10), '\r\n');
    expect(discarded).toEqual([0, 0]);
    expect(lines).toEqual(['x'.repeat(10)]);
  });

  it('starts clean after a reset, even while discarding', () => {
    const framer = new LineFramer(4);
    expect(framer.push('xxxxxx', () => true)).toBe(6);
    framer.reset();
    const { lines } = collect(framer, 'PING a\r\n');
    expect(lines).toEqual(['PING a']);
  });
});
