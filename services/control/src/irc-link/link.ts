/**
 * ServicesLink: the control server's server-to-server link into InspIRCd 3 (spanning-tree
 * protocol 1205), the way Anope and Atheme link as a U-lined services server.
 *
 * It is the one object the control server holds, and it puts the parts together: the phase
 * machine (lifecycle.ts) over the TCP connection (connection.ts), the handshake and our burst
 * (handshake.ts) and the routing of inbound lines (inbound.ts) to handlers (handlers.ts); our
 * pseudo-clients (pseudo-clients.ts); the SASL agent (sasl.ts); and what services do on their
 * own initiative (operations.ts). The link is up once the hub's burst ends.
 *
 * Once up, services act on channels through joinChannel/setChannelModes/setTopic/kick/
 * partChannel (FJOIN, FMODE, FTOPIC, KICK, PART). The hub never echoes those back, so each
 * also updates `network` the way the hub applies it; what the hub changes arrives as
 * `channel` and `account` events after `network` is updated.
 *
 * Failure policy: any unknown or malformed inbound line is counted and ignored; the link is
 * only dropped when the hub says so (ERROR, SQUIT of us), the socket fails, or PINGs go
 * unanswered. After every drop we reconnect with jittered exponential backoff.
 */
import { EventEmitter } from 'node:events';

import { serializeMessage, type OutgoingMessage } from '@alloquy/protocol/irc';

import { Handshake } from './handshake.js';
import { LinkLifecycle } from './lifecycle.js';
import type { ServicesLinkCounters, ServicesLinkEvents, ServicesLinkOptions, ServicesLinkStatus } from './link-types.js';
import { silentLogger, type LinkLogger } from './logger.js';
import type { ModeChange } from './modes.js';
import { NetworkState } from './network-state.js';
import { ServicesOperations } from './operations.js';
import { isServerName, isSid, type HubCapabilities } from './protocol.js';
import { PseudoClients, handleOf, type PseudoClient, type PseudoClientHandle, type PseudoClientSpec } from './pseudo-clients.js';
import { SaslAgent } from './sasl.js';

export class ServicesLink extends EventEmitter<ServicesLinkEvents> {
  private readonly options: ServicesLinkOptions;
  private readonly log: LinkLogger;
  private readonly stateView = new NetworkState();
  private readonly handshake: Handshake;
  private readonly clients: PseudoClients;
  private readonly agent: PseudoClient;
  private readonly sasl: SaslAgent;
  private readonly lifecycle: LinkLifecycle;
  private readonly operations: ServicesOperations;
  /** Lines of ours that would not serialise (bugs, counted with the inbound handler errors). */
  private malformedOut = 0;

  constructor(options: ServicesLinkOptions) {
    super();
    if (!isSid(options.sid)) throw new Error(`invalid server id ${JSON.stringify(options.sid)}`);
    if (!isServerName(options.serverName)) throw new Error(`invalid server name ${JSON.stringify(options.serverName)}`);
    if (options.password.length === 0 || /[\s\0]/.test(options.password) || options.password.startsWith(':')) {
      throw new Error('link password must be non-empty and contain no whitespace');
    }
    this.options = options;
    this.log = options.logger ?? silentLogger;
    const send = (message: OutgoingMessage): boolean => this.sendOwn(message);
    this.handshake = new Handshake(options, send);
    this.clients = new PseudoClients({
      sid: options.sid,
      serverName: options.serverName,
      network: this.stateView,
      capabilities: () => this.handshake.capabilities,
      send,
    });
    this.agent = this.clients.register({
      nick: options.agent?.nick ?? 'Alloquy',
      ident: options.agent?.ident ?? 'alloquy',
      realname: options.agent?.realname ?? 'Alloquy services',
    });
    this.sasl = this.createSaslAgent();
    this.lifecycle = new LinkLifecycle(
      { ...options, log: this.log },
      {
        network: this.stateView,
        handshake: this.handshake,
        clients: this.clients,
        sasl: this.sasl,
        send,
        emit: (event, ...args) => this.safeEmit(event, ...args),
        status: () => this.status(),
      },
    );
    this.operations = this.createOperations();
  }

  /** Start connecting (and keep reconnecting until `stop`). */
  start(): void {
    this.lifecycle.start();
  }

  /** Leave the network politely and stop reconnecting. */
  async stop(reason = 'Services shutting down'): Promise<void> {
    await this.lifecycle.stop(reason);
  }

  /** Drop the current connection (if any) and reconnect through the normal backoff. */
  relink(reason = 'relink requested'): void {
    this.lifecycle.relink(reason);
  }

  status(): ServicesLinkStatus {
    const { lifecycle } = this;
    const { connection, hub } = lifecycle;
    return {
      state: lifecycle.isUp ? 'up' : 'down',
      phase: lifecycle.phase,
      since: new Date(lifecycle.since).toISOString(),
      hub: hub ? { ...hub } : null,
      usersKnown: this.stateView.users.size - this.clients.countInNetwork(),
      serversKnown: this.stateView.servers.size,
      channelsKnown: this.stateView.channels.size,
      lastError: connection.lastError,
      pingRttMs: connection.pingRttMs,
      lastPongAt: connection.lastPongAt === null ? null : new Date(connection.lastPongAt).toISOString(),
    };
  }

  counters(): ServicesLinkCounters {
    const connection = this.lifecycle.connection.counters();
    const inbound = this.lifecycle.inbound.counters();
    return {
      linesIn: inbound.linesIn,
      linesOut: connection.linesOut,
      // A line too long to frame is as unusable as one that does not parse.
      parseErrors: inbound.parseErrors + connection.oversizedLines,
      unknownCommands: inbound.unknownCommands,
      ignoredLines: inbound.ignoredLines,
      handlerErrors: inbound.handlerErrors + this.malformedOut,
      droppedOut: connection.droppedOut,
      connectAttempts: connection.connectAttempts,
      relinks: this.lifecycle.relinks,
      sasl: { ...this.sasl.counters },
    };
  }

  /** The network as the hub described it (read it, do not modify it). */
  get network(): NetworkState {
    return this.stateView;
  }

  /** What the hub advertised in CAPAB (mode names → letters etc.), or null before negotiation. */
  get capabilities(): HubCapabilities | null {
    return this.handshake.capabilities;
  }

  /** UID and nick of the services agent pseudo-client. */
  get agentClient(): { readonly uid: string; readonly nick: string } {
    return { uid: this.agent.uid, nick: this.agent.nick };
  }

  /** Whether the link is up (the hub finished its burst). */
  get isUp(): boolean {
    return this.lifecycle.isUp;
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
    const client = this.clients.register(spec);
    // Once our burst is out (bursting or up), the hub accepts new clients at any time.
    const { hub, phase } = this.lifecycle;
    if (hub !== null && (phase === 'bursting' || phase === 'up')) this.clients.introduce(client);
    return handleOf(client);
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

  // ---- services operations (operations.ts): each returns false or 0, changing nothing, when
  // the link is not up or the arguments do not fit the protocol.

  /**
   * FJOIN one of our pseudo-clients into `channel` at channel timestamp `ts`, with prefix mode
   * letters (e.g. the hub's letter for `op`). An older `ts` than the hub's wins the TS war and
   * makes the hub reset the channel (modes, lists, prefixes, topic); a newer one loses, and the
   * prefixes are ignored. Modes are set afterwards with `setChannelModes`.
   */
  joinChannel(uid: string, channel: string, ts: number, prefixes = ''): boolean {
    return this.operations.joinChannel(uid, channel, ts, prefixes);
  }

  /** One of our pseudo-clients leaves `channel`. */
  partChannel(uid: string, channel: string, reason = ''): boolean {
    return this.operations.partChannel(uid, channel, reason);
  }

  /**
   * FMODE `changes` on `channel` from our server (or one of our clients), packed into as few
   * lines as the hub's MAXMODES and the line length allow. Mode letters must be the hub's
   * (see `capabilities`); prefix mode parameters are UIDs. Returns the number of lines sent.
   */
  setChannelModes(channel: string, changes: readonly ModeChange[], source: string = this.options.sid): number {
    return this.operations.setChannelModes(channel, changes, source);
  }

  /**
   * FTOPIC: set `channel`'s topic from our server, with a topic timestamp the hub accepts
   * (never older than the current topic's). Cut to the hub's MAXTOPIC bytes.
   */
  setTopic(channel: string, topic: string, setter: string = this.options.serverName): boolean {
    return this.operations.setTopic(channel, topic, setter);
  }

  /** KICK `target` (a UID) out of `channel`, from one of our pseudo-clients. */
  kick(source: string, channel: string, target: string, reason: string): boolean {
    return this.operations.kick(source, channel, target, reason);
  }

  /**
   * Log every online user of `account` out (clear their accountname); they stay connected.
   * Returns how many users were affected (0 when the link is down).
   */
  logout(account: string): number {
    return this.operations.logout(account);
  }

  /**
   * Log out and disconnect every online user of `account` (used when an account is disabled
   * or banned while online). Returns how many users were killed (0 when the link is down).
   */
  disconnectAccount(account: string, reason: string): number {
    return this.operations.disconnectAccount(account, reason);
  }

  /**
   * Send a line to the hub (for other services code, e.g. FJOIN/FTOPIC/FMODE from our clients).
   * @returns false when no connection is open.
   * @throws IrcSerializeError when the message would be malformed.
   */
  send(message: OutgoingMessage): boolean {
    return this.lifecycle.connection.write(serializeMessage(message));
  }

  /**
   * Process one inbound line (without CRLF). This is the exact path every line read from the
   * socket takes; it is public so tests can push arbitrary input through it. Never throws.
   */
  handleInboundLine(raw: string): void {
    this.lifecycle.inbound.handle(raw);
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** For lines we built ourselves: a failure is a bug, logged, never thrown into I/O callbacks. */
  private sendOwn(message: OutgoingMessage): boolean {
    try {
      return this.send(message);
    } catch (error) {
      this.malformedOut++;
      this.log.error({ err: error, command: message.command }, 'refused to send a malformed line');
      return false;
    }
  }

  private safeEmit<K extends keyof ServicesLinkEvents>(event: K, ...args: ServicesLinkEvents[K]): void {
    try {
      (this.emit as (name: K, ...rest: ServicesLinkEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.log.error({ err: error, event }, 'IRC link event listener threw');
    }
  }

  private createSaslAgent(): SaslAgent {
    const { sid, authenticator, saslSessionTimeoutMs } = this.options;
    return new SaslAgent({
      authenticator,
      logger: this.log,
      ...(saslSessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: saslSessionTimeoutMs }),
      transport: {
        sendSasl: (clientUid, type, data) =>
          this.sendOwn({ source: sid, command: 'ENCAP', params: [clientUid.slice(0, 3), 'SASL', this.agent.uid, clientUid, type, data] }),
        setAccount: (clientUid, account) => {
          this.sendOwn({ source: sid, command: 'METADATA', params: [clientUid, 'accountname', account] });
          // The hub does not echo our own METADATA back; keep our view current if we know the user already.
          const user = this.stateView.users.get(clientUid);
          if (user && user.account !== account) {
            user.account = account;
            this.safeEmit('account', { uid: user.uid, account });
          }
        },
      },
    });
  }

  private createOperations(): ServicesOperations {
    return new ServicesOperations({
      ourSid: this.options.sid,
      ourName: this.options.serverName,
      network: this.stateView,
      clients: this.clients,
      log: this.log,
      isUp: () => this.lifecycle.isUp,
      capabilities: () => this.handshake.capabilities,
      agentUid: this.agent.uid,
      send: (message) => this.sendOwn(message),
      onAccountChange: (uid, account) => this.safeEmit('account', { uid, account }),
    });
  }
}
