/**
 * The link's phase machine and what drives it.
 *
 *   idle → connecting → negotiating → bursting → up
 *   after any drop: waiting (jittered backoff) → connecting ...; stopped for good after stop()
 *
 * The connection (connection.ts) reports the socket; the handshake (handshake.ts) reports each
 * step of the negotiation; the hub's ENDBURST brings the link up. Every inbound line is routed
 * by phase (inbound.ts) to the handshake or to a handler (handlers.ts), which acts through the
 * context built here. Changes reach ServicesLink's listeners as its events.
 */
import type { IrcMessage, OutgoingMessage } from '@alloquy/protocol/irc';

import { HubConnection, type HubConnectionOptions } from './connection.js';
import type { Handshake } from './handshake.js';
import type { LinkContext } from './handlers.js';
import { InboundDispatcher } from './inbound.js';
import type { LinkPhase, ServicesLinkEvents, ServicesLinkStatus } from './link-types.js';
import type { NetworkState } from './network-state.js';
import { sanitizeText } from './protocol.js';
import { handleOf, type PseudoClients } from './pseudo-clients.js';
import type { SaslAgent } from './sasl.js';

export interface LifecycleOptions extends HubConnectionOptions {
  readonly sid: string;
  readonly serverName: string;
}

/** The link's other parts, and how the lifecycle reaches ServicesLink's listeners. */
export interface LifecycleParts {
  readonly network: NetworkState;
  readonly handshake: Handshake;
  readonly clients: PseudoClients;
  readonly sasl: SaslAgent;
  /** Send a line we built ourselves; false when it did not go out (never throws). */
  send(message: OutgoingMessage): boolean;
  /** Emit one of ServicesLink's events (listener errors are caught there). */
  emit<K extends keyof ServicesLinkEvents>(event: K, ...args: ServicesLinkEvents[K]): void;
  status(): ServicesLinkStatus;
}

export class LinkLifecycle {
  readonly connection: HubConnection;
  readonly inbound: InboundDispatcher;
  private current: LinkPhase = 'idle';
  private linkUp = false;
  private changedAt = Date.now();
  private everUp = false;
  private hubServer: { name: string; sid: string } | null = null;
  private relinkCount = 0;

  constructor(
    private readonly options: LifecycleOptions,
    private readonly parts: LifecycleParts,
  ) {
    this.connection = new HubConnection(options, {
      connecting: () => this.onConnecting(),
      opened: () => this.onOpened(),
      line: (raw) => this.inbound.handle(raw),
      ping: () => this.sendPing(),
      closed: (reason) => this.onClosed(reason),
    });
    this.inbound = new InboundDispatcher(
      {
        phase: () => this.current,
        hubSid: () => this.hubServer?.sid ?? null,
        ourSid: options.sid,
        isOurClient: (uid) => parts.clients.has(uid),
        context: this.createHandlerContext(),
        negotiate: (message) => this.negotiate(message),
        onHubError: (text) => this.connection.fail(`hub sent ERROR: ${text}`),
      },
      options.log,
    );
  }

  get phase(): LinkPhase {
    return this.current;
  }

  /** Whether the hub finished its burst on the current connection. */
  get isUp(): boolean {
    return this.linkUp;
  }

  /** When `isUp` last changed (ms since the epoch). */
  get since(): number {
    return this.changedAt;
  }

  /** The hub, from its SERVER line until the connection closes. */
  get hub(): { readonly name: string; readonly sid: string } | null {
    return this.hubServer;
  }

  /** Times the link came up again after having been up. */
  get relinks(): number {
    return this.relinkCount;
  }

  start(): void {
    if (this.current !== 'idle' && this.current !== 'stopped') return;
    this.connection.open();
  }

  async stop(reason: string): Promise<void> {
    const wasStopped = this.current === 'stopped';
    this.setPhase('stopped');
    this.connection.cancelReconnect();
    if (wasStopped || !this.connection.isOpen) return;
    if (this.hubServer) {
      this.parts.send({ source: this.options.sid, command: 'SQUIT', params: [this.options.serverName, sanitizeText(reason, 200)] });
    }
    await this.connection.end();
  }

  relink(reason: string): void {
    if (this.current === 'stopped' || this.current === 'idle') return;
    this.connection.drop(reason);
  }

  private onConnecting(): void {
    this.setPhase('connecting');
    this.parts.handshake.reset();
    this.hubServer = null;
  }

  private onOpened(): void {
    // stop() while the socket was still connecting: close it now rather than negotiate (and then
    // reconnect for ever when the hub hangs up on a link nobody wants).
    if (this.current === 'stopped') {
      void this.connection.end();
      return;
    }
    this.setPhase('negotiating');
    this.parts.handshake.begin();
  }

  private sendPing(): boolean {
    if (!this.hubServer) return false;
    this.parts.send({ source: this.options.sid, command: 'PING', params: [this.hubServer.sid] });
    return true;
  }

  private onClosed(reason: string): void {
    this.parts.sasl.reset();
    this.parts.network.clear();
    this.hubServer = null;
    if (this.linkUp) {
      this.linkUp = false;
      this.changedAt = Date.now();
      this.options.log.warn({ reason }, 'IRC services link down');
      this.parts.emit('down', { reason });
    }
    if (this.current === 'stopped') return;
    this.setPhase('waiting');
    this.connection.reconnectLater(() => {
      if (this.current === 'waiting') this.connection.open();
    });
  }

  /** A line while negotiating; returns false when it was not usable. */
  private negotiate(message: IrcMessage): boolean {
    const step = this.parts.handshake.receive(message);
    switch (step.kind) {
      case 'used':
        return true;
      case 'ignored':
        return false;
      case 'refused':
        this.connection.fail(step.reason);
        return true;
      case 'accepted': {
        const { name, sid, description } = step.hub;
        this.hubServer = { name, sid };
        this.parts.network.addServer({ sid, name, description, uplink: null });
        this.setPhase('bursting');
        this.parts.handshake.burst(this.parts.clients);
        return true;
      }
    }
  }

  private onHubEndBurst(): void {
    if (this.current !== 'bursting') return;
    if (this.everUp) this.relinkCount++;
    this.everUp = true;
    this.linkUp = true;
    this.changedAt = Date.now();
    this.connection.established();
    this.setPhase('up');
    this.options.log.info({ hub: this.hubServer, users: this.parts.network.users.size }, 'IRC services link up');
    this.parts.emit('up', this.parts.status());
  }

  private setPhase(phase: LinkPhase): void {
    if (this.current === phase) return;
    this.current = phase;
    this.parts.emit('state', this.parts.status());
  }

  private createHandlerContext(): LinkContext {
    const { options, parts } = this;
    return {
      state: parts.network,
      ourSid: options.sid,
      ourName: options.serverName,
      hubSid: () => this.hubServer?.sid ?? '',
      sasl: parts.sasl,
      log: options.log,
      send: (message) => parts.send(message),
      capabilities: () => parts.handshake.capabilities,
      ourClient: (uid) => parts.clients.get(uid),
      onOurClientKilled: (uid) => {
        const client = parts.clients.get(uid);
        if (!client) return;
        options.log.warn({ uid, nick: client.nick }, 'a services pseudo-client was killed; reintroducing it');
        parts.clients.reintroduce(client);
        parts.emit('reintroduced', handleOf(client));
      },
      onOurClientSaved: (uid) => {
        const client = parts.clients.get(uid);
        if (client) parts.clients.renameToUid(client);
      },
      onHubEndBurst: () => this.onHubEndBurst(),
      onPong: () => this.connection.pongReceived(),
      onSquitUs: (reason) => this.connection.fail(`hub removed us: ${reason}`),
      onChatMessage: (message) => parts.emit('message', message),
      onChannelEvent: (event) => parts.emit('channel', event),
      onAccountChange: (uid, account) => parts.emit('account', { uid, account }),
    };
  }
}
