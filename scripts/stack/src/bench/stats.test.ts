import { describe, expect, it } from 'vitest';
import { parseIrcLine } from './irc-client.js';
import { percentile, summarize } from './stats.js';

describe('stats', () => {
  it('uses nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(summarize([3, 1, 2])).toEqual({ p50: 2, p90: 3, p99: 3, max: 3, mean: 2, samples: 3 });
  });
});

describe('parseIrcLine', () => {
  it('parses tags, source, command and trailing parameter', () => {
    const message = parseIrcLine('@account=bob;msgid=a\\sb;time=2024-01-01T00:00:00.000Z :bob!u@h PRIVMSG #bench :bench 7 xx');
    expect(message).toEqual({
      tags: new Map([
        ['account', 'bob'],
        ['msgid', 'a b'],
        ['time', '2024-01-01T00:00:00.000Z'],
      ]),
      source: 'bob!u@h',
      command: 'PRIVMSG',
      params: ['#bench', 'bench 7 xx'],
    });
    expect(parseIrcLine(':irc.x CAP * LS * :sasl message-tags')?.params).toEqual(['*', 'LS', '*', 'sasl message-tags']);
  });
});
