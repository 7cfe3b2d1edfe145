import type Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { type Db } from '../store/database.js';
import { ControlError } from '../errors/control-error.js';
import { assertValidUsername, foldUsername } from './username.js';
import { assertAcceptablePassword, hashPassword, verifyDecoy, verifyPassword } from './passwords.js';
import { AccessTokens, hashRefreshToken, newRefreshToken } from './tokens.js';
import { FailureLimiter } from './failure-limiter.js';
import { Plaintext } from './plaintext.js';
import { statementCache } from '@alloquy/service-kit/store';
import { InviteStore } from './invites.js';

export interface Account {
  id: number;
  username: string;
  isAdmin: boolean;
  disabled: boolean;
  createdAt: number;
}

interface AccountRow {
  id: number;
  username: string;
  password_hash: string;
  is_admin: number;
  disabled_at: number | null;
  created_at: number;
  password_changed_at: number;
}

export interface Session {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/** Where a login attempt came from: an IRC client's address, an HTTP peer. */
export interface LoginContext {
  ip?: string;
  via: 'http' | 'irc' | 'cli';
}

export type LoginResult = { ok: true; account: Account } | { ok: false; reason: 'invalid' | 'disabled' | 'throttled'; retryAfterSeconds?: number };

export interface AccountEvents {
  created: [Account];
  disabled: [Account];
  enabled: [Account];
  'password-changed': [Account];
  /** Promoted to or demoted from server admin. */
  'admin-changed': [Account];
  'login-succeeded': [{ via: LoginContext['via'] }];
  'login-failed': [{ via: LoginContext['via']; reason: 'invalid' | 'disabled' | 'throttled' }];
}

/**
 * A password the service has just seen in plaintext and knows to be the account's current one:
 * at registration, at a password change, at each successful password login (HTTP or IRC SASL;
 * never for token logins) and when the operator CLI hands over the password it set. Relays that
 * keep their own password hash (Murmur) need exactly this. Given only to in-process observers
 * (`observePasswords`), never emitted as an event, logged or sent anywhere else.
 */
export interface PasswordSeen {
  account: Account;
  password: Plaintext;
  /** The account's password version (`password_changed_at`) this password belongs to. */
  passwordVersion: number;
  reason: 'created' | 'changed' | 'verified' | 'operator';
}

export type PasswordObserver = (seen: PasswordSeen) => void;

export interface AccountServiceOptions {
  registration: 'open' | 'invite' | 'closed';
  accessTokens: AccessTokens;
  refreshTtlSeconds: number;
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
  failureWindowSeconds: number;
  now?: () => number;
}

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    username: row.username,
    isAdmin: row.is_admin === 1,
    disabled: row.disabled_at !== null,
    createdAt: row.created_at,
  };
}

/**
 * Accounts: the one source of identity for IRC, voice and the HTTP services. Every way in
 * (HTTP sessions, IRC SASL, the CLI) checks credentials here, so rate limits and the
 * disabled flag hold everywhere alike. Changes are announced as events for the relays.
 */
export class AccountService extends EventEmitter<AccountEvents> {
  private statements?: (sql: string) => Database.Statement;

  /** A prepared statement for a constant SQL text, compiled once (see statementCache). */
  private sql(text: string): Database.Statement {
    this.statements ??= statementCache(this.db);
    return this.statements(text);
  }
  private readonly byAccount: FailureLimiter;
  private readonly byAddress: FailureLimiter;
  private readonly now: () => number;
  private readonly passwordObservers = new Set<PasswordObserver>();
  /** Registration spends invite codes; the guild has its own InviteStore over the same table. */
  private readonly invites: InviteStore;

  constructor(
    private readonly db: Db,
    private readonly opts: AccountServiceOptions,
  ) {
    super();
    this.now = opts.now ?? Date.now;
    this.invites = new InviteStore(db);
    const windowMs = opts.failureWindowSeconds * 1000;
    this.byAccount = new FailureLimiter(opts.maxFailuresPerAccount, windowMs, this.now);
    this.byAddress = new FailureLimiter(opts.maxFailuresPerAddress, windowMs, this.now);
  }

  /**
   * Subscribes an in-process relay to plaintext passwords as they are seen (see `PasswordSeen`).
   * Returns the unsubscribe function.
   */
  observePasswords(observer: PasswordObserver): () => void {
    this.passwordObservers.add(observer);
    return () => this.passwordObservers.delete(observer);
  }

  private passwordSeen(row: AccountRow, password: string, reason: PasswordSeen['reason']): void {
    if (this.passwordObservers.size === 0) return;
    const seen: PasswordSeen = { account: toAccount(row), password: new Plaintext(password), passwordVersion: row.password_changed_at, reason };
    for (const observer of this.passwordObservers) {
      try {
        observer(seen);
      } catch {
        // An observer's failure must never fail a login or a password change.
      }
    }
  }

  /** The account's password version (`password_changed_at`), which changes with every new password. */
  passwordVersion(accountId: number): number | undefined {
    return this.rowById(accountId)?.password_changed_at;
  }

  /** Every account's password version, by account id, in one query (a relay's full sync). */
  passwordVersions(): Map<number, number> {
    const rows = this.sql('SELECT id, password_changed_at FROM accounts').all() as { id: number; password_changed_at: number }[];
    return new Map(rows.map((r) => [r.id, r.password_changed_at]));
  }

  /**
   * For the operator CLI, which sets passwords in the database itself and then hands the running
   * server the plaintext over the operator socket: checks that it is the account's current
   * password and, if so, passes it to the password observers. Not a login: nothing is counted.
   */
  async confirmPassword(username: string, password: string): Promise<boolean> {
    const row = this.row(username);
    if (!row || !(await verifyPassword(row.password_hash, password))) return false;
    // Re-read: the password may have changed again while the hash was being checked.
    const current = this.rowById(row.id);
    if (!current || current.password_changed_at !== row.password_changed_at) return false;
    this.passwordSeen(current, password, 'operator');
    return true;
  }

  get registrationMode(): AccountServiceOptions['registration'] {
    return this.opts.registration;
  }

  private row(username: string): AccountRow | undefined {
    return this.sql('SELECT * FROM accounts WHERE username_folded = ?').get(foldUsername(username)) as AccountRow | undefined;
  }

  private rowById(id: number): AccountRow | undefined {
    return this.sql('SELECT * FROM accounts WHERE id = ?').get(id) as AccountRow | undefined;
  }

  find(username: string): Account | undefined {
    const row = this.row(username);
    return row && toAccount(row);
  }

  get(username: string): Account {
    const account = this.find(username);
    if (!account) throw new ControlError('not_found', `no account named "${username}"`);
    return account;
  }

  byId(id: number): Account | undefined {
    const row = this.rowById(id);
    return row && toAccount(row);
  }

  list(): Account[] {
    return (this.sql('SELECT * FROM accounts ORDER BY id').all() as AccountRow[]).map(toAccount);
  }

  /**
   * Creates an account. `bypassPolicy` is for the operator (CLI): it ignores the registration
   * mode. The first account ever created is an admin.
   */
  async register(username: string, password: string, options: { invite?: string; bypassPolicy?: boolean; admin?: boolean } = {}): Promise<Account> {
    assertValidUsername(username);
    assertAcceptablePassword(password);
    if (!options.bypassPolicy) {
      if (this.opts.registration === 'closed') {
        throw new ControlError('registration_closed', 'registration is closed on this server');
      }
      if (this.opts.registration === 'invite' && !options.invite) {
        throw new ControlError('invalid_invite', 'registration on this server needs an invite code');
      }
    }
    if (this.row(username)) throw new ControlError('username_taken', `the username "${username}" is taken`);
    // Hash before the transaction: it is slow and must not hold the write lock.
    const passwordHash = await hashPassword(password);
    const now = this.now();
    const insert = this.db.transaction(() => {
      if (!options.bypassPolicy && this.opts.registration === 'invite') this.invites.consume(options.invite!, now);
      const first = (this.sql('SELECT COUNT(*) FROM accounts').pluck().get() as number) === 0;
      try {
        const info = this.sql(
          `INSERT INTO accounts (username, username_folded, password_hash, is_admin, created_at, password_changed_at)
             VALUES (?, ?, ?, ?, ?, ?)`,
        ).run(username, foldUsername(username), passwordHash, first || options.admin ? 1 : 0, now, now);
        return Number(info.lastInsertRowid);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new ControlError('username_taken', `the username "${username}" is taken`);
        }
        throw err;
      }
    });
    const row = this.rowById(insert())!;
    const account = toAccount(row);
    this.passwordSeen(row, password, 'created');
    this.emit('created', account);
    return account;
  }

  createInvite(options: { createdBy?: number; expiresInSeconds?: number; maxUses?: number } = {}): {
    code: string;
    expiresAt: number | null;
    maxUses: number | null;
  } {
    const now = this.now();
    const { code, expiresAt, maxUses } = this.invites.create({
      createdBy: options.createdBy ?? null,
      createdAt: now,
      expiresAt: options.expiresInSeconds ? now + options.expiresInSeconds * 1000 : null,
      maxUses: options.maxUses ?? null,
    });
    return { code, expiresAt, maxUses };
  }

  /**
   * Checks a username and password (or, when `allowToken`, an access token in place of the
   * password: apps never need to keep passwords). Failures are counted per account and per
   * address; past the limit, even a right password is refused until the window passes.
   */
  async checkCredentials(username: string, secret: string, ctx: LoginContext, allowToken = false): Promise<LoginResult> {
    const accountKey = foldUsername(username);
    const addressKey = ctx.ip ? `ip:${ctx.ip}` : undefined;
    const wait = Math.max(this.byAccount.retryAfterSeconds(accountKey), addressKey ? this.byAddress.retryAfterSeconds(addressKey) : 0);
    if (wait > 0) return this.fail(ctx, 'throttled', wait);

    const row = this.row(username);
    let ok = false;
    let byPassword = false;
    if (allowToken && AccessTokens.looksLikeJwt(secret)) {
      ok = row !== undefined && this.tokenMatches(secret, row);
    } else if (row) {
      ok = await verifyPassword(row.password_hash, secret);
      byPassword = true;
    } else {
      await verifyDecoy(secret);
    }

    if (!ok || !row) {
      this.byAccount.recordFailure(accountKey);
      if (addressKey) this.byAddress.recordFailure(addressKey);
      return this.fail(ctx, 'invalid');
    }
    if (row.disabled_at !== null) return this.fail(ctx, 'disabled');
    this.byAccount.clear(accountKey);
    if (byPassword) this.passwordSeen(row, secret, 'verified');
    this.emit('login-succeeded', { via: ctx.via });
    return { ok: true, account: toAccount(row) };
  }

  private fail(ctx: LoginContext, reason: 'invalid' | 'disabled' | 'throttled', retryAfterSeconds?: number): LoginResult {
    this.emit('login-failed', { via: ctx.via, reason });
    return { ok: false, reason, retryAfterSeconds };
  }

  private tokenMatches(token: string, row: AccountRow): boolean {
    try {
      const claims = this.opts.accessTokens.verify(token);
      return claims.accountId === row.id && claims.passwordVersion === row.password_changed_at;
    } catch {
      return false;
    }
  }

  /** Password login over HTTP: a new session (a new refresh-token family). */
  async login(username: string, password: string, ctx: LoginContext): Promise<Session> {
    const result = await this.checkCredentials(username, password, ctx);
    if (!result.ok) throw this.loginError(result);
    return this.openSession(this.rowById(result.account.id)!, randomUUID());
  }

  private loginError(result: Extract<LoginResult, { ok: false }>): ControlError {
    switch (result.reason) {
      case 'throttled':
        return new ControlError('too_many_attempts', 'too many failed logins; try again later', result.retryAfterSeconds);
      case 'disabled':
        return new ControlError('account_disabled', 'this account is disabled');
      default:
        return new ControlError('invalid_credentials', 'wrong username or password');
    }
  }

  private openSession(row: AccountRow, familyId: string): Session {
    const { token, hash } = newRefreshToken();
    const now = this.now();
    this.sql('INSERT INTO refresh_tokens (token_hash, account_id, family_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(
      hash,
      row.id,
      familyId,
      now,
      now + this.opts.refreshTtlSeconds * 1000,
    );
    return {
      access_token: this.opts.accessTokens.mint({
        accountId: row.id,
        username: row.username,
        passwordVersion: row.password_changed_at,
      }),
      refresh_token: token,
      token_type: 'Bearer',
      expires_in: this.opts.accessTokens.ttlSeconds,
    };
  }

  /**
   * Rotates a refresh token: the presented one is spent and a new one issued in the same
   * family. Presenting an already-spent token means it was copied: the family is revoked.
   */
  refresh(refreshToken: string): Session {
    const invalid = new ControlError('invalid_token', 'the refresh token is not valid');
    const hash = hashRefreshToken(refreshToken);
    const now = this.now();
    const outcome = this.db.transaction((): Session | { reusedFamily: string } => {
      const rt = this.sql('SELECT * FROM refresh_tokens WHERE token_hash = ?').get(hash) as
        { account_id: number; family_id: string; expires_at: number; used_at: number | null; revoked_at: number | null } | undefined;
      if (!rt || rt.revoked_at !== null || rt.expires_at <= now) throw invalid;
      // Revocation must commit, so it is returned rather than thrown (a throw rolls back).
      if (rt.used_at !== null) {
        this.sql('UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL').run(now, rt.family_id);
        return { reusedFamily: rt.family_id };
      }
      const row = this.rowById(rt.account_id);
      if (!row) throw invalid;
      if (row.disabled_at !== null) throw new ControlError('account_disabled', 'this account is disabled');
      this.sql('UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?').run(now, hash);
      return this.openSession(row, rt.family_id);
    })();
    if ('reusedFamily' in outcome) throw invalid;
    return outcome;
  }

  /** Ends a login: revokes the refresh token's whole family. */
  logout(refreshToken: string): void {
    const hash = hashRefreshToken(refreshToken);
    const rt = this.sql('SELECT family_id FROM refresh_tokens WHERE token_hash = ?').get(hash) as { family_id: string } | undefined;
    if (rt) this.sql('UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL').run(this.now(), rt.family_id);
  }

  /** Resolves a bearer token to a live, enabled account, or throws. */
  authenticateAccessToken(token: string): Account {
    const claims = this.opts.accessTokens.verify(token);
    const row = this.rowById(claims.accountId);
    if (!row || row.password_changed_at !== claims.passwordVersion) {
      throw new ControlError('invalid_token', 'the access token is not valid');
    }
    if (row.disabled_at !== null) throw new ControlError('account_disabled', 'this account is disabled');
    return toAccount(row);
  }

  /**
   * Sets a new password. Every refresh token and access token of the account stops working,
   * so a stolen session does not survive the owner's password change.
   */
  async setPassword(username: string, newPassword: string): Promise<Account> {
    assertAcceptablePassword(newPassword);
    const row = this.row(username);
    if (!row) throw new ControlError('not_found', `no account named "${username}"`);
    const passwordHash = await hashPassword(newPassword);
    // Strictly increasing, so two changes within one millisecond still void older tokens.
    const changedAt = Math.max(this.now(), row.password_changed_at + 1);
    this.db.transaction(() => {
      this.sql('UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE id = ?').run(passwordHash, changedAt, row.id);
      this.sql('UPDATE refresh_tokens SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL').run(changedAt, row.id);
    })();
    const updated = this.rowById(row.id)!;
    const account = toAccount(updated);
    // Observers first: a relay then handles the event knowing the new password.
    this.passwordSeen(updated, newPassword, 'changed');
    this.emit('password-changed', account);
    return account;
  }

  /** Changes a password after checking the current one (the user's own change). */
  async changePassword(accountId: number, currentPassword: string, newPassword: string, ctx: LoginContext): Promise<Account> {
    const row = this.rowById(accountId);
    if (!row) throw new ControlError('not_found', 'no such account');
    const check = await this.checkCredentials(row.username, currentPassword, ctx);
    if (!check.ok) throw this.loginError(check);
    return this.setPassword(row.username, newPassword);
  }

  setDisabled(username: string, disabled: boolean): Account {
    const row = this.row(username);
    if (!row) throw new ControlError('not_found', `no account named "${username}"`);
    const now = this.now();
    this.db.transaction(() => {
      this.sql('UPDATE accounts SET disabled_at = ? WHERE id = ?').run(disabled ? now : null, row.id);
      if (disabled) this.sql('UPDATE refresh_tokens SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL').run(now, row.id);
    })();
    const account = toAccount(this.rowById(row.id)!);
    this.emit(disabled ? 'disabled' : 'enabled', account);
    return account;
  }

  setAdmin(username: string, admin: boolean): Account {
    const row = this.row(username);
    if (!row) throw new ControlError('not_found', `no account named "${username}"`);
    this.sql('UPDATE accounts SET is_admin = ? WHERE id = ?').run(admin ? 1 : 0, row.id);
    const account = toAccount(this.rowById(row.id)!);
    this.emit('admin-changed', account);
    return account;
  }

  /** Forgets stale rate-limit windows and long-dead refresh tokens. */
  sweep(): void {
    this.byAccount.sweep();
    this.byAddress.sweep();
    this.sql('DELETE FROM refresh_tokens WHERE expires_at < ?').run(this.now() - 24 * 3600 * 1000);
  }
}
