import { describe, expect, it } from 'vitest';
import { Permission } from '@alloquy/protocol/permissions';
import { UsageError, formatTable, parseDuration, parsePermissionList, parsePositiveInt, parseSwitch } from './args.js';

describe('CLI argument readers', () => {
  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['1h30m', 5_400_000],
  ])('reads the duration %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '10', 'm', '10x', '1.5h', '-1h', '0m', '1h 30m', '9999999s'])('refuses the duration %j as a usage error', (text) => {
    expect(() => parseDuration(text)).toThrow(UsageError);
  });

  it('reads permission lists by name (any case, commas or spaces) or as a decimal set', () => {
    expect(parsePermissionList('send_messages,VIEW_CHANNEL')).toBe(Permission.SEND_MESSAGES | Permission.VIEW_CHANNEL);
    expect(parsePermissionList(' kick_members  ban_members ')).toBe(Permission.KICK_MEMBERS | Permission.BAN_MEMBERS);
    expect(parsePermissionList('6')).toBe(Permission.VIEW_CHANNEL | Permission.MANAGE_CHANNELS);
    expect(() => parsePermissionList('FLY')).toThrow(/unknown permission "FLY".*VIEW_CHANNEL/);
    expect(() => parsePermissionList(',')).toThrow(UsageError);
    expect(() => parsePermissionList(String(1n << 60n))).toThrow(UsageError);
  });

  it('reads whole numbers and switches', () => {
    expect(parsePositiveInt(undefined, '--limit')).toBeUndefined();
    expect(parsePositiveInt('12', '--limit')).toBe(12);
    for (const bad of ['0', '-1', '1.5', 'abc', '', '99999999999999999999']) expect(() => parsePositiveInt(bad, '--limit')).toThrow(/--limit/);
    expect(parseSwitch('ON')).toBe(true);
    expect(parseSwitch('off')).toBe(false);
    expect(() => parseSwitch('maybe')).toThrow(UsageError);
  });

  it('lines up tables without trailing spaces', () => {
    expect(
      formatTable(
        ['A', 'LONG'],
        [
          ['xyz', ''],
          ['1', '2'],
        ],
      ),
    ).toBe('A    LONG\nxyz\n1    2');
  });
});
