import { describe, expect, it } from 'vitest';
import { planAccountSync, stateAfter, type AccountSyncInput } from './account-sync.js';

const V = 1000;
const input = (over: Partial<AccountSyncInput>): AccountSyncInput => ({
  account: { username: 'alice', disabled: false },
  passwordVersion: V,
  state: { murmurUserId: 7, passwordVersion: V, certHash: '' },
  murmurUserId: 7,
  passwordKnown: false,
  certHash: '',
  ...over,
});

describe('planAccountSync', () => {
  it('does nothing when Murmur already holds the current password and certificate', () => {
    expect(planAccountSync(input({}))).toEqual({ kind: 'none' });
    // A login with the same password: still nothing (every login lands here).
    expect(planAccountSync(input({ passwordKnown: true }))).toEqual({ kind: 'none' });
  });

  it('registers a missing account, with the password when known and a random one otherwise', () => {
    expect(planAccountSync(input({ murmurUserId: undefined, state: undefined, passwordKnown: true }))).toEqual({
      kind: 'register',
      password: 'known',
      certHash: '',
    });
    expect(planAccountSync(input({ murmurUserId: undefined, passwordKnown: false, certHash: 'ab' }))).toEqual({
      kind: 'register',
      password: 'random',
      certHash: 'ab',
    });
  });

  it('sets a new password it knows; replaces an old one it does not know with a random one', () => {
    const changed = { passwordVersion: V + 5 };
    expect(planAccountSync(input({ ...changed, passwordKnown: true }))).toEqual({ kind: 'update', murmurUserId: 7, password: 'known' });
    expect(planAccountSync(input({ ...changed, passwordKnown: false }))).toEqual({ kind: 'update', murmurUserId: 7, password: 'random' });
  });

  it('leaves a stale (random) password alone until the plaintext turns up', () => {
    const stale = { state: { murmurUserId: 7, passwordVersion: null, certHash: '' } };
    expect(planAccountSync(input({ ...stale }))).toEqual({ kind: 'none' });
    expect(planAccountSync(input({ ...stale, passwordKnown: true }))).toEqual({ kind: 'update', murmurUserId: 7, password: 'known' });
  });

  it('takes over a registration it did not record: password and certificate both set', () => {
    expect(planAccountSync(input({ state: undefined }))).toEqual({ kind: 'update', murmurUserId: 7, password: 'random', certHash: '' });
    expect(planAccountSync(input({ state: { murmurUserId: 3, passwordVersion: V, certHash: '' }, passwordKnown: true }))).toEqual({
      kind: 'update',
      murmurUserId: 7,
      password: 'known',
      certHash: '',
    });
  });

  it('pushes a changed certificate hash on its own', () => {
    expect(planAccountSync(input({ certHash: 'ff' }))).toEqual({ kind: 'update', murmurUserId: 7, certHash: 'ff' });
  });

  it('unregisters disabled accounts, registered or not (their sessions are kicked either way)', () => {
    expect(planAccountSync(input({ account: { username: 'alice', disabled: true } }))).toEqual({ kind: 'unregister', murmurUserId: 7 });
    expect(planAccountSync(input({ account: { username: 'alice', disabled: true }, murmurUserId: undefined }))).toEqual({
      kind: 'unregister',
      murmurUserId: undefined,
    });
  });

  it("never touches Murmur's SuperUser", () => {
    expect(planAccountSync(input({ account: { username: 'SuperUser', disabled: false } }))).toEqual({ kind: 'reserved' });
    expect(planAccountSync(input({ account: { username: 'superuser', disabled: true } }))).toEqual({ kind: 'reserved' });
    expect(planAccountSync(input({ murmurUserId: 0 }))).toEqual({ kind: 'reserved' });
  });
});

describe('stateAfter', () => {
  it('records what Murmur holds after each action', () => {
    expect(stateAfter({ kind: 'register', password: 'known', certHash: 'ab' }, undefined, V, 9)).toEqual({
      murmurUserId: 9,
      passwordVersion: V,
      certHash: 'ab',
    });
    expect(stateAfter({ kind: 'register', password: 'random', certHash: '' }, undefined, V, 9)).toEqual({
      murmurUserId: 9,
      passwordVersion: null,
      certHash: '',
    });
    const before = { murmurUserId: 7, passwordVersion: V - 1, certHash: 'ab' };
    expect(stateAfter({ kind: 'update', murmurUserId: 7, password: 'random' }, before, V)).toEqual({ murmurUserId: 7, passwordVersion: null, certHash: 'ab' });
    expect(stateAfter({ kind: 'update', murmurUserId: 7, certHash: '' }, before, V)).toEqual({ murmurUserId: 7, passwordVersion: V - 1, certHash: '' });
    expect(stateAfter({ kind: 'unregister', murmurUserId: 7 }, before, V)).toBeUndefined();
    expect(stateAfter({ kind: 'none' }, before, V)).toBe(before);
  });
});
