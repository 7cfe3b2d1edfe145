import { describe, expect, it } from 'vitest';
import {
  ALL,
  InvalidPermissionsError,
  NONE,
  PERMISSION_BITS,
  PERMISSION_NAMES,
  Permission,
  combine,
  has,
  hasAny,
  isPermissionName,
  isValidPermissions,
  parsePermissions,
  permissionName,
  permissionNames,
  permissionsFromNames,
  remove,
  serializePermissions,
  type PermissionName,
} from './permissions.js';

/**
 * The stored/wire format. If this table has to change for an existing name, stored roles and
 * overwrites change meaning: add new flags in free positions instead.
 */
const PINNED_BITS: Record<PermissionName, number> = {
  ADMINISTRATOR: 0,
  VIEW_CHANNEL: 1,
  MANAGE_CHANNELS: 2,
  MANAGE_ROLES: 3,
  MANAGE_GUILD: 4,
  CREATE_INVITE: 5,
  KICK_MEMBERS: 6,
  BAN_MEMBERS: 7,
  MODERATE_MEMBERS: 8,
  MANAGE_EMOJIS: 9,
  SEND_MESSAGES: 16,
  READ_HISTORY: 17,
  MANAGE_MESSAGES: 18,
  MENTION_EVERYONE: 19,
  ATTACH_FILES: 20,
  ADD_REACTIONS: 21,
  CONNECT: 32,
  SPEAK: 33,
  VIDEO: 34,
  MUTE_MEMBERS: 35,
};

const REQUIRED_BY_ISSUE = [
  'VIEW_CHANNEL',
  'SEND_MESSAGES',
  'READ_HISTORY',
  'MANAGE_MESSAGES',
  'MANAGE_CHANNELS',
  'MANAGE_ROLES',
  'MANAGE_GUILD',
  'CREATE_INVITE',
  'KICK_MEMBERS',
  'BAN_MEMBERS',
  'MODERATE_MEMBERS',
  'MENTION_EVERYONE',
  'ATTACH_FILES',
  'ADD_REACTIONS',
  'CONNECT',
  'SPEAK',
  'VIDEO',
  'MUTE_MEMBERS',
  'ADMINISTRATOR',
  // Issue 5: who may add custom emoji.
  'MANAGE_EMOJIS',
];

describe('permission flags', () => {
  it('defines every flag the issue asks for', () => {
    for (const name of REQUIRED_BY_ISSUE) expect(isPermissionName(name), name).toBe(true);
  });

  it('keeps every bit position stable', () => {
    expect({ ...PERMISSION_BITS }).toEqual(PINNED_BITS);
    for (const name of PERMISSION_NAMES) expect(Permission[name]).toBe(1n << BigInt(PINNED_BITS[name]));
  });

  it.each(PERMISSION_NAMES.map((n) => [n]))('%s is exactly one bit', (name) => {
    const flag = Permission[name];
    expect(flag > 0n).toBe(true);
    expect(flag & (flag - 1n)).toBe(0n);
  });

  it('gives every flag a distinct bit', () => {
    const flags = PERMISSION_NAMES.map((n) => Permission[n]);
    expect(new Set(flags).size).toBe(flags.length);
    let seen = 0n;
    for (const f of flags) {
      expect(seen & f).toBe(0n);
      seen |= f;
    }
    expect(seen).toBe(ALL);
  });

  it('lists names in ascending bit order, once each', () => {
    expect(PERMISSION_NAMES).toHaveLength(Object.keys(Permission).length);
    for (let i = 1; i < PERMISSION_NAMES.length; i++) {
      expect(Permission[PERMISSION_NAMES[i - 1]!] < Permission[PERMISSION_NAMES[i]!]).toBe(true);
    }
  });

  it('cannot be modified at run time', () => {
    expect(Object.isFrozen(Permission)).toBe(true);
    expect(Object.isFrozen(PERMISSION_NAMES)).toBe(true);
    expect(Object.isFrozen(PERMISSION_BITS)).toBe(true);
  });

  it('ALL is every defined bit and nothing else; NONE is empty', () => {
    expect(permissionNames(ALL)).toEqual([...PERMISSION_NAMES]);
    expect(NONE).toBe(0n);
    expect(isValidPermissions(ALL)).toBe(true);
    expect(isValidPermissions(ALL | (1n << 15n))).toBe(false);
  });

  it.each(PERMISSION_NAMES.map((n) => [n]))('%s round-trips through names and the JSON string form', (name) => {
    const flag = Permission[name];
    expect(permissionName(flag)).toBe(name);
    expect(permissionNames(flag)).toEqual([name]);
    expect(permissionsFromNames([name])).toBe(flag);
    const text = serializePermissions(flag);
    expect(text).toBe(flag.toString());
    expect(parsePermissions(text)).toBe(flag);
    const wire = JSON.parse(JSON.stringify({ permissions: text })) as { permissions: string };
    expect(parsePermissions(wire.permissions)).toBe(flag);
  });
});

describe('set helpers', () => {
  const { SEND_MESSAGES: SEND, VIEW_CHANNEL: VIEW, SPEAK } = Permission;

  it('has() needs every bit of a multi-bit mask; has(p, 0) is vacuously true', () => {
    expect(has(SEND | VIEW, SEND)).toBe(true);
    expect(has(SEND | VIEW, SEND | VIEW)).toBe(true);
    expect(has(SEND, SEND | VIEW)).toBe(false);
    expect(has(0n, SEND)).toBe(false);
    expect(has(0n, 0n)).toBe(true);
  });

  it('hasAny() needs at least one bit', () => {
    expect(hasAny(SEND, SEND | VIEW)).toBe(true);
    expect(hasAny(SPEAK, SEND | VIEW)).toBe(false);
    expect(hasAny(ALL, 0n)).toBe(false);
  });

  it('combine() is a union and remove() a difference', () => {
    expect(combine()).toBe(0n);
    expect(combine(SEND)).toBe(SEND);
    expect(combine(SEND, VIEW, SEND, SPEAK)).toBe(SEND | VIEW | SPEAK);
    expect(remove(SEND | VIEW, VIEW)).toBe(SEND);
    expect(remove(SEND, VIEW)).toBe(SEND);
    expect(remove(ALL, ALL)).toBe(0n);
  });

  it('permissionName() is undefined for zero, several bits and unknown bits', () => {
    expect(permissionName(0n)).toBeUndefined();
    expect(permissionName(SEND | VIEW)).toBeUndefined();
    expect(permissionName(1n << 15n)).toBeUndefined();
    expect(permissionName(1n << 200n)).toBeUndefined();
  });

  it('permissionNames() ignores undefined bits and sorts by bit', () => {
    expect(permissionNames(SPEAK | SEND | VIEW | (1n << 15n) | (1n << 99n))).toEqual(['VIEW_CHANNEL', 'SEND_MESSAGES', 'SPEAK']);
    expect(permissionNames(0n)).toEqual([]);
  });

  it('permissionsFromNames() unions, tolerates repeats, and refuses unknown names', () => {
    expect(permissionsFromNames([])).toBe(0n);
    expect(permissionsFromNames(['SPEAK', 'SEND_MESSAGES', 'SPEAK'])).toBe(SPEAK | SEND);
    expect(permissionsFromNames(new Set(['VIEW_CHANNEL']))).toBe(VIEW);
    for (const bad of ['send_messages', 'NOPE', '', 'toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      expect(() => permissionsFromNames([bad]), bad).toThrow(InvalidPermissionsError);
      expect(isPermissionName(bad), bad).toBe(false);
    }
  });
});

describe('decimal string form', () => {
  it('parses canonical decimal, including values beyond 2^53', () => {
    expect(parsePermissions('0')).toBe(0n);
    expect(parsePermissions(ALL.toString())).toBe(ALL);
    const big = Permission.MUTE_MEMBERS | Permission.ADMINISTRATOR;
    expect(parsePermissions(big.toString())).toBe(big);
    expect(parsePermissions(((1n << 80n) | 1n).toString(), { unknownBits: 'strip' })).toBe(1n);
  });

  it.each([[''], ['-1'], ['+1'], ['01'], ['00'], [' 1'], ['1 '], ['0x10'], ['1e3'], ['1.0'], ['1_000'], ['١٢'], ['NaN'], ['Infinity'], ['9'.repeat(41)]])(
    'refuses %j',
    (text) => {
      expect(() => parsePermissions(text)).toThrow(InvalidPermissionsError);
      expect(() => parsePermissions(text, { unknownBits: 'strip' })).toThrow(InvalidPermissionsError);
    },
  );

  it('refuses non-strings that slipped past the types', () => {
    for (const v of [1, 1n, null, undefined, {}, ['1']]) {
      expect(() => parsePermissions(v as unknown as string)).toThrow(InvalidPermissionsError);
    }
  });

  it('refuses undefined bits by default and strips them on request', () => {
    const withUnknown = Permission.SEND_MESSAGES | (1n << 15n) | (1n << 60n);
    expect(() => parsePermissions(withUnknown.toString())).toThrow(/undefined bits/);
    expect(() => parsePermissions(withUnknown.toString(), { unknownBits: 'reject' })).toThrow(InvalidPermissionsError);
    expect(parsePermissions(withUnknown.toString(), { unknownBits: 'strip' })).toBe(Permission.SEND_MESSAGES);
  });

  it('accepts up to 40 digits before judging bits', () => {
    expect(parsePermissions('1'.padEnd(40, '0'), { unknownBits: 'strip' })).toBe((10n ** 39n) & ALL);
  });

  it('serializes valid sets and refuses negative or undefined bits', () => {
    expect(serializePermissions(0n)).toBe('0');
    expect(serializePermissions(ALL)).toBe(ALL.toString());
    expect(() => serializePermissions(-1n)).toThrow(InvalidPermissionsError);
    expect(() => serializePermissions(1n << 15n)).toThrow(InvalidPermissionsError);
    expect(isValidPermissions(-1n)).toBe(false);
    expect(isValidPermissions(-ALL)).toBe(false);
  });

  it('round-trips every subset of a sample of flags', () => {
    const sample = [Permission.ADMINISTRATOR, Permission.MODERATE_MEMBERS, Permission.SEND_MESSAGES, Permission.ADD_REACTIONS, Permission.MUTE_MEMBERS];
    for (let mask = 0; mask < 1 << sample.length; mask++) {
      const set = combine(...sample.filter((_, i) => mask & (1 << i)));
      expect(parsePermissions(serializePermissions(set))).toBe(set);
      expect(permissionsFromNames(permissionNames(set))).toBe(set);
    }
  });
});
