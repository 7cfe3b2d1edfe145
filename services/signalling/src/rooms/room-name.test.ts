import { describe, expect, it } from 'vitest';
import { SignallingError } from '../errors/signalling-error.js';
import { MAX_CALL_PARTICIPANTS, parseRoomName } from './room-name.js';

function refusal(room: string): string {
  try {
    parseRoomName(room);
  } catch (err) {
    expect(err).toBeInstanceOf(SignallingError);
    expect((err as SignallingError).code).toBe('invalid_message');
    return (err as SignallingError).message;
  }
  throw new Error(`${room} was accepted`);
}

describe('parseRoomName', () => {
  it('reads voice rooms by name or id, trimmed', () => {
    expect(parseRoomName('voice: General ')).toEqual({ kind: 'voice', channel: 'General' });
    expect(parseRoomName('voice:12')).toEqual({ kind: 'voice', channel: '12' });
    expect(parseRoomName('voice:a:b')).toEqual({ kind: 'voice', channel: 'a:b' });
  });

  it('reads calls as a list of accounts, without repeats (case-insensitive)', () => {
    expect(parseRoomName('dm:bob')).toEqual({ kind: 'dm', accounts: ['bob'] });
    expect(parseRoomName('dm: alice , Bob,bob,ALICE')).toEqual({ kind: 'dm', accounts: ['alice', 'Bob'] });
  });

  it('refuses other kinds, empty names and oversized rooms', () => {
    expect(refusal('general')).toMatch(/voice:<channel>/);
    expect(refusal('text:general')).toMatch(/voice:<channel>/);
    expect(refusal('voice:  ')).toMatch(/1 to 200/);
    expect(refusal(`voice:${'x'.repeat(201)}`)).toMatch(/1 to 200/);
    expect(refusal('dm:')).toMatch(/1 to 64/);
    expect(refusal('dm:bob,,carol')).toMatch(/1 to 64/);
    expect(refusal(`dm:${'x'.repeat(65)}`)).toMatch(/1 to 64/);
    const eleven = Array.from({ length: MAX_CALL_PARTICIPANTS + 1 }, (_, i) => `user${i}`).join(',');
    expect(refusal(`dm:${eleven}`)).toMatch(/at most 10/);
  });
});
