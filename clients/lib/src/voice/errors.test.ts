import { describe, expect, it } from 'vitest';
import { rejectTypeName, VoiceError, VoiceRejectedError } from './errors.js';

describe('voice errors', () => {
  it('names Reject types the way Mumble.proto does', () => {
    expect(rejectTypeName(3)).toBe('WrongUserPW');
    expect(rejectTypeName(4)).toBe('WrongServerPW');
    expect(rejectTypeName(null)).toBe('None');
    expect(rejectTypeName(42)).toBe('Unknown');
  });

  it('says what Murmur said and whether it was a password', () => {
    const error = new VoiceRejectedError('WrongServerPW', 'Invalid server password');
    expect(error).toBeInstanceOf(VoiceError);
    expect(error.code).toBe('rejected');
    expect(error.message).toBe('Murmur rejected the login: WrongServerPW (Invalid server password)');
    expect(error.isWrongPassword()).toBe(true);
    expect(new VoiceRejectedError('UsernameInUse', '').isWrongPassword()).toBe(false);
  });
});
