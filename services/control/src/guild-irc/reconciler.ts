/**
 * Keeps InspIRCd in line with the guild model, live: HistServ holds every text channel, and
 * each channel's modes, ban/exception/invite lists, operators, members and topic are made to
 * match what desired.ts derives from the newest snapshot.
 *
 * When: once the link is up (after the hub's burst), after every guild change (coalesced),
 * after anything the hub reports that may break the model (a join, a mode or topic change by
 * someone else, a login or logout, HistServ being killed), and when a timeout ends. Each run
 * diffs desired against NetworkState and sends only the difference; our own changes are
 * applied to NetworkState as we send them, so a run that finds nothing to do sends nothing.
 */
import { type Channel, type GuildChange, type GuildSnapshot, type GuildSource, type MemberRemoval, textChannelByIrcName } from '../guild/model.js';
import { type ChannelEvent, type LinkLogger, type PseudoClientHandle, type ServicesLink, foldCase, sanitizeText } from '../irc-link/index.js';
import { accountMask, desiredGuild, type DesiredChannel, type DesiredGuild } from './desired.js';
import { KICK_REASONS, MODE_NAMES, planChannel, planForeignChannel, type DiffContext, type ModeLetters, type UserView } from './diff.js';

/** Called when a user whose account has MANAGE_CHANNELS changes a guild channel's topic on IRC. */
export type TopicFromIrc = (account: string, channel: Channel, topic: string) => void | Promise<void>;

export interface GuildIrcEnforcementOptions {
  readonly link: ServicesLink;
  readonly guild: GuildSource;
  /** The pseudo-client that holds the channels (HistServ). */
  readonly holder: PseudoClientHandle;
  readonly log: LinkLogger;
  /**
   * Takes a topic set on IRC into the model (e.g. GuildService.updateChannel). Without it,
   * every topic change on IRC is reverted. When it throws or rejects, the topic is reverted.
   */
  readonly onTopicFromIrc?: TopicFromIrc;
  /**
   * `+H` (chanhistory) parameter for channels that have none, e.g. '50:7d' (the join replay
   * stock clients get); null leaves history modes alone. Default '50:7d'.
   */
  readonly history?: string | null;
  /**
   * `#` channels outside the guild model that something else owns (e.g. direct-message
   * channels) and that must not be closed as ad-hoc channels. Default: none.
   */
  readonly ownedElsewhere?: (ircName: string) => boolean;
  /** Wait this long after a change before reconciling, to coalesce bursts. Default 20 ms. */
  readonly coalesceMs?: number;
  readonly now?: () => number;
}

export interface GuildIrcEnforcementCounters {
  readonly runs: number;
  readonly joins: number;
  readonly parts: number;
  readonly kicks: number;
  readonly modeLines: number;
  readonly topics: number;
  readonly topicsFromIrc: number;
  readonly errors: number;
}

export interface GuildIrcEnforcement {
  /** Reconcile every channel now (normally not needed: changes schedule runs themselves). */
  reconcileNow(): void;
  /** Resolves once no run is scheduled (for tests). */
  settled(): Promise<void>;
  counters(): GuildIrcEnforcementCounters;
  stop(): void;
}

/** The KICK reason for a kick or ban in the guild, e.g. "Banned by bob: spam". */
export function removalReason(removal: MemberRemoval): string {
  const what = removal.kind === 'ban' ? 'Banned' : 'Kicked';
  return removal.reason.length > 0 ? `${what} by ${removal.by}: ${removal.reason}` : `${what} by ${removal.by}`;
}

export function startGuildIrcEnforcement(options: GuildIrcEnforcementOptions): GuildIrcEnforcement {
  return new Reconciler(options);
}

const MAX_TIMER_MS = 2 ** 31 - 1;

class Reconciler implements GuildIrcEnforcement {
  private readonly link: ServicesLink;
  private readonly guild: GuildSource;
  private readonly holder: PseudoClientHandle;
  private readonly log: LinkLogger;
  private readonly now: () => number;
  private readonly history: string | null;
  private readonly coalesceMs: number;
  private desired: DesiredGuild | null = null;
  private desiredOf: GuildSnapshot | null = null;
  /** Folded channel names to look at, or 'all'. */
  private dirty: Set<string> | 'all' = new Set();
  private timer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  /** Folded channel names whose topic is being taken into the model right now. */
  private readonly topicsInFlight = new Set<string>();
  private settledWaiters: Array<() => void> = [];
  private stopped = false;
  private readonly count = { runs: 0, joins: 0, parts: 0, kicks: 0, modeLines: 0, topics: 0, topicsFromIrc: 0, errors: 0 };

  private readonly onUp = (): void => {
    this.checkHub();
    this.schedule('all');
  };
  private readonly onReintroduced = (client: PseudoClientHandle): void => {
    if (client.uid === this.holder.uid) this.schedule('all');
  };
  private readonly onChannel = (event: ChannelEvent): void => this.channelEvent(event);
  private readonly onAccount = ({ uid }: { uid: string; account: string | null }): void => {
    const user = this.link.network.users.get(uid);
    if (user) for (const key of user.channels) this.schedule(key);
  };
  private readonly onChanged = (_snapshot: GuildSnapshot, _change: GuildChange): void => this.schedule('all');
  private readonly onMemberRemoved = (removal: MemberRemoval): void => this.memberRemoved(removal);

  constructor(private readonly options: GuildIrcEnforcementOptions) {
    this.link = options.link;
    this.guild = options.guild;
    this.holder = options.holder;
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.history = options.history === undefined ? '50:7d' : options.history;
    this.coalesceMs = options.coalesceMs ?? 20;
    this.link.on('up', this.onUp);
    this.link.on('reintroduced', this.onReintroduced);
    this.link.on('channel', this.onChannel);
    this.link.on('account', this.onAccount);
    this.guild.on('changed', this.onChanged);
    this.guild.on('memberRemoved', this.onMemberRemoved);
    if (this.link.isUp) this.onUp();
  }

  reconcileNow(): void {
    this.dirty = 'all';
    this.run();
  }

  settled(): Promise<void> {
    if (this.timer === null) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  counters(): GuildIrcEnforcementCounters {
    return { ...this.count };
  }

  stop(): void {
    this.stopped = true;
    this.link.off('up', this.onUp);
    this.link.off('reintroduced', this.onReintroduced);
    this.link.off('channel', this.onChannel);
    this.link.off('account', this.onAccount);
    this.guild.off('changed', this.onChanged);
    this.guild.off('memberRemoved', this.onMemberRemoved);
    if (this.timer) clearTimeout(this.timer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.timer = null;
    this.expiryTimer = null;
    for (const resolve of this.settledWaiters.splice(0)) resolve();
  }

  /**
   * Say once per link what the hub cannot enforce: the account (R:) and mute (m:) extbans come
   * from services_account and muteban, the modes by name from CAPAB CHANMODES.
   */
  private checkHub(): void {
    const capab = this.link.capabilities;
    if (!capab) return;
    const extbans = capab.capabilities.get('EXTBANS') ?? '';
    const missingExtbans = ['R', 'm'].filter((letter) => !extbans.includes(letter));
    const missingModes = MODE_NAMES.filter((name) => name !== 'voice' && name !== 'history' && capab.channelModeLetter(name) === undefined);
    if (missingExtbans.length > 0 || missingModes.length > 0) {
      this.log.error(
        { missingExtbans, missingModes },
        'InspIRCd lacks what guild enforcement needs (load services_account, muteban, banexception, inviteexception); those rules are not enforced on IRC',
      );
    }
  }

  // ---- scheduling ---------------------------------------------------------------------------

  private schedule(what: string | 'all'): void {
    if (this.stopped) return;
    if (what === 'all') this.dirty = 'all';
    else if (this.dirty !== 'all') this.dirty.add(foldCase(what));
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
      for (const resolve of this.settledWaiters.splice(0)) resolve();
    }, this.coalesceMs);
  }

  private run(): void {
    const dirty = this.dirty;
    this.dirty = new Set();
    if (this.stopped || !this.link.isUp) return;
    this.count.runs++;
    try {
      const desired = this.currentDesired();
      // The hub's mode letters and limits are fixed for the link: resolve them once per run.
      const ctx = this.diffContext();
      const keys = dirty === 'all' ? this.allChannelKeys(desired) : dirty;
      for (const key of keys) this.reconcileChannel(key, desired, ctx);
    } catch (err) {
      this.count.errors++;
      this.log.error({ err }, 'IRC guild enforcement run failed');
    }
  }

  private allChannelKeys(desired: DesiredGuild): Set<string> {
    const keys = new Set(desired.channels.keys());
    for (const key of this.link.network.channels.keys()) keys.add(key);
    return keys;
  }

  /** The desired state, recomputed when the snapshot changed or a timeout has ended since. */
  private currentDesired(): DesiredGuild {
    const snapshot = this.guild.snapshot();
    const now = this.now();
    const cached = this.desired;
    if (cached && this.desiredOf === snapshot && (cached.validUntil === null || now < cached.validUntil)) return cached;
    const desired = desiredGuild(snapshot, now);
    this.desired = desired;
    this.desiredOf = snapshot;
    this.armExpiry(desired.validUntil, now);
    return desired;
  }

  /** GuildService republishes when a timeout ends; this is the guard if a source does not. */
  private armExpiry(validUntil: number | null, now: number): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    if (validUntil === null || this.stopped) return;
    this.expiryTimer = setTimeout(
      () => {
        this.expiryTimer = null;
        this.schedule('all');
      },
      Math.min(Math.max(0, validUntil - now) + 5, MAX_TIMER_MS),
    );
    this.expiryTimer.unref();
  }

  // ---- one channel --------------------------------------------------------------------------

  private reconcileChannel(key: string, desired: DesiredGuild, ctx: DiffContext): void {
    if (!key.startsWith('#')) return;
    const wanted = desired.channels.get(key);
    if (wanted) this.enforce(wanted, ctx);
    else if (!this.options.ownedElsewhere?.(key)) this.foreign(key, desired.adhocChannels, ctx);
  }

  private diffContext(): DiffContext {
    const capab = this.link.capabilities;
    const letters: Record<string, string> = {};
    for (const name of MODE_NAMES) {
      const letter = capab?.channelModeLetter(name);
      if (letter !== undefined) letters[name] = letter;
    }
    const maxTopic = capab?.limit('MAXTOPIC', 307) ?? 307;
    return {
      letters: letters as ModeLetters,
      user: (uid) => this.userView(uid),
      holder: this.holder.uid,
      history: this.history,
      fitTopic: (topic) => sanitizeText(topic, maxTopic),
    };
  }

  private userView(uid: string): UserView | undefined {
    const user = this.link.network.users.get(uid);
    return user ? { account: user.account, ours: this.link.isOurClient(uid) } : undefined;
  }

  private enforce(wanted: DesiredChannel, ctx: DiffContext): void {
    let actual = this.link.network.findChannel(wanted.ircName);
    if (!actual || !actual.members.has(this.holder.uid) || actual.ts > wanted.ts) {
      // The older timestamp wins: keep the hub's when older, so its modes and history stay.
      const ts = actual ? Math.min(actual.ts, wanted.ts) : wanted.ts;
      if (this.link.joinChannel(this.holder.uid, wanted.ircName, ts, ctx.letters.op ?? '')) this.count.joins++;
      actual = this.link.network.findChannel(wanted.ircName);
      if (!actual) return;
    }
    const plan = planChannel(wanted, actual, ctx);
    for (const kick of plan.kicks) {
      if (this.link.kick(this.holder.uid, wanted.ircName, kick.uid, kick.reason)) this.count.kicks++;
    }
    if (plan.modes.length > 0) this.count.modeLines += this.link.setChannelModes(wanted.ircName, plan.modes);
    const key = foldCase(wanted.ircName);
    if (plan.topic !== null && !this.topicsInFlight.has(key)) {
      if (this.link.setTopic(wanted.ircName, plan.topic, this.holder.nick)) this.count.topics++;
    }
    if (plan.kicks.length > 0 || plan.modes.length > 0) {
      this.log.debug({ channel: wanted.ircName, kicks: plan.kicks.length, modes: plan.modes.length }, 'enforced guild channel on IRC');
    }
  }

  private foreign(key: string, adhocChannels: boolean, ctx: DiffContext): void {
    const actual = this.link.network.channels.get(key);
    if (!actual) return;
    const name = actual.name;
    const plan = planForeignChannel(actual, ctx, adhocChannels);
    // Leave first, so the users still inside see HistServ go before they are shown out.
    if (plan.part && this.link.partChannel(this.holder.uid, name, KICK_REASONS.removed)) this.count.parts++;
    for (const kick of plan.kicks) {
      if (this.link.kick(this.holder.uid, name, kick.uid, kick.reason)) this.count.kicks++;
    }
  }

  // ---- events -------------------------------------------------------------------------------

  private channelEvent(event: ChannelEvent): void {
    if (event.kind === 'topic') {
      this.topicFromIrc(event.channel, event.source, event.topic);
      return;
    }
    // A part needs nothing, unless it was HistServ leaving (kicked or parted by force).
    if (event.kind === 'leave' && event.uid !== this.holder.uid) return;
    this.schedule(event.channel);
  }

  private topicFromIrc(channelName: string, source: string, topic: string): void {
    const key = foldCase(channelName);
    const user = this.link.network.users.get(source);
    const snapshot = this.guild.snapshot();
    const channel = textChannelByIrcName(snapshot, channelName);
    // Servers (the hub's burst) and our own clients are not users changing topics.
    if (!user || this.link.isOurClient(source) || !channel || !this.link.isUp) {
      this.schedule(key);
      return;
    }
    const desired = this.currentDesired().channels.get(key);
    const access = user.account === null ? undefined : desired?.access.get(foldCase(user.account));
    const callback = this.options.onTopicFromIrc;
    if (!callback || !access?.manageChannel || topic === channel.topic) {
      this.schedule(key);
      return;
    }
    const account = user.account!;
    this.topicsInFlight.add(key);
    const done = (err?: unknown): void => {
      this.topicsInFlight.delete(key);
      if (err === undefined) this.count.topicsFromIrc++;
      else this.log.warn({ err, channel: channelName, account }, 'topic set on IRC not taken into the guild; reverting it');
      this.schedule(key);
    };
    try {
      const result = callback(account, channel, topic);
      if (result && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).then(() => done(), done);
      else done();
    } catch (err) {
      done(err);
    }
  }

  /**
   * A kick or ban, announced just before the guild changes: show the user out of every guild
   * channel with who did it and why, and shut open channels on their account at once (the
   * reconcile after the change keeps that ban, since they are no longer a member).
   */
  private memberRemoved(removal: MemberRemoval): void {
    if (!this.link.isUp) return;
    const reason = removalReason(removal);
    const snapshot = this.guild.snapshot();
    const ban = this.link.capabilities?.channelModeLetter('ban');
    if (ban !== undefined) {
      const mask = accountMask(removal.username);
      for (const desired of this.currentDesired().channels.values()) {
        if (desired.inviteOnly || this.link.network.findChannel(desired.ircName)?.lists.get(ban)?.has(mask)) continue;
        this.count.modeLines += this.link.setChannelModes(desired.ircName, [{ adding: true, letter: ban, param: mask }]);
      }
    }
    for (const user of this.link.network.usersByAccount(removal.username)) {
      for (const key of [...user.channels]) {
        const channel = this.link.network.channels.get(key);
        if (!channel || !textChannelByIrcName(snapshot, channel.name)) continue;
        if (this.link.kick(this.holder.uid, channel.name, user.uid, reason)) this.count.kicks++;
      }
    }
    this.schedule('all');
  }
}
