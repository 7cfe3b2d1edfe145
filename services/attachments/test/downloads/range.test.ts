import { describe, expect, it } from 'vitest';
import { parseRange } from '../../src/downloads/range.js';

describe('parseRange', () => {
  it('reads first, middle, open-ended and suffix ranges', () => {
    expect(parseRange('bytes=0-0', 100)).toEqual({ kind: 'partial', range: { start: 0, end: 0 } });
    expect(parseRange('bytes=10-19', 100)).toEqual({ kind: 'partial', range: { start: 10, end: 19 } });
    expect(parseRange('bytes=90-', 100)).toEqual({ kind: 'partial', range: { start: 90, end: 99 } });
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'partial', range: { start: 90, end: 99 } });
    expect(parseRange('Bytes=5-6', 100)).toEqual({ kind: 'partial', range: { start: 5, end: 6 } });
  });

  it('clamps an end past the file and a suffix longer than it', () => {
    expect(parseRange('bytes=50-500', 100)).toEqual({ kind: 'partial', range: { start: 50, end: 99 } });
    expect(parseRange('bytes=-500', 100)).toEqual({ kind: 'partial', range: { start: 0, end: 99 } });
  });

  it('calls a start past the end, a zero suffix and any range of an empty file unsatisfiable', () => {
    expect(parseRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=200-300', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it('survives numbers past 2^53: a start is past any file, an end or suffix covers all of it', () => {
    const huge = '9'.repeat(40);
    expect(parseRange(`bytes=${huge}-`, 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange(`bytes=${huge}-${huge}`, 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange(`bytes=0-${huge}`, 100)).toEqual({ kind: 'partial', range: { start: 0, end: 99 } });
    expect(parseRange(`bytes=-${huge}`, 100)).toEqual({ kind: 'partial', range: { start: 0, end: 99 } });
  });

  it('ignores what it does not honour: no header, other units, several ranges, nonsense', () => {
    for (const header of [
      undefined,
      '',
      'items=0-5',
      'bytes=0-1,5-6',
      'bytes=5-2',
      'bytes=-',
      'bytes=a-b',
      'bytes=--5',
      'bytes=-5-',
      'bytes=1-2,',
      'bytes=0x10-20',
      'bytes=1.5-2',
      'bytes 0-5',
      '=0-5',
    ]) {
      expect(parseRange(header, 100)).toEqual({ kind: 'full' });
    }
  });
});
