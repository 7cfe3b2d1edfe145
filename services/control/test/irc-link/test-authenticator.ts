/**
 * An in-memory SaslAuthenticator for link tests. It stands in for our own accounts module
 * (implemented elsewhere), never for InspIRCd.
 */
import type { SaslAuthenticator, SaslVerdict } from '../../src/irc-link/sasl.js';

export interface TestAccount {
  readonly password: string;
  readonly disabled?: boolean;
  /** Canonical account name, when it differs from the login name. */
  readonly account?: string;
}

export class TestAuthenticator implements SaslAuthenticator {
  readonly calls: Array<{ authcid: string; ip: string | undefined }> = [];
  /** Milliseconds to wait before answering (to exercise timeouts and aborts). */
  delayMs = 0;

  constructor(private readonly accounts: Map<string, TestAccount>) {}

  async authenticate(authcid: string, password: string, ctx: { ip?: string }): Promise<SaslVerdict> {
    this.calls.push({ authcid, ip: ctx.ip });
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const entry = this.accounts.get(authcid);
    if (!entry || entry.password !== password) return { ok: false, reason: 'invalid' };
    if (entry.disabled) return { ok: false, reason: 'disabled' };
    return { ok: true, account: entry.account ?? authcid };
  }
}
