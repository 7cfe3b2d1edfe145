import type { MurmurAccountState } from './store.js';

/**
 * What one account needs in Murmur, decided without I/O. Murmur keeps its own password hash,
 * and the control server only sees a plaintext password at registration, password change and
 * password login; so Murmur holds either the account's current password (fresh), or a random,
 * unusable one (stale) that the next password login replaces. It never keeps an old password:
 * a password changed while the relay could not reach Murmur is replaced by a random one.
 */
export interface AccountSyncInput {
  account: { username: string; disabled: boolean };
  /** The account's current password version. */
  passwordVersion: number;
  /** What we recorded Murmur holding, if anything. */
  state: MurmurAccountState | undefined;
  /** Murmur's registration under the account's name right now (undefined: not registered). */
  murmurUserId: number | undefined;
  /** The current password is at hand in plaintext. */
  passwordKnown: boolean;
  /** The certificate hash Murmur should hold ('' for none). */
  certHash: string;
  /** Names Murmur keeps for itself (its SuperUser), lowercase. */
  reservedNames?: ReadonlySet<string>;
}

export type PasswordChoice = 'known' | 'random';

export type AccountSyncAction =
  | { kind: 'none' }
  /** The name is Murmur's own (SuperUser): never touched. */
  | { kind: 'reserved' }
  /** Disabled: remove the registration (when there is one) and kick the user's sessions. */
  | { kind: 'unregister'; murmurUserId: number | undefined }
  | { kind: 'register'; password: PasswordChoice; certHash: string }
  | { kind: 'update'; murmurUserId: number; password?: PasswordChoice; certHash?: string };

export const DEFAULT_RESERVED_NAMES: ReadonlySet<string> = new Set(['superuser']);

export function planAccountSync(input: AccountSyncInput): AccountSyncAction {
  const { account, state, murmurUserId, passwordKnown, passwordVersion, certHash } = input;
  if (murmurUserId === 0 || (input.reservedNames ?? DEFAULT_RESERVED_NAMES).has(account.username.toLowerCase())) {
    return { kind: 'reserved' };
  }
  if (account.disabled) return { kind: 'unregister', murmurUserId };
  if (murmurUserId === undefined) return { kind: 'register', password: passwordKnown ? 'known' : 'random', certHash };

  // A registration we did not record (or recorded under another id): its password and
  // certificate are unknown to us, so both are set.
  const adopted = state === undefined || state.murmurUserId !== murmurUserId;
  let password: PasswordChoice | undefined;
  if (adopted) password = passwordKnown ? 'known' : 'random';
  else if (state.passwordVersion !== passwordVersion) {
    if (passwordKnown) password = 'known';
    // Murmur holds an older real password: it must stop working.
    else if (state.passwordVersion !== null) password = 'random';
  }
  const setCert = adopted || state.certHash !== certHash;
  if (password === undefined && !setCert) return { kind: 'none' };
  return { kind: 'update', murmurUserId, ...(password ? { password } : {}), ...(setCert ? { certHash } : {}) };
}

/** The state to record once `action` has been carried out. */
export function stateAfter(
  action: AccountSyncAction,
  before: MurmurAccountState | undefined,
  passwordVersion: number,
  registeredId?: number,
): MurmurAccountState | undefined {
  switch (action.kind) {
    case 'none':
    case 'reserved':
      return before;
    case 'unregister':
      return undefined;
    case 'register':
      return { murmurUserId: registeredId!, passwordVersion: action.password === 'known' ? passwordVersion : null, certHash: action.certHash };
    case 'update':
      return {
        murmurUserId: action.murmurUserId,
        passwordVersion: action.password === 'known' ? passwordVersion : action.password === 'random' ? null : (before?.passwordVersion ?? null),
        certHash: action.certHash ?? before?.certHash ?? '',
      };
  }
}
