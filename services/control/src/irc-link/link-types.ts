/**
 * The types of ServicesLink's public surface: what it is constructed with, what `status()` and
 * `counters()` report, and the events it emits.
 */
import type { ChannelEvent, InboundChatMessage } from './handlers.js';
import type { LinkLogger } from './logger.js';
import type { PseudoClientHandle } from './pseudo-clients.js';
import type { SaslAuthenticator, SaslCounters } from './sasl.js';

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
