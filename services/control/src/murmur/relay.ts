import { randomBytes } from 'node:crypto';
import type { Logger } from '@alloquy/service-kit/log';
import type { Account, AccountService, PasswordSeen } from '../accounts/account-service.js';
import type { Plaintext } from '../accounts/plaintext.js';
import type { Channel, GuildSnapshot, GuildSource, MemberRemoval } from '../guild/model.js';
import type { ControlMetrics } from '../metrics/metrics.js';
import { planAccountSync, stateAfter, type AccountSyncAction } from './account-sync.js';
import { aclMatches, isGuildVoiceAcl, lobbyAcl, lobbyMembers, openLobbyAcl, openVoiceChannelAcl, voiceChannelAcl, voiceGrants } from './acl.js';
import { MurmurRejectedError, MurmurUnavailableError, type MurmurChannel, type MurmurIceClient, type OnlineUser } from './ice-client.js';
import { buildPresence, isMuted, type VoicePresence } from './presence.js';
import type { MurmurAccountState, MurmurStore } from './store.js';
import { foldChannelName, type VoiceChannel, type VoiceChannels } from '../guild/voice-channels.js';
import { grantSets, planVoiceCorrections, ROOT_CHANNEL, stillApplies, type VoiceCorrection, type VoiceGrantSets } from './voice-enforcement.js';

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
  /**
   * The guild: voice-channel ACLs derive from its roles, overwrites and timeouts, and follow its
   * changes live. Without it every account may enter and speak in every voice channel.
   */
  guild?: GuildSource;
  /** The clock the permission math runs on (timeouts). Default Date.now. */
  now?: () => number;
  /**
   * Called after the relay recorded new Murmur channel ids (it created or re-created voice
   * channels in Murmur), so whoever keeps a copy of the channels (the guild snapshot) rereads them.
   */
  murmurChannelIdsChanged?: () => void;
}

export interface MurmurRelayStatus {
  lastSyncAt: string | null;
  lastSyncError: string | null;
  syncs: number;
  /** Where voice-channel ACLs come from: the guild's permissions, or open to every account. */
  voiceAcls: 'guild' | 'open';
  /**
   * Channel ACLs written since start: voice channels and the root channel (only channels whose
   * ACL differed are written).
   */
  aclWrites: number;
  /**
   * Users moved out of a voice channel or (un)suppressed to match the guild, or suppressed in the
   * silent root channel, since start.
   */
  voiceCorrections: number;
}

/**
 * Mirrors Alloquy into Murmur, the way the IRC services link mirrors it into InspIRCd:
 *
 * - every enabled account is a Murmur registration with the same name and password (and the
 *   account's newest client-certificate hash); disabled accounts are unregistered and kicked;
 *   registrations that match no account are removed (Murmur's SuperUser, id 0, is never touched);
 * - every Alloquy voice channel is a Murmur channel under the root, with an ACL derived from the
 *   guild (acl.ts): recomputed on every guild change (coalesced) and whenever an account gets a
 *   Murmur user id; people already inside who lost CONNECT are moved to the root channel, and
 *   who lost or regained SPEAK is (un)suppressed, since Murmur only checks either on a move;
 *   members kicked or banned from the guild are kicked from Murmur;
 * - the root channel is a silent lobby (acl.ts): nobody speaks or makes channels there, and
 *   whoever is not a member of the guild (kicked or banned, still registered) can do nothing but
 *   sit there; its ACL follows the guild's members like the voice channels' ACLs do, and whoever
 *   is found there unsuppressed is suppressed;
 * - who is in which channel is polled every second for `GET /api/v1/voice` and the metrics; the
 *   same poll catches anyone the ACLs say should not be where they are, or heard.
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
  private readonly guild: GuildSource | undefined;
  private readonly now: () => number;
  private readonly murmurChannelIdsChanged: (() => void) | undefined;
  private readonly pollIntervalMs: number;
  private readonly resyncIntervalMs: number;
  private readonly presenceMaxAgeMs: number;

  /** Plaintext passwords not yet pushed to Murmur (it was down, or the sync is queued). */
  private readonly pending = new Map<number, { password: Plaintext; version: number }>();
  private readonly dirty = new Set<number>();
  private drainQueued = false;
  private fullSyncQueued: Promise<void> | undefined;
  private channelSyncQueued: Promise<void> | undefined;
  private correctionsQueued = false;
  /** Set while murmurChannelIdsChanged runs: the guild change it publishes is the relay's own. */
  private notifying = false;
  /** What the relay last wrote into each voice channel's ACL (Murmur channel id → grants); guild mode only. */
  private readonly grants = new Map<number, VoiceGrantSets>();
  /** Whether the root channel's ACL is the silent lobby, as last written or checked. */
  private silentRoot = false;
  private aclWrites = 0;
  private voiceCorrections = 0;
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
    this.guild = options.guild;
    this.now = options.now ?? Date.now;
    this.murmurChannelIdsChanged = options.murmurChannelIdsChanged;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.resyncIntervalMs = options.resyncIntervalMs ?? 5 * 60_000;
    this.presenceMaxAgeMs = options.presenceMaxAgeMs ?? 5000;
  }

  start(): void {
    const { accounts, client, metrics, guild } = this;
    this.unsubscribe.push(accounts.observePasswords((seen) => this.onPassword(seen)));
    const touch = (account: Account) => this.touchAccount(account.id);
    for (const event of ['created', 'password-changed', 'disabled', 'enabled'] as const) {
      accounts.on(event, touch);
      this.unsubscribe.push(() => accounts.off(event, touch));
    }
    if (guild) {
      const onChanged = () => this.touchChannels();
      const onRemoved = (removal: MemberRemoval) => this.onMemberRemoved(removal);
      guild.on('changed', onChanged);
      guild.on('memberRemoved', onRemoved);
      this.unsubscribe.push(
        () => guild.off('changed', onChanged),
        () => guild.off('memberRemoved', onRemoved),
      );
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
      // Murmur may come back with other channels (a new database): correct nobody until the
      // sync that follows its return has written the ACLs again.
      this.grants.clear();
      this.silentRoot = false;
    };
    client.on('up', onUp);
    client.on('down', onDown);
    this.unsubscribe.push(
      () => client.off('up', onUp),
      () => client.off('down', onDown),
    );
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
      voiceAcls: this.guild ? 'guild' : 'open',
      aclWrites: this.aclWrites,
      voiceCorrections: this.voiceCorrections,
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

  /**
   * Syncs the voice channels and their ACLs (after one was created, or the guild changed);
   * coalesced with a channel sync already queued, which covers the change as well.
   */
  syncChannels(): Promise<void> {
    this.channelSyncQueued ??= this.enqueue('channel sync', async () => {
      this.channelSyncQueued = undefined;
      await this.syncChannelsNow();
    });
    return this.channelSyncQueued;
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

  // --- guild events ---------------------------------------------------------------------

  private touchChannels(): void {
    // The guild republishing the Murmur channel ids this relay just recorded grants nobody
    // anything: the pass that recorded them has written the ACLs already.
    if (this.stopped || this.notifying) return;
    void this.syncChannels().catch(() => undefined);
  }

  private onMemberRemoved(removal: MemberRemoval): void {
    if (this.stopped) return;
    const reason = `${removal.kind === 'ban' ? 'Banned' : 'Kicked'} by ${removal.by}${removal.reason ? `: ${removal.reason}` : ''}`;
    void this.enqueue('member removal', async () => {
      // Murmur away: nobody is connected to kick, and they cannot enter a voice channel when it returns.
      if (!this.client.isUp()) return;
      const online = await this.client.getUsers();
      await this.kick(online, this.store.state(removal.accountId)?.murmurUserId, removal.username, reason);
    }).catch(() => undefined);
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
      let newIds = false;
      for (const id of ids) if (await this.syncOneAccount(id)) newIds = true;
      // A new Murmur user id belongs in the channel groups of the member it is: at once, in
      // this task, so the account can log in and find its voice channels open within a moment.
      if (newIds && this.guild) await this.syncChannelsNow();
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

  /** Returns whether the account's Murmur user id changed (registered, unregistered, adopted). */
  private async syncOneAccount(accountId: number): Promise<boolean> {
    const account = this.accounts.byId(accountId);
    const version = this.accounts.passwordVersion(accountId);
    if (!account || version === undefined) {
      this.pending.delete(accountId);
      return false;
    }
    const murmurUserId = await this.client.getUserId(account.username);
    const online = account.disabled ? await this.client.getUsers() : [];
    return this.applyAccount(account, version, murmurUserId, online);
  }

  /**
   * `stored` is what the store holds for the account, when the caller already read it in bulk
   * (the full sync reads every account's state and certificate in two queries, not 2N).
   * Returns whether the account's Murmur user id changed.
   */
  private async applyAccount(
    account: Account,
    version: number,
    murmurUserId: number | undefined,
    online: readonly OnlineUser[],
    stored?: { state: MurmurAccountState | undefined; certHash: string },
  ): Promise<boolean> {
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
    return before?.murmurUserId !== after?.murmurUserId;
  }

  /** Does what the plan says in Murmur; returns the new user id after a registration. */
  private async carryOut(
    account: Account,
    action: AccountSyncAction,
    known: Plaintext | undefined,
    online: readonly OnlineUser[],
  ): Promise<number | undefined> {
    const { client, log } = this;
    const password = (choice: 'known' | 'random' | undefined) =>
      choice === 'known' ? known!.reveal() : choice === 'random' ? randomBytes(24).toString('base64url') : undefined;
    switch (action.kind) {
      case 'none':
        return undefined;
      case 'reserved':
        if (!this.warnedReserved.has(account.id)) {
          this.warnedReserved.add(account.id);
          log.warn({ username: account.username }, "this account has the name of Murmur's SuperUser and cannot use voice");
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
        log.info(
          { username: account.username, murmurUserId: id, murmurPassword: action.password === 'known' ? 'current' : 'random until the next password login' },
          'registered an account in Murmur',
        );
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
        log.debug(
          { username: account.username, murmurPassword: action.password ?? 'unchanged', cert: action.certHash !== undefined },
          'updated a Murmur registration',
        );
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
      const versions = this.accounts.passwordVersions();
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
    const snapshot = this.guild?.snapshot();
    const now = this.now();
    const murmurUserIds = snapshot ? this.murmurUserIds() : undefined;
    await this.syncLobby(snapshot ? lobbyMembers(snapshot, (a) => murmurUserIds!.get(a), now) : undefined);
    const managed = new Set<number>();
    let newIds = false;
    for (const channel of this.channels.list()) {
      const id = await this.ensureMurmurChannel(channel, murmurChannels, byId);
      managed.add(id);
      if (id !== channel.murmurChannelId) newIds = true;
      const grants = snapshot ? voiceGrants(snapshot, guildChannel(snapshot, channel), (a) => murmurUserIds!.get(a), now) : undefined;
      const wanted = grants ? voiceChannelAcl(grants) : openVoiceChannelAcl();
      if (!aclMatches(await this.client.getACL(id), wanted)) {
        await this.client.setACL(id, wanted);
        this.aclWrites += 1;
        this.log.info(
          {
            channel: channel.name,
            murmurChannelId: id,
            ...(grants ? { connect: grants.connect.length, speak: grants.speak.length, mute: grants.mute.length } : {}),
          },
          "wrote a voice channel's ACL to Murmur",
        );
      }
      if (grants) this.grants.set(id, grantSets(grants));
    }
    for (const id of [...this.grants.keys()]) if (!managed.has(id)) this.grants.delete(id);
    if (newIds) this.notifyMurmurChannelIds();
    if (snapshot) await this.removeDeletedChannels(murmurChannels, managed);
    await this.correctUsers();
  }

  /** Makes the root channel's ACL the silent lobby for these members (`auth` without the guild). */
  private async syncLobby(members: readonly number[] | undefined): Promise<void> {
    const wanted = members ? lobbyAcl(members) : openLobbyAcl();
    if (!aclMatches(await this.client.getACL(ROOT_CHANNEL), wanted)) {
      await this.client.setACL(ROOT_CHANNEL, wanted);
      this.aclWrites += 1;
      this.log.info(members ? { members: members.length } : {}, "wrote the root channel's ACL (a silent lobby) to Murmur");
    }
    this.silentRoot = true;
  }

  /** The Murmur channel of a voice channel: found, renamed, or created; its id is recorded. */
  private async ensureMurmurChannel(channel: VoiceChannel, murmurChannels: MurmurChannel[], byId: Map<number, MurmurChannel>): Promise<number> {
    const folded = foldChannelName(channel.name);
    const named = () => murmurChannels.find((c) => c.parentId === 0 && foldChannelName(c.name) === folded);
    let id = channel.murmurChannelId;
    const existing = id === null ? undefined : byId.get(id);
    if (!existing || foldChannelName(existing.name) !== folded) {
      const found = named();
      if (found) id = found.id;
      else if (existing && existing.parentId === 0) {
        // Renamed in the guild: rename in place, so whoever is inside stays.
        await this.client.renameChannel(existing.id, channel.name);
        this.log.info({ from: existing.name, to: channel.name, murmurChannelId: existing.id }, 'renamed a voice channel in Murmur');
        existing.name = channel.name;
      } else {
        id = await this.client.addChannel(channel.name, 0);
        const created = { id, name: channel.name, parentId: 0, position: 0, temporary: false };
        murmurChannels.push(created);
        byId.set(id, created);
        this.log.info({ channel: channel.name, murmurChannelId: id }, 'created a voice channel in Murmur');
      }
    } else if (existing.name !== channel.name) {
      await this.client.renameChannel(existing.id, channel.name);
      existing.name = channel.name;
    }
    if (id !== channel.murmurChannelId) this.channels.setMurmurChannelId(channel.id, id);
    return id!;
  }

  /**
   * Removes Murmur channels that carry the relay's groups but are no voice channel any more (the
   * guild deleted them); Murmur moves whoever is inside to the root. Channels made in Murmur by
   * hand never carry those groups and are left alone.
   */
  private async removeDeletedChannels(murmurChannels: readonly MurmurChannel[], managed: ReadonlySet<number>): Promise<void> {
    for (const c of murmurChannels) {
      if (c.parentId !== 0 || managed.has(c.id)) continue;
      try {
        if (!isGuildVoiceAcl(await this.client.getACL(c.id))) continue;
        await this.client.removeChannel(c.id);
        this.log.info({ channel: c.name, murmurChannelId: c.id }, 'removed a deleted voice channel from Murmur');
      } catch (err) {
        // Gone already (a temporary channel emptied, someone removed it meanwhile).
        if (!(err instanceof MurmurRejectedError && err.kind === 'InvalidChannelException')) throw err;
      }
    }
  }

  private notifyMurmurChannelIds(): void {
    this.notifying = true;
    try {
      this.murmurChannelIdsChanged?.();
    } catch (err) {
      this.log.error({ err }, 'murmurChannelIdsChanged listener threw');
    } finally {
      this.notifying = false;
    }
  }

  /** Account id → Murmur user id, for every account the relay registered. */
  private murmurUserIds(): Map<number, number> {
    const ids = new Map<number, number>();
    for (const [accountId, state] of this.store.states()) ids.set(accountId, state.murmurUserId);
    return ids;
  }

  /** Moves out and (un)suppresses whoever the written ACLs say should not be there, or heard. */
  private async correctUsers(): Promise<void> {
    if (this.grants.size === 0 && !this.silentRoot) return;
    const users = await this.client.getUsers();
    for (const correction of planVoiceCorrections(users, this.grants, this.silentRoot)) await this.correct(correction);
  }

  private async correct(correction: VoiceCorrection): Promise<void> {
    const change = correction.kind === 'move' ? { channelId: correction.to } : { suppress: correction.suppress };
    try {
      const done = await this.client.setState(correction.session, change, (current) => stillApplies(correction, current));
      if (!done) return;
    } catch (err) {
      // They left meanwhile.
      if (err instanceof MurmurRejectedError && err.kind === 'InvalidSessionException') return;
      throw err;
    }
    this.voiceCorrections += 1;
    if (correction.kind === 'move') this.log.info({ username: correction.name, from: correction.from }, 'moved a user without CONNECT out of a voice channel');
    else if (correction.channelId === ROOT_CHANNEL) this.log.info({ username: correction.name }, 'suppressed a user in the root channel (a silent lobby)');
    else
      this.log.info(
        { username: correction.name, channelId: correction.channelId, suppress: correction.suppress },
        correction.suppress ? 'suppressed a user without SPEAK' : 'lifted the suppression of a user with SPEAK',
      );
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
      // Someone entered between an ACL write and its corrections, or a moderator lifted a
      // suppression the guild wants: fix it through the queue, like every other write.
      const watching = this.grants.size > 0 || this.silentRoot;
      if (!this.correctionsQueued && watching && planVoiceCorrections(users, this.grants, this.silentRoot).length > 0) {
        this.correctionsQueued = true;
        void this.enqueue('voice corrections', async () => {
          this.correctionsQueued = false;
          if (this.client.isUp()) await this.correctUsers();
        }).catch(() => undefined);
      }
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

/** The guild's view of a voice channel; one it does not know yet (created a moment ago) has no overwrites. */
function guildChannel(snapshot: GuildSnapshot, channel: VoiceChannel): Channel {
  const id = String(channel.id);
  return (
    snapshot.channels.find((c) => c.kind === 'voice' && c.id === id) ?? {
      id,
      kind: 'voice',
      name: channel.name,
      topic: '',
      position: 0,
      categoryId: null,
      overwrites: [],
      murmurChannelId: channel.murmurChannelId,
      createdAt: channel.createdAt,
    }
  );
}
