import { describe, expect, it } from 'vitest';
import { ALL, PERMISSION_NAMES, Permission } from '../../permissions/index.js';
import { PermissionSetView, PermissionsInput } from './permissions.js';

const messages = (result: { success: boolean; error?: { issues: { message: string }[] } }) => result.error?.issues.map((i) => i.message) ?? [];

describe('PermissionsInput', () => {
  it('parses a decimal string to the bits it names', () => {
    expect(PermissionsInput.parse('0')).toBe(0n);
    expect(PermissionsInput.parse('196608')).toBe(Permission.SEND_MESSAGES | Permission.READ_HISTORY);
    expect(PermissionsInput.parse(ALL.toString())).toBe(ALL);
  });

  it('parses a list of permission names, in any order and with repeats', () => {
    expect(PermissionsInput.parse(['READ_HISTORY', 'SEND_MESSAGES', 'READ_HISTORY'])).toBe(Permission.SEND_MESSAGES | Permission.READ_HISTORY);
    expect(PermissionsInput.parse([])).toBe(0n);
  });

  it('refuses text that is not a canonical decimal number', () => {
    for (const text of ['', '-1', '007', '0x10', '1e3', ' 1', '1.5', '1'.repeat(41)]) {
      const result = PermissionsInput.safeParse(text);
      expect(result.success, text).toBe(false);
      expect(messages(result)).toEqual(['a permission set is a decimal string such as "65538"']);
    }
  });

  it('refuses bits no permission defines, with the reason', () => {
    const result = PermissionsInput.safeParse((ALL + 1n).toString());
    expect(result.success).toBe(false);
    expect(messages(result).join()).toMatch(/undefined bits/);
  });

  it('refuses unknown names, naming the culprit', () => {
    const result = PermissionsInput.safeParse(['SEND_MESSAGES', 'FLY']);
    expect(result.success).toBe(false);
    expect(messages(result)).toEqual(['unknown permission "FLY"']);
  });

  it('refuses a list longer than there are permissions, and other types', () => {
    expect(PermissionsInput.safeParse(Array(PERMISSION_NAMES.length + 1).fill('VIEW_CHANNEL')).success).toBe(false);
    for (const value of [196608, 196608n, null, { allow: '1' }, [1, 2]]) {
      expect(PermissionsInput.safeParse(value).success, String(value)).toBe(false);
    }
  });
});

describe('PermissionSetView', () => {
  it('accepts defined names only', () => {
    expect(PermissionSetView.parse({ permissions: '196608', permission_names: ['SEND_MESSAGES', 'READ_HISTORY'] }).permission_names).toEqual([
      'SEND_MESSAGES',
      'READ_HISTORY',
    ]);
    expect(PermissionSetView.safeParse({ permissions: '196608', permission_names: ['FLY'] }).success).toBe(false);
  });
});
