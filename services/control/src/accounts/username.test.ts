import { describe, expect, it } from 'vitest';
import { foldUsername, usernameProblem } from './username.js';

describe('usernames are IRC nicks', () => {
  it.each(['alice', 'Bob', 'a', '[x]', '`tick', '_under', 'x-1', 'a'.repeat(30), '{|}^'])('accepts %s', (n) => {
    expect(usernameProblem(n)).toBeNull();
  });

  it.each([
    ['', /required/],
    ['a'.repeat(31), /at most 30/],
    ['1abc', /starts with/],
    ['-abc', /starts with/],
    ['has space', /starts with/],
    ['comma,', /starts with/],
    ['ünï', /starts with/],
    ['a\r\nQUIT', /starts with/],
    ['NickServ', /reserved/],
    ['HISTSERV', /reserved/],
  ])('refuses %j', (n, why) => {
    expect(usernameProblem(n)).toMatch(why);
  });

  it('folds with rfc1459 casemapping like InspIRCd', () => {
    expect(foldUsername('Alice')).toBe('alice');
    expect(foldUsername('a[b]\\~')).toBe('a{b}|^');
    expect(foldUsername('A{B}|^')).toBe(foldUsername('a[b]\\~'));
  });
});
