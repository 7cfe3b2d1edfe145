import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Account, AccountService, PasswordSeen } from '../accounts/account-service.js';
import type { Plaintext } from '../accounts/plaintext.js';
import type { ControlMetrics } from '../metrics/metrics.js';
import { planAccountSync, stateAfter, type AccountSyncAction } from './account-sync.js';
import { aclMatches, DEFAULT_VOICE_POLICY, voiceChannelAcl, type VoicePolicy } from './acl.js';
import { MurmurRejectedError, MurmurUnavailableError, type MurmurIceClient, type OnlineUser } from './ice-client.js';
import { buildPresence, isMuted, type VoicePresence } from './presence.js';
import type { MurmurAccountState, MurmurStore } from './store.js';
import { foldChannelName, type VoiceChannels } from './voice-channels.js';

export interface MurmurRelayOptions {
  client: MurmurIceClient;
  accounts: AccountService;
  store: MurmurStore;
  channels: VoiceChannels;
  metrics: ControlMetrics;
  log: Logger;
  /** Presence poll period. Default 1000 ms (presence is promised fresh within 2 s). */
  pollIntervalMs?: number;
  /** A full re-sync this often while connected, as a safety net. Default 5 minutes. */
  resyncIntervalMs?: number;
  /** Presence older than this is not served. Default 5000 ms. */
  presenceMaxAgeMs?: number;
  policy?: VoicePolicy;
}

export interface MurmurRelayStatus {
  lastSyncAt: string | null;
  lastSyncError: string | null;
  syncs: number;
}

/**
 * Mirrors Alloquy into Murmur, the way the IRC services link mirrors it into InspIRCd:
 *
 * - every enabled account is a Murmur registration with the same name and password (and the
 *   account's newest client-certificate hash); disabled accounts are unregistered and kicked;
 *   registrations that match no account are removed (Murmur's SuperUser, id 0, is never touched);
 * - every Alloquy voice channel is a Murmur channel under the root, with Alloquy's ACL;
 * - who is in which channel is polled every second for `GET /api/v1/voice` and the metrics.
 *
 * A full sync runs whenever the Ice connection comes up (start-up, and after every Murmur
 * outage or restart) and every few minutes; it costs one getRegisteredUsers call plus a write
 * only for what differs. Account changes sync one account at once. Everything that writes to
 * Murmur runs through one queue, so a sync and an event never interleave.
 */
export class MurmurRelay {
  private readonly client: MurmurIceClient;
  private readonly accounts: AccountService;
  private readonly store: MurmurStore;
  private readonly channels: VoiceChannels;
  private readonly metrics: ControlMetrics;
  private readonly log: Logger;
  private readonly policy: VoicePolicy;
  private readonly pollIntervalMs: number;
  private readonly resyncIntervalMs: number;
  private readonly presenceMaxAgeMs: number;

  /** Plaintext passwords not yet pushed to Murmur (it was down, or the sync is queued). */
  private readonly pending = new Map<number, { password: Plaintext; version: number }>();
  private readonly dirty = new Set<number>();
  private drainQueued = false;
  private fullSyncQueued: Promise<void> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private snapshot: VoicePresence | undefined;
  private polling = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly warnedReserved = new Set<number>();
  private lastSyncAt: number | null = null;
  private lastSyncError: string | null = null;
  private syncs = 0;
  private stopped = false;

  constructor(options: MurmurRelayOptions) {
    this.client = options.client;
    this.accounts = options.accounts;
    this.store = options.store;
    this.channels = options.channels;
    this.metrics = options.metrics;
    this.log = options.log;
    this.policy = options.policy ?? DEFAULT_VOICE_POLICY;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.resyncIntervalMs = options.resyncIntervalMs ?? 5 * 60_000;
    this.presenceMaxAgeMs = options.presenceMaxAgeMs ?? 5000;
  }

  start(): void {
    const { accounts, client, metrics } = this;
    this.unsubscribe.push(accounts.observePasswords((seen) => this.onPassword(seen)));
    const touch = (account: Account) => this.touchAccount(account.id);
    for (const event of ['created', 'password-changed', 'disabled', 'enabled'] as const) {
      accounts.on(event, touch);
      this.unsubscribe.push(() => accounts.off(event, touch));
    }
    const onUp = () => {
      metrics.murmurUp.set(1);
      metrics.murmurConnects.inc();
      void this.syncAll().catch(() => undefined);
      void this.poll();
    };
    const onDown = () => {
      metrics.murmurUp.set(0);
      this.clearPresence();
    };
    client.on('up', onUp);
    client.on('down', onDown);
    this.unsubscribe.push(() => client.off('up', onUp), () => client.off('down', onDown));
    metrics.murmurUp.set(client.isUp() ? 1 : 0);
    this.pollTimer = setInterval(() => void this.poll(), this.pollIntervalMs);
    this.resyncTimer = setInterval(() => {
      if (client.isUp()) void this.syncAll().catch(() => undefined);
    }, this.resyncIntervalMs);
    if (client.isUp()) onUp();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearInterval(this.resyncTimer);
    for (const off of this.unsubscribe.splice(0)) off();
    await this.tail.catch(() => undefined);
    this.pending.clear();
  }

  status(): MurmurRelayStatus {
    return {
      lastSyncAt: this.lastSyncAt === null ? null : new Date(this.lastSyncAt).toISOString(),
      lastSyncError: this.lastSyncError,
      syncs: this.syncs,
    };
  }

  /** The latest presence, or undefined when Murmur has not answered recently. */
  presence(): VoicePresence | undefined {
    const s = this.snapshot;
    return s && Date.now() - s.at <= this.presenceMaxAgeMs ? s : undefined;
  }

  /** Resolves once every queued Murmur write has run. */
  async whenIdle(): Promise<void> {
    for (;;) {
      const tail = this.tail;
      await tail.catch(() => undefined);
      if (tail === this.tail) return;
    }
  }

  /** Runs a full sync of accounts and channels (coalesced with one already queued). */
  syncAll(): Promise<void> {
    this.fullSyncQueued ??= this.enqueue('full sync', async () => {
      this.fullSyncQueued = undefined;
      await this.fullSync();
    });
    return this.fullSyncQueued;
  }

  /** Syncs the voice channels now (after one was created). */
  syncChannels(): Promise<void> {
    return this.enqueue('channel sync', () => this.syncChannelsNow());
  }

  /** Syncs one account now (after its certificates changed, say). */
  syncAccount(accountId: number): Promise<void> {
    this.dirty.add(accountId);
    return this.queueDrain();
  }

  // --- account events -------------------------------------------------------------------

  private onPassword(seen: PasswordSeen): void {
    if (this.stopped) return;
    const id = seen.account.id;
    const state = this.store.state(id);
    // Every password login lands here: when Murmur already has this password, that is all.
    if (state && state.passwordVersion === seen.passwordVersion) return;
    const previous = this.pending.get(id);
    if (!previous || previous.version <= seen.passwordVersion) this.pending.set(id, { password: seen.password, version: seen.passwordVersion });
    this.touchAccount(id);
  }

  private touchAccount(accountId: number): void {
    if (this.stopped) return;
    this.dirty.add(accountId);
    void this.queueDrain().catch(() => undefined);
  }

  private queueDrain(): Promise<void> {
    if (this.drainQueued) return this.tail.then(() => undefined);
    this.drainQueued = true;
    return this.enqueue('account sync', async () => {
      this.drainQueued = false;
      const ids = [...this.dirty];
      this.dirty.clear();
      // While Murmur is away the sync that follows its return covers every account.
      if (!this.client.isUp()) return;
      for (const id of ids) await this.syncOneAccount(id);
    });
  }

  private enqueue<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch((err: unknown) => {
      if (err instanceof MurmurUnavailableError) this.log.debug({ what, reason: err.message }, 'Murmur unavailable; the sync after it returns catches up');
      else this.log.error({ err, what }, 'Murmur sync failed');
    });
    return run;
  }

  // --- syncing --------------------------------------------------------------------------

  private async syncOneAccount(accountId: number): Promise<void> {
    const account = this.accounts.byId(accountId);
    const version = this.accounts.passwordVersion(accountId);
    if (!account || version === undefined) {
      this.pending.delete(accountId);
      return;
    }
    const murmurUserId = await this.client.getUserId(account.username);
    const online = account.disabled ? await this.client.getUsers() : [];
    await this.applyAccount(account, version, murmurUserId, online);
  }

  /**
   * `stored` is what the store holds for the account, when the caller already read it in bulk
   * (the full sync reads every account's state and certificate in two queries, not 2N).
   */
  private async applyAccount(
    account: Account,
    version: number,
    murmurUserId: number | undefined,
    online: readonly OnlineUser[],
    stored?: { state: MurmurAccountState | undefined; certHash: string },
  ): Promise<void> {
    const id = account.id;
    const before = stored ? stored.state : this.store.state(id);
    const pending = this.pending.get(id);
    if (pending && pending.version < version) this.pending.delete(id);
    const known = pending && pending.version === version ? pending.password : undefined;
    const action = planAccountSync({
      account,
      passwordVersion: version,
      state: before,
      murmurUserId,
      passwordKnown: known !== undefined,
      certHash: stored ? stored.certHash : this.store.activeCertHash(id),
    });
    const registeredId = await this.carryOut(account, action, known, online);
    const after = stateAfter(action, before, version, registeredId);
    if (after) this.store.setState(id, after);
    else this.store.clearState(id);
    if (known && this.pending.get(id) === pending) this.pending.delete(id);
  }

  /** Does what the plan says in Murmur; returns the new user id after a registration. */
  private async carryOut(account: Account, action: AccountSyncAction, known: Plaintext | undefined, online: readonly OnlineUser[]): Promise<number | undefined> {
    const { client, log } = this;
    const password = (choice: 'known' | 'random' | undefined) =>
      choice === 'known' ? known!.reveal() : choice === 'random' ? randomBytes(24).toString('base64url') : undefined;
    switch (action.kind) {
      case 'none':
        return undefined;
      case 'reserved':
        if (!this.warnedReserved.has(account.id)) {
          this.warnedReserved.add(account.id);
          log.warn({ username: account.username }, 'this account has the name of Murmur\'s SuperUser and cannot use voice');
        }
        return undefined;
      case 'unregister': {
        if (action.murmurUserId !== undefined) {
          await ignoreRejection(client.unregisterUser(action.murmurUserId), 'InvalidUserException');
          log.info({ username: account.username, murmurUserId: action.murmurUserId }, 'removed a disabled account from Murmur');
        }
        await this.kick(online, action.murmurUserId, account.username, 'Account disabled');
        return undefined;
      }
      case 'register': {
        const id = await client.registerUser({
          name: account.username,
          password: password(action.password),
          ...(action.certHash ? { certHash: action.certHash } : {}),
        });
        log.info({ username: account.username, murmurUserId: id, murmurPassword: action.password === 'known' ? 'current' : 'random until the next password login' }, 'registered an account in Murmur');
        return id;
      }
      case 'update': {
        try {
          await client.updateRegistration(action.murmurUserId, {
            ...(action.password ? { password: password(action.password) } : {}),
            ...(action.certHash !== undefined ? { certHash: action.certHash } : {}),
          });
        } catch (err) {
          // Removed in Murmur since we looked: forget it, the next sync registers it anew.
          if (err instanceof MurmurRejectedError && err.kind === 'InvalidUserException') this.store.clearState(account.id);
          throw err;
        }
        log.debug({ username: account.username, murmurPassword: action.password ?? 'unchanged', cert: action.certHash !== undefined }, 'updated a Murmur registration');
        return undefined;
      }
    }
  }

  private async kick(online: readonly OnlineUser[], murmurUserId: number | undefined, name: string, reason: string): Promise<void> {
    const folded = name.toLowerCase();
    for (const u of online) {
      if ((murmurUserId !== undefined && u.userId === murmurUserId) || u.name.toLowerCase() === folded) {
        await ignoreRejection(this.client.kickUser(u.session, reason), 'InvalidSessionException');
        this.log.info({ username: u.name, session: u.session }, 'kicked from Murmur');
      }
    }
  }

  private async fullSync(): Promise<void> {
    if (!this.client.isUp()) return;
    const started = Date.now();
    try {
      const registered = await this.client.getRegisteredUsers();
      const online = await this.client.getUsers();
      const byName = new Map<string, number>();
      for (const [id, name] of registered) if (id !== 0) byName.set(name.toLowerCase(), id);
      const versions = this.store.passwordVersions();
      const states = this.store.states();
      const certHashes = this.store.activeCertHashes();
      const names = new Set<string>();
      let failed = 0;
      for (const account of this.accounts.list()) {
        names.add(account.username.toLowerCase());
        try {
          // No entry means no certificate, which activeCertHash() spells ''.
          const stored = { state: states.get(account.id), certHash: certHashes.get(account.id) ?? '' };
          await this.applyAccount(account, versions.get(account.id)!, byName.get(account.username.toLowerCase()), online, stored);
        } catch (err) {
          if (err instanceof MurmurUnavailableError) throw err;
          failed += 1;
          this.log.warn({ err, username: account.username }, 'could not sync an account into Murmur');
        }
      }
      for (const [id, name] of registered) {
        if (id === 0 || names.has(name.toLowerCase())) continue;
        await ignoreRejection(this.client.unregisterUser(id), 'InvalidUserException');
        await this.kick(online, id, name, 'No such account');
        this.log.info({ murmurName: name, murmurUserId: id }, 'removed a Murmur registration that matches no account');
      }
      await this.syncChannelsNow();
      this.metrics.murmurStaleAccounts.set(this.store.staleCount());
      this.lastSyncAt = Date.now();
      this.lastSyncError = failed ? `${failed} account(s) could not be synced` : null;
      this.syncs += 1;
      this.metrics.murmurSyncs.inc({ result: failed ? 'failed' : 'ok' });
      this.log.info({ accounts: names.size, ms: Date.now() - started, failed }, 'Murmur in sync');
    } catch (err) {
      this.lastSyncError = err instanceof Error ? err.message : String(err);
      this.metrics.murmurSyncs.inc({ result: 'failed' });
      throw err;
    }
  }

  private async syncChannelsNow(): Promise<void> {
    if (!this.client.isUp()) return;
    const murmurChannels = await this.client.getChannels();
    const byId = new Map(murmurChannels.map((c) => [c.id, c]));
    const wanted = voiceChannelAcl(this.policy);
    for (const channel of this.channels.list()) {
      let id = channel.murmurChannelId;
      const existing = id === null ? undefined : byId.get(id);
      if (!existing || foldChannelName(existing.name) !== foldChannelName(channel.name)) {
        const found = murmurChannels.find((c) => c.parentId === 0 && foldChannelName(c.name) === foldChannelName(channel.name));
        if (found) id = found.id;
        else {
          id = await this.client.addChannel(channel.name, 0);
          murmurChannels.push({ id, name: channel.name, parentId: 0, position: 0, temporary: false });
          this.log.info({ channel: channel.name, murmurChannelId: id }, 'created a voice channel in Murmur');
        }
      }
      if (id !== channel.murmurChannelId) this.channels.setMurmurChannelId(channel.id, id);
      const acl = await this.client.getACL(id!);
      if (!aclMatches(acl, wanted)) await this.client.setACL(id!, wanted);
    }
  }

  // --- presence -------------------------------------------------------------------------

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    if (!this.client.isUp()) {
      this.clearPresence();
      return;
    }
    this.polling = true;
    try {
      const [channels, users] = await Promise.all([this.client.getChannels(), this.client.getUsers()]);
      const voiceIds = new Set<number>();
      for (const c of this.channels.list()) if (c.murmurChannelId !== null) voiceIds.add(c.murmurChannelId);
      this.snapshot = buildPresence(channels, users, voiceIds, Date.now());
      this.updateMetrics(this.snapshot);
    } catch (err) {
      if (!(err instanceof MurmurUnavailableError)) this.log.warn({ err }, 'Murmur presence poll failed');
    } finally {
      this.polling = false;
    }
  }

  private updateMetrics(presence: VoicePresence): void {
    const { voiceUsers, voiceMutedUsers, voiceDeafenedUsers } = this.metrics;
    voiceUsers.reset();
    let muted = 0;
    let deafened = 0;
    for (const channel of presence.channels) {
      voiceUsers.inc({ channel: channel.name }, channel.users.length);
      for (const u of channel.users) {
        if (isMuted(u)) muted += 1;
        if (u.deafened || u.self_deafened) deafened += 1;
      }
    }
    voiceMutedUsers.set(muted);
    voiceDeafenedUsers.set(deafened);
  }

  private clearPresence(): void {
    this.snapshot = undefined;
    this.metrics.voiceUsers.reset();
    this.metrics.voiceMutedUsers.set(0);
    this.metrics.voiceDeafenedUsers.set(0);
  }
}

async function ignoreRejection(call: Promise<void>, kind: string): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof MurmurRejectedError && err.kind === kind)) throw err;
  }
}
