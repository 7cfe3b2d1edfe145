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
 *   us:  BURST, UID <agent>, METADATA * saslmechlist :PLAIN, ENDBURST
 *   hub: BURST, SERVER/UID/FJOIN/METADATA..., ENDBURST       → link is up
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

import { inboundHandlers, type InboundChatMessage, type LinkContext } from './handlers.js';
import { parseLine, serializeMessage, type IrcMessage, type OutgoingMessage } from './line.js';
import { silentLogger, type LinkLogger } from './logger.js';
import { NetworkState } from './network-state.js';
import {
  HubCapabilities,
  PROTOCOL_VERSION,
  UidGenerator,
  isServerName,
  isSid,
  linkPassword,
  newChallenge,
  safeEqual,
} from './protocol.js';
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
  message: [message: InboundChatMessage];
}

interface PseudoClient {
  readonly uid: string;
  nick: string;
  readonly ident: string;
  readonly realname: string;
  readonly signon: number;
}

/**
 * Our pseudo-clients are introduced with this old nick timestamp so that, in a nick
 * collision, InspIRCd's older-wins rule keeps the services nick and renames the user.
 */
const PSEUDO_CLIENT_NICK_TS = 946_684_800;

/** InspIRCd's own server-to-server lines are not bound to the client 512-byte limit (e.g. long METADATA). */
const INBOUND_LIMITS = { maxBodyBytes: 16_384 } as const;
/** Beyond this many buffered characters without a newline we discard input until the next newline. */
const MAX_PENDING_CHARS = 65_536;

/** Make free text (a KILL or SQUIT reason) safe as a trailing parameter of at most `maxBytes`. */
function sanitizeText(text: string, maxBytes: number): string {
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
  private readonly agent: PseudoClient;
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
    this.agent = {
      uid: new UidGenerator(options.sid).allocate(),
      nick: options.agent?.nick ?? 'Alloquy',
      ident: options.agent?.ident ?? 'alloquy',
      realname: options.agent?.realname ?? 'Alloquy services',
      signon: Math.floor(Date.now() / 1000),
    };
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
          if (user) user.account = account;
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
      usersKnown: this.stateView.users.size,
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
    this.introduce(this.agent);
    // The hub advertises `sasl=<this list>` in CAP LS.
    this.sendSafely({ source: this.options.sid, command: 'METADATA', params: ['*', 'saslmechlist', SASL_MECHANISMS.join(',')] });
    this.sendSafely({ source: this.options.sid, command: 'ENDBURST' });
  }

  private introduce(client: PseudoClient): void {
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
      ourClient: (uid) => (uid === this.agent.uid ? this.agent : undefined),
      onOurClientKilled: (uid) => {
        if (uid !== this.agent.uid) return;
        this.log.warn({ uid }, 'services agent was killed; reintroducing it');
        this.introduce(this.agent);
      },
      onOurClientSaved: (uid) => {
        if (uid === this.agent.uid) this.agent.nick = uid;
      },
      onHubEndBurst: () => this.onHubEndBurst(),
      onPong: () => this.onPong(),
      onSquitUs: (reason) => this.closeWithError(`hub removed us: ${reason}`),
      onChatMessage: (message) => this.safeEmit('message', message),
    };
  }
}
