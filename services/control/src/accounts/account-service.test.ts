import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { afterAll, describe, expect, it } from 'vitest';
import { openControlDatabase } from '../store/database.js';
import { AccountService, type AccountServiceOptions } from './account-service.js';
import { AccessTokens } from './tokens.js';

const SECRET = 'x'.repeat(64);

const homes: string[] = [];
afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

function service(opts: Partial<AccountServiceOptions> = {}) {
  const home = mkdtempSync(join(tmpdir(), 'alloquy-acc-'));
  homes.push(home);
  const db = openControlDatabase(join(home, 'control.sqlite'));
  const accounts = new AccountService(db, {
    registration: 'open',
    accessTokens: new AccessTokens(SECRET, 'alloquy', 900),
    refreshTtlSeconds: 3600,
    maxFailuresPerAccount: 5,
    maxFailuresPerAddress: 8,
    failureWindowSeconds: 300,
    ...opts,
  });
  return { db, accounts };
}

const irc = (ip = '127.0.0.1') => ({ via: 'irc' as const, ip });

describe('AccountService', () => {
  it('registers; the first account is admin; names are unique as IRC folds them', async () => {
    const { accounts } = service();
    const alice = await accounts.register('alice', 'password-a');
    const bob = await accounts.register('Bob', 'password-b');
    expect(alice.isAdmin).toBe(true);
    expect(bob.isAdmin).toBe(false);
    await expect(accounts.register('ALICE', 'password-c')).rejects.toMatchObject({ code: 'username_taken' });
    await accounts.register('x[y]', 'password-d');
    await expect(accounts.register('X{Y}', 'password-d')).rejects.toMatchObject({ code: 'username_taken' });
    await expect(accounts.register('bad name', 'password-e')).rejects.toMatchObject({ code: 'invalid_username' });
    await expect(accounts.register('carol', 'short')).rejects.toMatchObject({ code: 'weak_password' });
    expect(accounts.list().map((a) => a.username)).toEqual(['alice', 'Bob', 'x[y]']);
  });

  it('stores no password in the clear', async () => {
    const { accounts, db } = service();
    await accounts.register('alice', 'password-a');
    const hash = db.prepare('SELECT password_hash FROM accounts').pluck().get() as string;
    expect(hash).toMatch(/^\$argon2id\$/);
    expect(hash).not.toContain('password-a');
  });

  it('checks passwords and tokens; disabled accounts are refused even with the right password', async () => {
    const { accounts } = service();
    await accounts.register('alice', 'password-a');
    expect(await accounts.checkCredentials('alice', 'password-a', irc())).toMatchObject({ ok: true, account: { username: 'alice' } });
    expect(await accounts.checkCredentials('ALICE', 'password-a', irc())).toMatchObject({ ok: true, account: { username: 'alice' } });
    expect(await accounts.checkCredentials('alice', 'wrong-pass', irc())).toEqual({ ok: false, reason: 'invalid' });
    expect(await accounts.checkCredentials('nobody', 'password-a', irc())).toEqual({ ok: false, reason: 'invalid' });

    const session = await accounts.login('alice', 'password-a', { via: 'http' });
    expect(await accounts.checkCredentials('alice', session.access_token, irc(), true)).toMatchObject({ ok: true });
    // A token is not a password where tokens are not allowed, and not valid for another name.
    expect(await accounts.checkCredentials('alice', session.access_token, irc(), false)).toMatchObject({ ok: false });
    await accounts.register('bob', 'password-b');
    expect(await accounts.checkCredentials('bob', session.access_token, irc(), true)).toMatchObject({ ok: false, reason: 'invalid' });

    accounts.setDisabled('alice', true);
    expect(await accounts.checkCredentials('alice', 'password-a', irc())).toEqual({ ok: false, reason: 'disabled' });
    expect(() => accounts.authenticateAccessToken(session.access_token)).toThrow(/disabled/);
    accounts.setDisabled('alice', false);
    expect(await accounts.checkCredentials('alice', 'password-a', irc())).toMatchObject({ ok: true });
  });

  it('refuses forged, foreign, expired and algorithm-swapped tokens', async () => {
    const { accounts } = service();
    const alice = await accounts.register('alice', 'password-a');
    const claims = { name: 'alice', pwv: 0, typ: 'access' };
    const forged = jwt.sign(claims, 'another secret entirely', { algorithm: 'HS256', issuer: 'alloquy', subject: String(alice.id) });
    const none = jwt.sign(claims, '', { algorithm: 'none', issuer: 'alloquy', subject: String(alice.id) });
    const expired = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 }, SECRET, {
      algorithm: 'HS256',
      issuer: 'alloquy',
      subject: String(alice.id),
    });
    for (const t of [forged, none, expired, 'not.a.token', '']) {
      expect(() => accounts.authenticateAccessToken(t)).toThrow(expect.objectContaining({ code: 'invalid_token' }));
      expect(await accounts.checkCredentials('alice', t, irc(), true)).toMatchObject({ ok: false });
    }
  });

  it('throttles failures per account and per address, never successes', async () => {
    const { accounts } = service();
    await accounts.register('alice', 'password-a');
    await accounts.register('bob', 'password-b');
    for (let i = 0; i < 50; i++) expect((await accounts.checkCredentials('bob', 'password-b', irc('10.0.0.9'))).ok).toBe(true);
    for (let i = 0; i < 5; i++) await accounts.checkCredentials('alice', 'nope-nope', irc(`10.0.0.${i}`));
    const throttled = await accounts.checkCredentials('alice', 'password-a', irc('10.0.0.99'));
    expect(throttled).toMatchObject({ ok: false, reason: 'throttled' });
    expect((throttled as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThan(0);
    // Another account from a clean address is unaffected.
    expect((await accounts.checkCredentials('bob', 'password-b', irc('10.0.0.98'))).ok).toBe(true);
    // One address spraying many names is stopped too.
    for (let i = 0; i < 8; i++) await accounts.checkCredentials(`user${i}`, 'nope-nope', irc('10.9.9.9'));
    expect(await accounts.checkCredentials('bob', 'password-b', irc('10.9.9.9'))).toMatchObject({ ok: false, reason: 'throttled' });
  });

  it('rotates refresh tokens and revokes the family when a spent one comes back', async () => {
    const { accounts } = service();
    await accounts.register('alice', 'password-a');
    const s1 = await accounts.login('alice', 'password-a', { via: 'http' });
    const s2 = accounts.refresh(s1.refresh_token);
    expect(s2.refresh_token).not.toBe(s1.refresh_token);
    expect(() => accounts.refresh(s1.refresh_token)).toThrow(expect.objectContaining({ code: 'invalid_token' }));
    // Reuse of s1 revoked the family, so s2 is dead too.
    expect(() => accounts.refresh(s2.refresh_token)).toThrow(expect.objectContaining({ code: 'invalid_token' }));
    const s3 = await accounts.login('alice', 'password-a', { via: 'http' });
    accounts.logout(s3.refresh_token);
    expect(() => accounts.refresh(s3.refresh_token)).toThrow(expect.objectContaining({ code: 'invalid_token' }));
  });

  it('a password change voids older tokens and the old password', async () => {
    const { accounts } = service();
    await accounts.register('alice', 'password-a');
    const s = await accounts.login('alice', 'password-a', { via: 'http' });
    await accounts.changePassword(accounts.get('alice').id, 'password-a', 'password-new', { via: 'http' });
    expect(() => accounts.authenticateAccessToken(s.access_token)).toThrow(expect.objectContaining({ code: 'invalid_token' }));
    expect(() => accounts.refresh(s.refresh_token)).toThrow(expect.objectContaining({ code: 'invalid_token' }));
    expect((await accounts.checkCredentials('alice', 'password-a', irc())).ok).toBe(false);
    expect((await accounts.checkCredentials('alice', 'password-new', irc())).ok).toBe(true);
    await expect(accounts.changePassword(accounts.get('alice').id, 'wrong-one', 'password-x', { via: 'http' })).rejects.toMatchObject({
      code: 'invalid_credentials',
    });
  });

  it('honours invite-only and closed registration; the operator bypasses both', async () => {
    const invite = service({ registration: 'invite' });
    await expect(invite.accounts.register('alice', 'password-a')).rejects.toMatchObject({ code: 'invalid_invite' });
    await expect(invite.accounts.register('alice', 'password-a', { invite: 'made-up' })).rejects.toMatchObject({ code: 'invalid_invite' });
    const { code } = invite.accounts.createInvite({ maxUses: 1 });
    await invite.accounts.register('alice', 'password-a', { invite: code });
    await expect(invite.accounts.register('bob', 'password-b', { invite: code })).rejects.toMatchObject({ code: 'invalid_invite' });

    const closed = service({ registration: 'closed' });
    await expect(closed.accounts.register('alice', 'password-a')).rejects.toMatchObject({ code: 'registration_closed' });
    await closed.accounts.register('alice', 'password-a', { bypassPolicy: true });
  });

  it("gives every account's password version in one map (a relay's full sync)", async () => {
    const { accounts } = service({ now: () => 50 });
    const alice = await accounts.register('alice', 'password-a');
    const bob = await accounts.register('bob', 'password-b');
    await accounts.setPassword('bob', 'password-c');
    expect(accounts.passwordVersions()).toEqual(
      new Map([
        [alice.id, 50],
        [bob.id, 51],
      ]),
    );
  });

  it('announces changes for the relays', async () => {
    const { accounts } = service();
    const seen: string[] = [];
    for (const e of ['created', 'disabled', 'enabled', 'password-changed'] as const) accounts.on(e, (a) => seen.push(`${e}:${a.username}`));
    await accounts.register('alice', 'password-a');
    accounts.setDisabled('alice', true);
    accounts.setDisabled('alice', false);
    await accounts.setPassword('alice', 'password-b');
    expect(seen).toEqual(['created:alice', 'disabled:alice', 'enabled:alice', 'password-changed:alice']);
  });
});

describe('AccountService password observers', () => {
  it('sees the plaintext at registration, password change and password login, never for token logins', async () => {
    const { accounts } = service();
    const seen: { username: string; password: string; version: number; reason: string }[] = [];
    const off = accounts.observePasswords((s) =>
      seen.push({ username: s.account.username, password: s.password.reveal(), version: s.passwordVersion, reason: s.reason }),
    );
    const alice = await accounts.register('alice', 'password-a');
    const v1 = accounts.passwordVersion(alice.id)!;
    expect(seen).toEqual([{ username: 'alice', password: 'password-a', version: v1, reason: 'created' }]);

    const session = await accounts.login('alice', 'password-a', { via: 'http' });
    expect(seen.at(-1)).toMatchObject({ reason: 'verified', password: 'password-a', version: v1 });
    await accounts.checkCredentials('alice', session.access_token, irc(), true);
    await accounts.checkCredentials('alice', 'wrong-password', irc());
    expect(seen).toHaveLength(2);

    await accounts.setPassword('alice', 'password-a2');
    const v2 = accounts.passwordVersion(alice.id)!;
    expect(v2).toBeGreaterThan(v1);
    expect(seen.at(-1)).toEqual({ username: 'alice', password: 'password-a2', version: v2, reason: 'changed' });

    accounts.setDisabled('alice', true);
    await accounts.checkCredentials('alice', 'password-a2', irc());
    expect(seen).toHaveLength(3);

    off();
    accounts.setDisabled('alice', false);
    await accounts.checkCredentials('alice', 'password-a2', irc());
    expect(seen).toHaveLength(3);
  });

  it('confirms an operator-set password only when it is the current one', async () => {
    const { accounts } = service();
    await accounts.register('alice', 'password-a');
    const reasons: string[] = [];
    accounts.observePasswords((s) => reasons.push(s.reason));
    expect(await accounts.confirmPassword('alice', 'not-it-at-all')).toBe(false);
    expect(await accounts.confirmPassword('nobody', 'password-a')).toBe(false);
    expect(await accounts.confirmPassword('ALICE', 'password-a')).toBe(true);
    expect(reasons).toEqual(['operator']);
  });

  it('is not stopped by an observer that throws', async () => {
    const { accounts } = service();
    accounts.observePasswords(() => {
      throw new Error('boom');
    });
    await expect(accounts.register('alice', 'password-a')).resolves.toMatchObject({ username: 'alice' });
    await expect(accounts.login('alice', 'password-a', { via: 'http' })).resolves.toMatchObject({ token_type: 'Bearer' });
  });
});
