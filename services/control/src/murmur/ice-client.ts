import { EventEmitter } from 'node:events';
import type { Logger } from '@alloquy/service-kit/log';
import { loadSlice, type IceNamespace, type IceRuntime, type MurmurNamespace, type MurmurRuntime } from './slice.js';

/**
 * A typed client for one Murmur virtual server over ZeroC Ice: Murmur's `Meta` object on its
 * loopback Ice endpoint, with the write secret in every request's context (`secret`).
 *
 * It keeps itself connected: a loop connects (checks the endpoint really is Murmur, that the
 * virtual server runs and that the secret is accepted), then sends a heartbeat every second.
 * A failed call or heartbeat, or Murmur's uptime going backwards (it restarted between two
 * heartbeats and Ice reconnected transparently), is `down`; it reconnects with backoff and
 * says `up` again, which is the relay's cue to re-sync. While down, every call fails at once
 * with `MurmurUnavailableError` rather than waiting on timeouts.
 */

/** Someone connected to Murmur (Murmur's `User`, trimmed to what Alloquy reads). */
export interface OnlineUser {
  session: number;
  /** Murmur's registered user id, -1 for an unregistered (anonymous) user. */
  userId: number;
  name: string;
  channelId: number;
  mute: boolean;
  deaf: boolean;
  suppress: boolean;
  selfMute: boolean;
  selfDeaf: boolean;
}

export interface MurmurChannel {
  id: number;
  name: string;
  /** -1 for the root channel. */
  parentId: number;
  position: number;
  temporary: boolean;
}

export interface AclEntry {
  applyHere: boolean;
  applySubs: boolean;
  /** Set by Murmur on entries inherited from a parent channel; ignored when writing. */
  inherited: boolean;
  /** -1 when the entry names a group. */
  userId: number;
  group: string;
  allow: number;
  deny: number;
}

export interface AclGroup {
  name: string;
  inherited: boolean;
  inherit: boolean;
  inheritable: boolean;
  add: number[];
  remove: number[];
  members: number[];
}

export interface ChannelAcl {
  acls: AclEntry[];
  groups: AclGroup[];
  inherit: boolean;
}

/** What {@link MurmurIceClient.setState} may change; unset fields stay as they are. */
export interface UserStateChange {
  channelId?: number;
  mute?: boolean;
  deaf?: boolean;
  suppress?: boolean;
}

/** Fields of a Murmur registration. The password is write-only: Murmur stores a PBKDF2 hash. */
export interface RegistrationUpdate {
  name?: string;
  password?: string;
  /** SHA-1 of the user's client certificate (hex); '' clears it. */
  certHash?: string;
}

export interface Registration {
  name: string;
  certHash: string;
}

/** Murmur's permission bits (Murmur.ice `Permission*`). */
export const Permission = {
  Write: 0x01,
  Traverse: 0x02,
  Enter: 0x04,
  Speak: 0x08,
  MuteDeafen: 0x10,
  Move: 0x20,
  MakeChannel: 0x40,
  LinkChannel: 0x80,
  Whisper: 0x100,
  TextMessage: 0x200,
  MakeTempChannel: 0x400,
  Kick: 0x10000,
  Ban: 0x20000,
  Register: 0x40000,
  RegisterSelf: 0x80000,
} as const;

/** Murmur cannot be reached, its virtual server is not running, or it refused our secret. */
export class MurmurUnavailableError extends Error {
  override name = 'MurmurUnavailableError';
}

/** Murmur refused a call (an unknown user, session or channel, a taken name...). */
export class MurmurRejectedError extends Error {
  override name = 'MurmurRejectedError';
  constructor(
    /** The Slice exception, e.g. `InvalidUserException`. */
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

export interface MurmurIceOptions {
  host: string;
  port: number;
  secret: string;
  serverId: number;
  log: Logger;
  /** Per-call limit (Ice invocation timeout). Default 5000 ms. */
  invocationTimeoutMs?: number;
  /** TCP connect limit. Default 3000 ms. */
  connectTimeoutMs?: number;
  heartbeatMs?: number;
  /** Reconnect backoff: from min, doubling, up to max. Defaults 250 ms and 2000 ms (a loopback connect attempt is cheap). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface MurmurIceStatus {
  state: 'connecting' | 'up' | 'down' | 'stopped';
  since: string;
  endpoint: string;
  serverId: number;
  connects: number;
  lastError: string | null;
  version: string | null;
}

export interface MurmurIceEvents {
  /** Connected (first time, or again after Murmur went away or restarted). */
  up: [{ version: string; uptimeSeconds: number }];
  down: [{ reason: string }];
}

/** A session id Murmur never hands out: kicking it tests the write secret without side effects. */
const PROBE_SESSION = 2 ** 31 - 1;

export class MurmurIceClient extends EventEmitter<MurmurIceEvents> {
  private readonly Ice: IceRuntime;
  private readonly Murmur: MurmurRuntime;
  private communicator: IceNamespace.Communicator | undefined;
  private meta: MurmurNamespace.MetaPrx | undefined;
  private server: MurmurNamespace.ServerPrx | undefined;
  private state: MurmurIceStatus['state'] = 'connecting';
  private since = Date.now();
  private lastError: string | null = null;
  private connects = 0;
  private version: string | null = null;
  private uptime = 0;
  private running = false;
  private wake: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private readonly opts: Required<Omit<MurmurIceOptions, 'log'>> & { log: Logger };

  constructor(options: MurmurIceOptions) {
    super();
    const { Ice, Murmur } = loadSlice();
    this.Ice = Ice;
    this.Murmur = Murmur;
    this.opts = {
      invocationTimeoutMs: 5000,
      connectTimeoutMs: 3000,
      heartbeatMs: 1000,
      minBackoffMs: 250,
      maxBackoffMs: 2000,
      ...options,
    };
  }

  get endpoint(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  isUp(): boolean {
    return this.state === 'up';
  }

  status(): MurmurIceStatus {
    return {
      state: this.state,
      since: new Date(this.since).toISOString(),
      endpoint: this.endpoint,
      serverId: this.opts.serverId,
      connects: this.connects,
      lastError: this.lastError,
      version: this.version,
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const init = new this.Ice.InitializationData();
    init.properties = this.Ice.createProperties();
    // The secret rides in every request's context; Murmur checks it per call.
    init.properties.setProperty('Ice.ImplicitContext', 'Shared');
    init.properties.setProperty('Ice.Default.InvocationTimeout', String(this.opts.invocationTimeoutMs));
    // Quiet: failures surface as exceptions and in health, not as Ice's own console output.
    init.properties.setProperty('Ice.Warn.Connections', '0');
    init.logger = iceLogger(this.opts.log);
    this.communicator = this.Ice.initialize(init);
    this.communicator.getImplicitContext().put('secret', this.opts.secret);
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loopDone;
    this.setConnectionState('stopped', null);
    await this.communicator?.destroy();
    this.communicator = undefined;
  }

  private async loop(): Promise<void> {
    let backoff = this.opts.minBackoffMs;
    while (this.running) {
      if (this.state !== 'up') {
        try {
          await this.connect();
          backoff = this.opts.minBackoffMs;
        } catch (err) {
          if (!this.running) break;
          this.markDown(this.reasonFor(err));
          await this.sleep(backoff);
          backoff = Math.min(backoff * 2, this.opts.maxBackoffMs);
          continue;
        }
      }
      await this.sleep(this.opts.heartbeatMs);
      if (!this.running || this.state !== 'up') continue;
      try {
        const uptime = await this.meta!.getUptime();
        if (uptime < this.uptime) {
          this.markDown('Murmur restarted');
          continue;
        }
        this.uptime = uptime;
      } catch (err) {
        this.markDown(this.reasonFor(err));
      }
    }
  }

  private reasonFor(err: unknown): string {
    if (err instanceof this.Murmur.InvalidSecretException) {
      return "Murmur rejected the Ice write secret (its icesecretwrite differs from the control server's murmur.iceSecretPath)";
    }
    if (err instanceof this.Murmur.ServerBootedException) return `Murmur's virtual server ${this.opts.serverId} is not running`;
    return describeIceError(err);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = () => done();
      this.wake = wake;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private async connect(): Promise<void> {
    const { host, port, connectTimeoutMs, invocationTimeoutMs, serverId } = this.opts;
    const base = this.communicator!.stringToProxy(`Meta:tcp -h ${host} -p ${port} -t ${connectTimeoutMs}`).ice_invocationTimeout(invocationTimeoutMs);
    const meta = await this.Murmur.MetaPrx.checkedCast(base);
    if (!meta) throw new Error(`the Ice endpoint ${this.endpoint} is not Murmur (no Murmur::Meta object)`);
    const server = await meta.getServer(serverId);
    if (!server) throw new Error(`Murmur has no virtual server ${serverId}`);
    const proxy = server.ice_invocationTimeout(invocationTimeoutMs);
    if (!(await proxy.isRunning())) throw new Error(`Murmur's virtual server ${serverId} is not running`);
    try {
      await proxy.kickUser(PROBE_SESSION, '');
    } catch (err) {
      if (!(err instanceof this.Murmur.InvalidSessionException)) throw err;
    }
    const [major, minor, patch] = await meta.getVersion();
    this.uptime = await meta.getUptime();
    this.meta = meta;
    this.server = proxy;
    this.version = `${major}.${minor}.${patch}`;
    this.connects += 1;
    this.setConnectionState('up', null);
    this.opts.log.info({ endpoint: this.endpoint, serverId, version: this.version }, 'connected to Murmur over Ice');
    this.emit('up', { version: this.version, uptimeSeconds: this.uptime });
  }

  private setConnectionState(state: MurmurIceStatus['state'], error: string | null): void {
    if (state !== this.state) this.since = Date.now();
    this.state = state;
    if (error !== null || state === 'up') this.lastError = error;
  }

  /** Marks the connection down (once) and wakes the loop to reconnect. */
  private markDown(reason: string): void {
    const wasUp = this.state === 'up';
    const firstFailure = this.state === 'connecting';
    this.setConnectionState('down', reason);
    if (wasUp || firstFailure) {
      this.opts.log.warn({ endpoint: this.endpoint, reason }, 'Murmur unavailable');
      this.emit('down', { reason });
    }
    this.wake?.();
  }

  /** Runs one call against the virtual server, mapping Ice failures onto our two error types. */
  private async call<T>(what: string, fn: (server: MurmurNamespace.ServerPrx) => PromiseLike<T>): Promise<T> {
    const server = this.server;
    if (this.state !== 'up' || !server) {
      throw new MurmurUnavailableError(`Murmur is not connected (${this.lastError ?? this.state})`);
    }
    try {
      return await fn(server);
    } catch (err) {
      throw this.translate(what, err);
    }
  }

  private translate(what: string, err: unknown): Error {
    const { Ice, Murmur } = this;
    if (err instanceof Murmur.ServerBootedException || err instanceof Murmur.InvalidSecretException || err instanceof Ice.LocalException) {
      const reason = this.reasonFor(err);
      if (this.running) this.markDown(reason);
      return new MurmurUnavailableError(`${what}: ${reason}`);
    }
    if (err instanceof Ice.UserException) {
      const kind = (err as IceNamespace.UserException).ice_id().replace(/^::Murmur::/, '');
      return new MurmurRejectedError(kind, `${what}: Murmur answered ${kind}`);
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  // --- typed calls ------------------------------------------------------------------------

  async getUsers(): Promise<OnlineUser[]> {
    const users = await this.call('getUsers', (s) => s.getUsers());
    return [...users.values()].map(toOnlineUser);
  }

  /** One connected user's state (Murmur's `getState`); InvalidSessionException once they left. */
  async getState(session: number): Promise<OnlineUser> {
    return toOnlineUser(await this.call('getState', (s) => s.getState(session)));
  }

  /**
   * Changes what Ice may change of a connected user (Murmur's `setState`): move them, server-mute
   * or deafen them, or suppress them. Murmur's setState takes the whole user record, so the
   * current one is read first and only the given fields change. With `onlyIf`, nothing changes
   * unless it holds for the state just read (the user may have moved since the caller looked).
   * Returns the user as set, or undefined when `onlyIf` said no.
   */
  async setState(session: number, change: UserStateChange, onlyIf?: (current: OnlineUser) => boolean): Promise<OnlineUser | undefined> {
    return this.call('setState', async (s) => {
      const state = await s.getState(session);
      if (onlyIf && !onlyIf(toOnlineUser(state))) return undefined;
      if (change.channelId !== undefined) state.channel = change.channelId;
      if (change.mute !== undefined) state.mute = change.mute;
      if (change.deaf !== undefined) state.deaf = change.deaf;
      if (change.suppress !== undefined) state.suppress = change.suppress;
      await s.setState(state);
      return toOnlineUser(state);
    });
  }

  async getChannels(): Promise<MurmurChannel[]> {
    const channels = await this.call('getChannels', (s) => s.getChannels());
    return [...channels.values()].map((c) => ({ id: c.id, name: c.name, parentId: c.parent, position: c.position, temporary: c.temporary }));
  }

  /** Every registration: Murmur user id → name (id 0 is Murmur's own SuperUser). */
  getRegisteredUsers(): Promise<Map<number, string>> {
    return this.call('getRegisteredUsers', (s) => s.getRegisteredUsers(''));
  }

  /** Murmur's user id for a name (Murmur compares names case-insensitively), or undefined. */
  async getUserId(name: string): Promise<number | undefined> {
    const ids = await this.call('getUserIds', (s) => s.getUserIds([name]));
    const id = ids.get(name);
    return id === undefined || id < 0 ? undefined : id;
  }

  async getRegistration(userId: number): Promise<Registration> {
    const info = await this.call('getRegistration', (s) => s.getRegistration(userId));
    const { UserInfo } = this.Murmur;
    return { name: info.get(UserInfo.UserName) ?? '', certHash: info.get(UserInfo.UserHash) ?? '' };
  }

  registerUser(registration: RegistrationUpdate & { name: string }): Promise<number> {
    return this.call('registerUser', (s) => s.registerUser(this.infoMap(registration)));
  }

  updateRegistration(userId: number, update: RegistrationUpdate): Promise<void> {
    if (userId === 0) throw new Error('refusing to change Murmur SuperUser (user id 0)');
    return this.call('updateRegistration', (s) => s.updateRegistration(userId, this.infoMap(update)));
  }

  unregisterUser(userId: number): Promise<void> {
    if (userId === 0) throw new Error('refusing to unregister Murmur SuperUser (user id 0)');
    return this.call('unregisterUser', (s) => s.unregisterUser(userId));
  }

  /** -1 for unknown users, -2 for unknown names (Murmur.ice verifyPassword). */
  verifyPassword(name: string, password: string): Promise<number> {
    return this.call('verifyPassword', (s) => s.verifyPassword(name, password));
  }

  kickUser(session: number, reason: string): Promise<void> {
    return this.call('kickUser', (s) => s.kickUser(session, reason));
  }

  addChannel(name: string, parentId: number): Promise<number> {
    return this.call('addChannel', (s) => s.addChannel(name, parentId));
  }

  /** Renames a channel in place: the people in it stay. */
  renameChannel(channelId: number, name: string): Promise<void> {
    return this.call('setChannelState', async (s) => {
      const channel = await s.getChannelState(channelId);
      channel.name = name;
      await s.setChannelState(channel);
    });
  }

  removeChannel(channelId: number): Promise<void> {
    return this.call('removeChannel', (s) => s.removeChannel(channelId));
  }

  async getACL(channelId: number): Promise<ChannelAcl> {
    const [acls, groups, inherit] = await this.call('getACL', (s) => s.getACL(channelId));
    return {
      acls: acls.map((a) => ({
        applyHere: a.applyHere,
        applySubs: a.applySubs,
        inherited: a.inherited,
        userId: a.userid,
        group: a.group,
        allow: a.allow,
        deny: a.deny,
      })),
      groups: groups.map((g) => ({
        name: g.name,
        inherited: g.inherited,
        inherit: g.inherit,
        inheritable: g.inheritable,
        add: [...g.add],
        remove: [...g.remove],
        members: [...g.members],
      })),
      inherit,
    };
  }

  /** Replaces the channel's own ACL entries and groups (inherited ones are Murmur's to compute). */
  setACL(channelId: number, acl: ChannelAcl): Promise<void> {
    const { Murmur } = this;
    const acls = acl.acls.filter((a) => !a.inherited).map((a) => new Murmur.ACL(a.applyHere, a.applySubs, false, a.userId, a.group, a.allow, a.deny));
    const groups = acl.groups.filter((g) => !g.inherited).map((g) => new Murmur.Group(g.name, false, g.inherit, g.inheritable, g.add, g.remove, []));
    return this.call('setACL', (s) => s.setACL(channelId, acls, groups, acl.inherit));
  }

  private infoMap(update: RegistrationUpdate): MurmurNamespace.UserInfoMap {
    const { UserInfo } = this.Murmur;
    const info = new Map<MurmurNamespace.UserInfo, string>();
    if (update.name !== undefined) info.set(UserInfo.UserName, update.name);
    if (update.password !== undefined) info.set(UserInfo.UserPassword, update.password);
    if (update.certHash !== undefined) info.set(UserInfo.UserHash, update.certHash);
    return info as MurmurNamespace.UserInfoMap;
  }
}

function toOnlineUser(u: MurmurNamespace.User): OnlineUser {
  return {
    session: u.session,
    userId: u.userid,
    name: u.name,
    channelId: u.channel,
    mute: u.mute,
    deaf: u.deaf,
    suppress: u.suppress,
    selfMute: u.selfMute,
    selfDeaf: u.selfDeaf,
  };
}

/** A one-line reason for logs and health: the Ice exception's id and, when any, its detail. */
export function describeIceError(err: unknown): string {
  if (err && typeof err === 'object' && 'ice_id' in err && typeof (err as { ice_id: unknown }).ice_id === 'function') {
    const id = (err as { ice_id(): string }).ice_id();
    const detail = (err as { message?: string }).message;
    return detail && !detail.includes(id) ? `${id}: ${detail}` : id;
  }
  return err instanceof Error ? err.message : String(err);
}

function iceLogger(log: Logger): IceNamespace.Logger {
  const logger: IceNamespace.Logger = {
    print: (message) => log.info({ ice: true }, message),
    trace: (category, message) => log.debug({ ice: true, category }, message),
    warning: (message) => log.debug({ ice: true }, message),
    error: (message) => log.warn({ ice: true }, message),
    getPrefix: () => '',
    cloneWithPrefix: () => logger,
  };
  return logger;
}
