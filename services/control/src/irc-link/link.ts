/**
 * ServicesLink: the control server's server-to-server link into InspIRCd 3 (spanning-tree
 * protocol 1205), the way Anope and Atheme link as a U-lined services server.
 *
 * Handshake (we connect, InspIRCd accepts):
 *   hub: CAPAB START 1205            us: CAPAB START 1205
 *   hub: CAPAB MODULES/MODSUPPORT/CHANMODES/USERMODES/CAPABILITIES, CAPAB END
 *   us:  CAPAB CAPABILITIES :CASEMAPPING=<hub's> CHALLENGE=<ours>, CAPAB END,
 *        SERVER <name> <password or AUTH:hmac> 0 <sid> :<description>
 *   hub: SERVER <name> <password or AUTH:hmac> 0 <sid> :<description>
 *   us:  BURST, UID <agent and every other pseudo-client>, METADATA * saslmechlist :PLAIN, ENDBURST
 *   hub: BURST, SERVER/UID/FJOIN/FMODE/FTOPIC/METADATA..., ENDBURST       → link is up
 *
 * Once up, services act on channels through joinChannel/setChannelModes/setTopic/kick/
 * partChannel (FJOIN, FMODE, FTOPIC, KICK, PART). The hub never echoes those back, so each
 * also updates `network` the way the hub applies it; what the hub changes arrives as
 * `channel` and `account` events after `network` is updated.
 *
 * We never send CAPAB MODULES/CHANMODES/USERMODES: InspIRCd compares those against its own
 * and refuses the link on mismatch; services send only CAPABILITIES, like Anope does.
 *
 * Failure policy: any unknown or malformed inbound line is counted and ignored; the link is
 * only dropped when the hub says so (ERROR, SQUIT of us), the socket fails, or PINGs go
 * unanswered. After every drop we reconnect with jittered exponential backoff.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';

import { inboundHandlers, type ChannelEvent, type InboundChatMessage, type LinkContext } from './handlers.js';
import { DEFAULT_MAX_BODY_BYTES, parseLine, serializeMessage, type IrcMessage, type OutgoingMessage } from '@alloquy/protocol/irc';
import { silentLogger, type LinkLogger } from './logger.js';
import { arePrefixModes, packModeChanges, type ModeChange } from './modes.js';
import { NetworkState, foldCase } from './network-state.js';
import { HubCapabilities, PROTOCOL_VERSION, UidGenerator, isServerName, isSid, linkPassword, newChallenge, safeEqual } from './protocol.js';
import { SASL_MECHANISMS, SaslAgent, type SaslAuthenticator, type SaslCounters } from './sasl.js';

export interface ServicesLinkOptions {
  /** InspIRCd server-link address (its `<bind type="servers">`). */
  readonly host: string;
  readonly port: number;
  /** `<link sendpass=recvpass>`. */
  readonly password: string;
  /** Our server name, as in InspIRCd's `<link name>` and `<sasl target>`. */
  readonly serverName: string;
  /** Our server id, e.g. `0AS`. */
  readonly sid: string;
  readonly description?: string;
  /** If set, a hub introducing itself under another name is refused. */
  readonly expectedHubName?: string;
  readonly authenticator: SaslAuthenticator;
  readonly logger?: LinkLogger;
  /** The services agent pseudo-client (the SASL agent). */
  readonly agent?: { readonly nick?: string; readonly ident?: string; readonly realname?: string };
  /** Send a PING this often once up. Default 30 s. */
  readonly pingIntervalMs?: number;
  /** Declare the link dead when a PING stays unanswered this long. Default 60 s. */
  readonly pingTimeoutMs?: number;
  /** Give up on a connection that has not finished the handshake and burst in this time. Default 20 s. */
  readonly handshakeTimeoutMs?: number;
  /** Reconnect backoff: first delay, doubling per failed attempt up to the maximum, jittered to 50–100 %. */
  readonly reconnectInitialDelayMs?: number;
  readonly reconnectMaxDelayMs?: number;
  readonly saslSessionTimeoutMs?: number;
  /** Source of randomness for jitter (tests make it deterministic). */
  readonly random?: () => number;
}

export type LinkPhase = 'idle' | 'connecting' | 'negotiating' | 'bursting' | 'up' | 'waiting' | 'stopped';

export interface ServicesLinkStatus {
  readonly state: 'up' | 'down';
  readonly phase: LinkPhase;
  /** When `state` last changed (ISO 8601). */
  readonly since: string;
  readonly hub: { readonly name: string; readonly sid: string } | null;
  readonly usersKnown: number;
  readonly serversKnown: number;
  readonly channelsKnown: number;
  readonly lastError: string | null;
  readonly pingRttMs: number | null;
  /** When the hub last answered our PING (ISO 8601). */
  readonly lastPongAt: string | null;
}

export interface ServicesLinkCounters {
  readonly linesIn: number;
  readonly linesOut: number;
  readonly parseErrors: number;
  readonly unknownCommands: number;
  /** Recognised commands whose parameters or source were unusable. */
  readonly ignoredLines: number;
  /** Exceptions caught while handling a line (bugs; the line is dropped, the link stays). */
  readonly handlerErrors: number;
  /** Outbound lines dropped because no connection was open. */
  readonly droppedOut: number;
  readonly connectAttempts: number;
  /** Times the link came up again after having been up. */
  readonly relinks: number;
  readonly sasl: Readonly<SaslCounters>;
}

export interface ServicesLinkEvents {
  up: [status: ServicesLinkStatus];
  down: [info: { reason: string }];
  /** Every phase change. */
  state: [status: ServicesLinkStatus];
  /**
   * A chat message routed to us: to a channel one of our pseudo-clients is in, or privately
   * to a pseudo-client (`target` is then its UID).
   */
  message: [message: InboundChatMessage];
  /** The hub changed a channel (NetworkState is already updated). */
  channel: [event: ChannelEvent];
  /** A user logged in (`account`) or out (null), by the hub's word or by ours (SASL, `logout`). */
  account: [change: { readonly uid: string; readonly account: string | null }];
  /** One of our pseudo-clients was killed and introduced again: it is in no channel any more. */
  reintroduced: [client: PseudoClientHandle];
}

/** What a pseudo-client is introduced with. */
export interface PseudoClientSpec {
  readonly nick: string;
  readonly ident?: string;
  readonly realname?: string;
}

/** A pseudo-client of ours: its UID never changes; its nick only after a lost nick collision. */
export interface PseudoClientHandle {
  readonly uid: string;
  readonly nick: string;
}

interface PseudoClient {
  readonly uid: string;
  nick: string;
  readonly ident: string;
  readonly realname: string;
  readonly signon: number;
}

/** Nicks and idents go into UID as middle parameters. */
const PSEUDO_NICK = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]{0,29}$/;
const PSEUDO_IDENT = /^[A-Za-z0-9_.~-]{1,10}$/;

/**
 * Our pseudo-clients are introduced with this old nick timestamp so that, in a nick
 * collision, InspIRCd's older-wins rule keeps the services nick and renames the user.
 */
const PSEUDO_CLIENT_NICK_TS = 946_684_800;

/** InspIRCd's own server-to-server lines are not bound to the client 512-byte limit (e.g. long METADATA). */
const INBOUND_LIMITS = { maxBodyBytes: 16_384 } as const;
/** Beyond this many buffered characters without a newline we discard input until the next newline. */
const MAX_PENDING_CHARS = 65_536;

/**
 * Make free text (a KILL, KICK or SQUIT reason, a topic) safe as a trailing parameter of at
 * most `maxBytes`: NUL, CR and LF become spaces, and it is cut on a character boundary.
 */
export function sanitizeText(text: string, maxBytes: number): string {
  // A UTF-16 unit is at least one UTF-8 byte, so this cut never removes too much.
  let clean = text.replace(/[\0\r\n]/g, ' ').slice(0, maxBytes);
  while (Buffer.byteLength(clean, 'utf8') > maxBytes) clean = clean.slice(0, -1);
  // Do not leave half a surrogate pair behind.
  if (/[\uD800-\uDBFF]$/.test(clean)) clean = clean.slice(0, -1);
  return clean;
}

/**
 * Delay before reconnect attempt `attempt` (0 = first after a drop): `initial` doubling per
 * attempt up to `max`, then jittered to 50–100 % so a restarted hub is not hit by every
 * services instance at the same instant.
 */
export function reconnectDelay(attempt: number, initial: number, max: number, random: () => number): number {
  const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (random() * base) / 2);
}

export class ServicesLink extends EventEmitter<ServicesLinkEvents> {
  private readonly options: ServicesLinkOptions;
  private readonly log: LinkLogger;
  private readonly random: () => number;
  private readonly sasl: SaslAgent;
  private readonly stateView = new NetworkState();
  private readonly uids: UidGenerator;
  private readonly agent: PseudoClient;
  /** Every pseudo-client of ours (the agent first), by UID. */
  private readonly clients = new Map<string, PseudoClient>();
  private readonly context: LinkContext;

  private phase: LinkPhase = 'idle';
  private linkUp = false;
  private stateSince = Date.now();
  private everUp = false;
  private socket: net.Socket | null = null;
  private generation = 0;
  private pending = '';
  private discardingOversizedLine = false;
  private hubCapab: HubCapabilities | null = null;
  private ourChallenge = '';
  private hub: { name: string; sid: string } | null = null;
  private lastError: string | null = null;
  private pingRttMs: number | null = null;
  private pingSentAt: number | null = null;
  private lastPongAt: number | null = null;
  private failedAttempts = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private pongTimer: NodeJS.Timeout | null = null;
  private closedWaiters: Array<() => void> = [];
  private readonly count = {
    linesIn: 0,
    linesOut: 0,
    parseErrors: 0,
    unknownCommands: 0,
    ignoredLines: 0,
    handlerErrors: 0,
    droppedOut: 0,
    connectAttempts: 0,
    relinks: 0,
  };

  constructor(options: ServicesLinkOptions) {
    super();
    if (!isSid(options.sid)) throw new Error(`invalid server id ${JSON.stringify(options.sid)}`);
    if (!isServerName(options.serverName)) throw new Error(`invalid server name ${JSON.stringify(options.serverName)}`);
    if (options.password.length === 0 || /[\s\0]/.test(options.password) || options.password.startsWith(':')) {
      throw new Error('link password must be non-empty and contain no whitespace');
    }
    this.options = options;
    this.log = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
    this.uids = new UidGenerator(options.sid);
    this.agent = this.registerClient({
      nick: options.agent?.nick ?? 'Alloquy',
      ident: options.agent?.ident ?? 'alloquy',
      realname: options.agent?.realname ?? 'Alloquy services',
    });
    this.sasl = new SaslAgent({
      authenticator: options.authenticator,
      logger: this.log,
      ...(options.saslSessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: options.saslSessionTimeoutMs }),
      transport: {
        sendSasl: (clientUid, type, data) =>
          this.sendSafely({
            source: this.options.sid,
            command: 'ENCAP',
            params: [clientUid.slice(0, 3), 'SASL', this.agent.uid, clientUid, type, data],
          }),
        setAccount: (clientUid, account) => {
          this.sendSafely({ source: this.options.sid, command: 'METADATA', params: [clientUid, 'accountname', account] });
          // The hub does not echo our own METADATA back; keep our view current if we know the user already.
          const user = this.stateView.users.get(clientUid);
          if (user && user.account !== account) {
            user.account = account;
            this.safeEmit('account', { uid: user.uid, account });
          }
        },
      },
    });
    this.context = this.createContext();
  }

  /** Start connecting (and keep reconnecting until `stop`). */
  start(): void {
    if (this.phase !== 'idle' && this.phase !== 'stopped') return;
    this.connect();
  }

  /** Leave the network politely and stop reconnecting. */
  async stop(reason = 'Services shutting down'): Promise<void> {
    const wasStopped = this.phase === 'stopped';
    this.setPhase('stopped');
    this.clearTimer('reconnectTimer');
    if (wasStopped || !this.socket) return;
    const socket = this.socket;
    const closed = new Promise<void>((resolve) => this.closedWaiters.push(resolve));
    if (this.hub) this.sendSafely({ source: this.options.sid, command: 'SQUIT', params: [this.options.serverName, sanitizeText(reason, 200)] });
    socket.end();
    const forceClose = setTimeout(() => socket.destroy(), 2000);
    await closed;
    clearTimeout(forceClose);
  }

  /** Drop the current connection (if any) and reconnect through the normal backoff. */
  relink(reason = 'relink requested'): void {
    if (this.phase === 'stopped' || this.phase === 'idle') return;
    this.lastError = reason;
    this.socket?.destroy();
  }

  status(): ServicesLinkStatus {
    return {
      state: this.linkUp ? 'up' : 'down',
      phase: this.phase,
      since: new Date(this.stateSince).toISOString(),
      hub: this.hub ? { ...this.hub } : null,
      usersKnown: this.countHubUsers(),
      serversKnown: this.stateView.servers.size,
      channelsKnown: this.stateView.channels.size,
      lastError: this.lastError,
      pingRttMs: this.pingRttMs,
      lastPongAt: this.lastPongAt === null ? null : new Date(this.lastPongAt).toISOString(),
    };
  }

  counters(): ServicesLinkCounters {
    return { ...this.count, sasl: { ...this.sasl.counters } };
  }

  /** The network as the hub described it (read it, do not modify it). */
  get network(): NetworkState {
    return this.stateView;
  }

  /** What the hub advertised in CAPAB (mode names → letters etc.), or null before negotiation. */
  get capabilities(): HubCapabilities | null {
    return this.hubCapab;
  }

  /** UID and nick of the services agent pseudo-client. */
  get agentClient(): { readonly uid: string; readonly nick: string } {
    return { uid: this.agent.uid, nick: this.agent.nick };
  }

  /** Whether the link is up (the hub finished its burst). */
  get isUp(): boolean {
    return this.linkUp;
  }

  /** Our own server id. */
  get sid(): string {
    return this.options.sid;
  }

  /**
   * Register another pseudo-client (e.g. HistServ). It is introduced at once when linked, in
   * every burst after a relink, and again when killed; like the agent it has the hub's
   * `servprotect` and `bot` user modes, and an old nick timestamp so it wins nick collisions.
   * Channel memberships are not kept across relinks or kills: join it again on `up` and
   * `reintroduced` (see `joinChannel`).
   * @throws Error on an invalid nick or ident, or a nick another pseudo-client has.
   */
  addPseudoClient(spec: PseudoClientSpec): PseudoClientHandle {
    const client = this.registerClient(spec);
    // Once our burst is out (bursting or up), the hub accepts new clients at any time.
    if (this.hub !== null && (this.phase === 'bursting' || this.phase === 'up')) this.introduce(client);
    return handleOf(client);
  }

  /** Validate a pseudo-client (the agent included) and give it the next UID. */
  private registerClient(spec: PseudoClientSpec): PseudoClient {
    const ident = spec.ident ?? spec.nick.toLowerCase().slice(0, 10);
    if (!PSEUDO_NICK.test(spec.nick)) throw new Error(`invalid pseudo-client nick ${JSON.stringify(spec.nick)}`);
    if (!PSEUDO_IDENT.test(ident)) throw new Error(`invalid pseudo-client ident ${JSON.stringify(ident)}`);
    for (const other of this.clients.values()) {
      if (foldCase(other.nick) === foldCase(spec.nick)) throw new Error(`pseudo-client nick ${spec.nick} is taken`);
    }
    const client: PseudoClient = {
      uid: this.uids.allocate(),
      nick: spec.nick,
      ident,
      realname: (spec.realname ?? spec.nick).replace(/[\0\r\n]/g, ' ') || spec.nick,
      signon: Math.floor(Date.now() / 1000),
    };
    this.clients.set(client.uid, client);
    return client;
  }

  /** Our pseudo-client with this UID, if any. */
  pseudoClient(uid: string): PseudoClientHandle | undefined {
    const client = this.clients.get(uid);
    return client ? handleOf(client) : undefined;
  }

  /** Whether `uid` is one of our pseudo-clients. */
  isOurClient(uid: string): boolean {
    return this.clients.has(uid);
  }

  // ---- channel operations (services side) -------------------------------------------------
  //
  // The hub never echoes these back, so each one also updates `network` the way the hub will
  // apply it. All return false (and change nothing) when the link is not up or the arguments
  // do not fit the protocol.

  /**
   * FJOIN one of our pseudo-clients into `channel` at channel timestamp `ts`, with prefix mode
   * letters (e.g. the hub's letter for `op`). An older `ts` than the hub's wins the TS war and
   * makes the hub reset the channel (modes, lists, prefixes, topic); a newer one loses, and the
   * prefixes are ignored. Modes are set afterwards with `setChannelModes`.
   */
  joinChannel(uid: string, channel: string, ts: number, prefixes = ''): boolean {
    const kinds = this.hubCapab?.channelModeKinds();
    if (!this.linkUp || !kinds || !this.clients.has(uid) || !isChannelName(channel)) return false;
    if (!Number.isSafeInteger(ts) || ts < 1) return false;
    // An unknown prefix letter in FJOIN makes InspIRCd drop the link.
    if (!arePrefixModes(prefixes, kinds)) return false;
    if (!this.sendOwn({ source: this.options.sid, command: 'FJOIN', params: [channel, String(ts), '+', `${prefixes},${uid}`] })) return false;
    const { channel: state, reset } = this.stateView.applyFjoin(channel, ts, [], [{ uid, prefixes }], kinds, this.options.serverName);
    if (reset) this.log.info({ channel: state.name, ts }, 'lowered a channel timestamp: the hub reset its modes');
    return true;
  }

  /** One of our pseudo-clients leaves `channel`. */
  partChannel(uid: string, channel: string, reason = ''): boolean {
    const state = this.stateView.findChannel(channel);
    if (!this.linkUp || !this.clients.has(uid) || !state?.members.has(uid)) return false;
    const params = reason.length > 0 ? [state.name, sanitizeText(reason, 200)] : [state.name];
    if (!this.sendOwn({ source: uid, command: 'PART', params })) return false;
    this.stateView.leaveChannel(state.name, uid);
    return true;
  }

  /**
   * FMODE `changes` on `channel` from our server (or one of our clients), packed into as few
   * lines as the hub's MAXMODES and the line length allow. Mode letters must be the hub's
   * (see `capabilities`); prefix mode parameters are UIDs. Returns the number of lines sent.
   */
  setChannelModes(channel: string, changes: readonly ModeChange[], source: string = this.options.sid): number {
    const state = this.stateView.findChannel(channel);
    const capab = this.hubCapab;
    if (!this.linkUp || !state || !capab || changes.length === 0) return 0;
    if (source !== this.options.sid && !this.clients.has(source)) return 0;
    const kinds = capab.channelModeKinds();
    const known = changes.filter((change) => kinds.has(change.letter));
    const head = `:${source} FMODE ${state.name} ${state.ts} `;
    const lines = packModeChanges(known, {
      maxModes: capab.limit('MAXMODES', 20),
      maxBytes: DEFAULT_MAX_BODY_BYTES - Buffer.byteLength(head, 'utf8'),
    });
    const now = Math.floor(Date.now() / 1000);
    const setter = this.clients.get(source)?.nick ?? this.options.serverName;
    let sent = 0;
    for (const line of lines) {
      if (!this.sendOwn({ source, command: 'FMODE', params: [state.name, String(state.ts), line.modes, ...line.params] })) break;
      sent++;
    }
    if (sent > 0) {
      this.stateView.applyModes(state, lines.slice(0, sent).flatMap((line) => line.changes), kinds, setter, now);
    }
    return sent;
  }

  /**
   * FTOPIC: set `channel`'s topic from our server, with a topic timestamp the hub accepts
   * (never older than the current topic's). Cut to the hub's MAXTOPIC bytes.
   */
  setTopic(channel: string, topic: string, setter: string = this.options.serverName): boolean {
    const state = this.stateView.findChannel(channel);
    if (!this.linkUp || !state || /[\s\0]/.test(setter) || setter.length === 0) return false;
    const text = sanitizeText(topic, this.hubCapab?.limit('MAXTOPIC', 307) ?? 307);
    const now = Math.floor(Date.now() / 1000);
    // The hub ignores an FTOPIC older than its topic, and on a tie keeps the larger text.
    const ts = now > state.topicTs ? now : state.topicTs + 1;
    const params = [state.name, String(state.ts), String(ts), setter, text];
    if (!this.sendOwn({ source: this.options.sid, command: 'FTOPIC', params })) return false;
    this.stateView.setTopic(state.name, text, ts, setter);
    return true;
  }

  /** KICK `target` (a UID) out of `channel`, from one of our pseudo-clients. */
  kick(source: string, channel: string, target: string, reason: string): boolean {
    const state = this.stateView.findChannel(channel);
    if (!this.linkUp || !this.clients.has(source) || !state?.members.has(target) || this.clients.has(target)) return false;
    const text = sanitizeText(reason.length > 0 ? reason : 'Kicked', this.hubCapab?.limit('MAXKICK', 255) ?? 255);
    if (!this.sendOwn({ source, command: 'KICK', params: [state.name, target, text] })) return false;
    this.stateView.leaveChannel(state.name, target);
    return true;
  }

  /**
   * Log every online user of `account` out (clear their accountname); they stay connected.
   * Returns how many users were affected (0 when the link is down).
   */
  logout(account: string): number {
    if (!this.linkUp) return 0;
    const users = this.stateView.usersByAccount(account);
    for (const user of users) {
      this.sendSafely({ source: this.options.sid, command: 'METADATA', params: [user.uid, 'accountname', ''] });
      user.account = null;
      this.safeEmit('account', { uid: user.uid, account: null });
    }
    return users.length;
  }

  /**
   * Log out and disconnect every online user of `account` (used when an account is disabled
   * or banned while online). Returns how many users were killed (0 when the link is down).
   */
  disconnectAccount(account: string, reason: string): number {
    if (!this.linkUp) return 0;
    const users = this.stateView.usersByAccount(account);
    const maxQuit = this.hubCapab?.limit('MAXQUIT', 255) ?? 255;
    const text = sanitizeText(reason.length > 0 ? reason : 'Account disabled', maxQuit);
    for (const user of users) {
      this.sendSafely({ source: this.options.sid, command: 'METADATA', params: [user.uid, 'accountname', ''] });
      this.sendSafely({ source: this.agent.uid, command: 'KILL', params: [user.uid, text] });
      // The hub does not echo a KILL back to the server that sent it.
      this.stateView.removeUser(user.uid);
    }
    if (users.length > 0) this.log.info({ account, users: users.length }, 'disconnected account from IRC');
    return users.length;
  }

  /**
   * Send a line to the hub (for other services code, e.g. FJOIN/FTOPIC/FMODE from our clients).
   * @returns false when no connection is open.
   * @throws IrcSerializeError when the message would be malformed.
   */
  send(message: OutgoingMessage): boolean {
    const line = serializeMessage(message);
    if (!this.socket || this.socket.destroyed || !this.socket.writable) {
      this.count.droppedOut++;
      return false;
    }
    // Lines sent in one tick (METADATA then SASL D S, a burst) leave in one TCP segment:
    // with TCP_NODELAY every write is its own packet, and the hub answers the client per packet.
    const socket = this.socket;
    if (socket.writableCorked === 0) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    socket.write(`${line}\r\n`);
    this.count.linesOut++;
    return true;
  }

  /**
   * Process one inbound line (without CRLF). This is the exact path every line read from the
   * socket takes; it is public so tests can push arbitrary input through it. Never throws.
   */
  handleInboundLine(raw: string): void {
    this.count.linesIn++;
    const parsed = parseLine(raw, INBOUND_LIMITS);
    if (!parsed.ok) {
      this.count.parseErrors++;
      this.log.debug({ error: parsed.error, detail: parsed.detail, line: raw.slice(0, 200) }, 'unparseable line from hub ignored');
      return;
    }
    try {
      this.dispatch(parsed.message);
    } catch (error) {
      this.count.handlerErrors++;
      this.log.error({ err: error, line: raw.slice(0, 200) }, 'error while handling a line from the hub; line ignored');
    }
  }

  // ---- connection lifecycle -------------------------------------------------------------

  private connect(): void {
    this.count.connectAttempts++;
    this.setPhase('connecting');
    const generation = ++this.generation;
    this.pending = '';
    this.discardingOversizedLine = false;
    this.hubCapab = new HubCapabilities();
    this.ourChallenge = newChallenge();
    this.hub = null;

    const socket = net.connect({ host: this.options.host, port: this.options.port });
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    this.armHandshakeTimer(socket);

    socket.on('connect', () => {
      if (generation !== this.generation) return;
      this.setPhase('negotiating');
      this.sendSafely({ command: 'CAPAB', params: ['START', String(PROTOCOL_VERSION)] });
    });
    socket.on('data', (chunk: string) => {
      if (generation === this.generation) this.onData(chunk);
    });
    socket.on('error', (error) => {
      if (generation === this.generation) this.lastError = error.message;
    });
    socket.on('close', () => this.onClose(socket, generation));
  }

  private armHandshakeTimer(socket: net.Socket): void {
    this.clearTimer('handshakeTimer');
    this.handshakeTimer = setTimeout(() => {
      this.lastError = 'handshake timed out';
      socket.destroy();
    }, this.options.handshakeTimeoutMs ?? 20_000);
    this.handshakeTimer.unref();
  }

  private onData(chunk: string): void {
    this.pending += chunk;
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) !== -1) {
      let line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      if (this.discardingOversizedLine) {
        this.discardingOversizedLine = false;
        continue;
      }
      if (line.endsWith('\r')) line = line.slice(0, -1);
      // RFC 1459: empty messages are silently ignored.
      if (line.length === 0) continue;
      this.handleInboundLine(line);
      // A handler may have closed the connection (ERROR, SQUIT): stop reading this buffer.
      if (this.socket === null || this.socket.destroyed) return;
    }
    if (this.pending.length > MAX_PENDING_CHARS) {
      this.count.parseErrors++;
      this.log.warn({ chars: this.pending.length }, 'oversized line from hub discarded');
      this.pending = '';
      this.discardingOversizedLine = true;
    }
  }

  private onClose(socket: net.Socket, generation: number): void {
    if (generation !== this.generation || socket !== this.socket) return;
    this.socket = null;
    this.clearTimer('handshakeTimer');
    this.clearTimer('pingTimer');
    this.clearTimer('pongTimer');
    this.pingSentAt = null;
    this.sasl.reset();
    this.stateView.clear();
    this.hub = null;
    const wasUp = this.linkUp;
    const reason = this.lastError ?? 'connection closed';
    if (wasUp) {
      this.linkUp = false;
      this.stateSince = Date.now();
      this.log.warn({ reason }, 'IRC services link down');
      this.safeEmit('down', { reason });
    }
    for (const resolve of this.closedWaiters.splice(0)) resolve();
    if (this.phase === 'stopped') return;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = reconnectDelay(
      this.failedAttempts,
      this.options.reconnectInitialDelayMs ?? 500,
      this.options.reconnectMaxDelayMs ?? 10_000,
      this.random,
    );
    this.failedAttempts++;
    this.setPhase('waiting');
    this.log.debug({ delayMs: delay, attempt: this.failedAttempts }, 'reconnecting to hub after backoff');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.phase === 'waiting') this.connect();
    }, delay);
  }

  private closeWithError(message: string): void {
    this.lastError = message;
    this.log.warn({ reason: message }, 'closing IRC services link');
    this.socket?.destroy();
  }

  // ---- dispatch ---------------------------------------------------------------------------

  private dispatch(message: IrcMessage): void {
    if (message.command === 'ERROR') {
      this.closeWithError(`hub sent ERROR: ${message.params[0] ?? ''}`);
      return;
    }
    if (this.phase === 'negotiating') {
      this.dispatchHandshake(message);
      return;
    }
    if (this.phase !== 'bursting' && this.phase !== 'up') {
      this.count.ignoredLines++;
      return;
    }
    const handler = inboundHandlers.get(message.command);
    if (!handler) {
      this.count.unknownCommands++;
      return;
    }
    // Lines without a prefix come from the server at the other end of the socket.
    const source = message.source ?? this.hub?.sid ?? '';
    // The spanning tree never routes a line back to where it came from: nothing from the hub
    // can come from us or our clients, and acting on such a line would corrupt our view.
    if (source === this.options.sid || this.clients.has(source)) {
      this.count.ignoredLines++;
      return;
    }
    if (!handler(this.context, message, source)) this.count.ignoredLines++;
  }

  private dispatchHandshake(message: IrcMessage): void {
    const capab = this.hubCapab;
    if (!capab) return;
    if (message.command === 'CAPAB') {
      // After CAPAB END our credentials are out; a repeated negotiation must not make us send them twice.
      if (capab.complete || !capab.accept(message.params)) {
        this.count.ignoredLines++;
        return;
      }
      if (message.params[0] === 'START' && capab.protocol < PROTOCOL_VERSION) {
        this.closeWithError(`hub speaks protocol ${capab.protocol}, need ${PROTOCOL_VERSION}`);
      } else if (message.params[0] === 'END') {
        this.sendCredentials(capab);
      }
      return;
    }
    if (message.command === 'SERVER' && capab.complete) {
      this.acceptHubServer(message.params);
      return;
    }
    this.count.ignoredLines++;
  }

  private sendCredentials(capab: HubCapabilities): void {
    const caps = [`CHALLENGE=${this.ourChallenge}`];
    const casemapping = capab.capabilities.get('CASEMAPPING');
    // InspIRCd refuses a link whose CASEMAPPING differs; we adopt the hub's.
    if (casemapping !== undefined && /^[A-Za-z0-9-]+$/.test(casemapping)) caps.unshift(`CASEMAPPING=${casemapping}`);
    this.sendSafely({ command: 'CAPAB', params: ['CAPABILITIES', caps.join(' ')] });
    this.sendSafely({ command: 'CAPAB', params: ['END'] });
    const password = linkPassword(this.options.password, capab.capabilities.get('CHALLENGE'));
    this.sendSafely({
      command: 'SERVER',
      params: [this.options.serverName, password, '0', this.options.sid, this.options.description ?? 'Alloquy services'],
    });
  }

  /** The hub's `SERVER <name> <password> <hops> <sid> :<description>`: verify it, then burst. */
  private acceptHubServer(params: readonly string[]): void {
    const [name, password, , sid] = params;
    const description = params[params.length - 1] ?? '';
    if (params.length < 5 || name === undefined || password === undefined || sid === undefined || !isSid(sid)) {
      this.closeWithError('malformed SERVER from hub');
      return;
    }
    const expected = this.hubCapab?.capabilities.has('CHALLENGE')
      ? linkPassword(this.options.password, this.ourChallenge)
      : this.options.password;
    if (!safeEqual(password, expected)) {
      this.closeWithError('hub sent the wrong link password');
      return;
    }
    const expectedName = this.options.expectedHubName;
    if (expectedName !== undefined && expectedName.toLowerCase() !== name.toLowerCase()) {
      this.closeWithError(`hub is ${name}, expected ${expectedName}`);
      return;
    }
    if (sid === this.options.sid) {
      this.closeWithError(`hub uses our server id ${sid}`);
      return;
    }
    this.hub = { name, sid };
    this.stateView.addServer({ sid, name, description, uplink: null });
    this.setPhase('bursting');
    this.sendBurst();
  }

  private sendBurst(): void {
    const now = Math.floor(Date.now() / 1000);
    this.sendSafely({ source: this.options.sid, command: 'BURST', params: [String(now)] });
    for (const client of this.clients.values()) this.introduce(client);
    // The hub advertises `sasl=<this list>` in CAP LS.
    this.sendSafely({ source: this.options.sid, command: 'METADATA', params: ['*', 'saslmechlist', SASL_MECHANISMS.join(',')] });
    this.sendSafely({ source: this.options.sid, command: 'ENDBURST' });
  }

  private introduce(client: PseudoClient): void {
    this.stateView.addUser({
      uid: client.uid,
      nick: client.nick,
      nickTs: PSEUDO_CLIENT_NICK_TS,
      ident: client.ident,
      host: this.options.serverName,
      displayedHost: this.options.serverName,
      ip: '0.0.0.0',
      realname: client.realname,
      account: null,
      server: this.options.sid,
      signon: client.signon,
      channels: new Set(),
    });
    this.sendSafely({
      source: this.options.sid,
      command: 'UID',
      params: [
        client.uid,
        String(PSEUDO_CLIENT_NICK_TS),
        client.nick,
        this.options.serverName,
        this.options.serverName,
        client.ident,
        '0.0.0.0',
        String(client.signon),
        this.pseudoClientModes(),
        client.realname,
      ],
    });
  }

  /**
   * Service usermodes, by name from the hub's CAPAB USERMODES: an unknown mode letter in UID
   * is a protocol error, so we only use modes the hub advertised, and only parameterless ones.
   */
  private pseudoClientModes(): string {
    let letters = '';
    for (const name of ['servprotect', 'bot']) {
      const mode = this.hubCapab?.userModes.get(name);
      if (mode && mode.type === 'simple') letters += mode.letter;
    }
    return `+${letters}`;
  }

  private onHubEndBurst(): void {
    if (this.phase !== 'bursting') return;
    this.clearTimer('handshakeTimer');
    this.failedAttempts = 0;
    if (this.everUp) this.count.relinks++;
    this.everUp = true;
    this.linkUp = true;
    this.stateSince = Date.now();
    this.lastError = null;
    this.setPhase('up');
    this.startPinging();
    this.log.info({ hub: this.hub, users: this.stateView.users.size }, 'IRC services link up');
    this.safeEmit('up', this.status());
  }

  // ---- liveness ---------------------------------------------------------------------------

  private startPinging(): void {
    this.clearTimer('pingTimer');
    this.pingTimer = setInterval(() => this.sendPing(), this.options.pingIntervalMs ?? 30_000);
    this.pingTimer.unref();
  }

  private sendPing(): void {
    if (this.pingSentAt !== null || !this.hub) return;
    this.pingSentAt = Date.now();
    this.sendSafely({ source: this.options.sid, command: 'PING', params: [this.hub.sid] });
    this.pongTimer = setTimeout(() => {
      this.pongTimer = null;
      this.closeWithError('ping timeout');
    }, this.options.pingTimeoutMs ?? 60_000);
    this.pongTimer.unref();
  }

  private onPong(): void {
    if (this.pingSentAt === null) return;
    this.lastPongAt = Date.now();
    this.pingRttMs = this.lastPongAt - this.pingSentAt;
    this.pingSentAt = null;
    this.clearTimer('pongTimer');
  }

  // ---- helpers ----------------------------------------------------------------------------

  /** For internal sends whose arguments we built ourselves: a failure is a bug, logged, never thrown into I/O callbacks. */
  private sendSafely(message: OutgoingMessage): void {
    try {
      this.send(message);
    } catch (error) {
      this.count.handlerErrors++;
      this.log.error({ err: error, command: message.command }, 'refused to send a malformed line');
    }
  }

  /** Like sendSafely, but tells the caller whether the line went out. */
  private sendOwn(message: OutgoingMessage): boolean {
    try {
      return this.send(message);
    } catch (error) {
      this.count.handlerErrors++;
      this.log.error({ err: error, command: message.command }, 'refused to send a malformed line');
      return false;
    }
  }

  private countHubUsers(): number {
    let ours = 0;
    for (const uid of this.clients.keys()) if (this.stateView.users.has(uid)) ours++;
    return this.stateView.users.size - ours;
  }

  private setPhase(phase: LinkPhase): void {
    if (this.phase === phase) return;
    this.phase = phase;
    this.safeEmit('state', this.status());
  }

  private safeEmit<K extends keyof ServicesLinkEvents>(event: K, ...args: ServicesLinkEvents[K]): void {
    try {
      (this.emit as (name: K, ...rest: ServicesLinkEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.log.error({ err: error, event }, 'IRC link event listener threw');
    }
  }

  private clearTimer(name: 'reconnectTimer' | 'handshakeTimer' | 'pingTimer' | 'pongTimer'): void {
    const timer = this[name];
    if (timer) {
      clearTimeout(timer);
      this[name] = null;
    }
  }

  private createContext(): LinkContext {
    // The getter below must read the hub SID live (it changes on every relink).
    const link = this;
    return {
      state: this.stateView,
      ourSid: this.options.sid,
      ourName: this.options.serverName,
      get hubSid() {
        return link.hub?.sid ?? '';
      },
      sasl: this.sasl,
      log: this.log,
      send: (message) => this.sendSafely(message),
      get capabilities() {
        return link.hubCapab;
      },
      ourClient: (uid) => this.clients.get(uid),
      onOurClientKilled: (uid) => {
        const client = this.clients.get(uid);
        if (!client) return;
        this.log.warn({ uid, nick: client.nick }, 'a services pseudo-client was killed; reintroducing it');
        this.stateView.removeUser(uid);
        this.introduce(client);
        this.safeEmit('reintroduced', handleOf(client));
      },
      onOurClientSaved: (uid) => {
        const client = this.clients.get(uid);
        if (!client) return;
        client.nick = uid;
        const user = this.stateView.users.get(uid);
        if (user) user.nick = uid;
      },
      onHubEndBurst: () => this.onHubEndBurst(),
      onPong: () => this.onPong(),
      onSquitUs: (reason) => this.closeWithError(`hub removed us: ${reason}`),
      onChatMessage: (message) => this.safeEmit('message', message),
      onChannelEvent: (event) => this.safeEmit('channel', event),
      onAccountChange: (uid, account) => this.safeEmit('account', { uid, account }),
    };
  }
}

function handleOf(client: PseudoClient): PseudoClientHandle {
  return {
    uid: client.uid,
    get nick() {
      return client.nick;
    },
  };
}

/** A channel name InspIRCd accepts as a middle parameter. */
function isChannelName(name: string): boolean {
  return name.startsWith('#') && name.length > 1 && !/[\s,\0\x07]/.test(name);
}
