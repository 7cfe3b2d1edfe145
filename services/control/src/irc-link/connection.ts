/**
 * The services link's TCP connection to the hub: one socket at a time, cut into lines; a
 * deadline for the handshake and burst; once the link is up, a PING on an interval and a
 * deadline for its PONG; and, when the link asks for it, another attempt after a jittered
 * exponential backoff.
 *
 * It speaks no protocol beyond that. ServicesLink is told of every step through a
 * ConnectionHandler and decides what to send and whether to try again, so the connection
 * never reconnects on its own.
 */
import net from 'node:net';

import { LineFramer } from './line-framer.js';
import type { LinkLogger } from './logger.js';

export interface HubConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly log: LinkLogger;
  /** Send a PING this often once established. Default 30 s. */
  readonly pingIntervalMs?: number;
  /** Drop the connection when a PING stays unanswered this long. Default 60 s. */
  readonly pingTimeoutMs?: number;
  /** Drop a connection that is not established in this time. Default 20 s. */
  readonly handshakeTimeoutMs?: number;
  /** Backoff: first delay, doubling per failed attempt up to the maximum, jittered to 50–100 %. */
  readonly reconnectInitialDelayMs?: number;
  readonly reconnectMaxDelayMs?: number;
  readonly random?: () => number;
}

/** What the connection tells its owner. Calls never overlap; none may throw. */
export interface ConnectionHandler {
  /** An attempt begins; the socket does not exist yet. */
  connecting(): void;
  /** The TCP connection is open. */
  opened(): void;
  /** One line from the hub, without its CRLF, never empty. */
  line(raw: string): void;
  /** Time for a PING. Returns false when there is nobody to ping (no PONG is then awaited). */
  ping(): boolean;
  /** The socket closed; every timer of that connection is already cleared. */
  closed(reason: string): void;
}

export interface ConnectionCounters {
  readonly linesOut: number;
  /** Lines not sent because no connection was open. */
  readonly droppedOut: number;
  readonly connectAttempts: number;
  /** Partial lines thrown away for growing past the framing limit. */
  readonly oversizedLines: number;
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

type TimerName = 'reconnectTimer' | 'handshakeTimer' | 'pingTimer' | 'pongTimer';

export class HubConnection {
  private readonly framer = new LineFramer();
  private readonly random: () => number;
  private socket: net.Socket | null = null;
  /** Bumped per attempt, so that events of an abandoned socket are ignored. */
  private generation = 0;
  private failedAttempts = 0;
  private error: string | null = null;
  private pingSentAt: number | null = null;
  private rttMs: number | null = null;
  private pongAt: number | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private pongTimer: NodeJS.Timeout | null = null;
  private closedWaiters: Array<() => void> = [];
  private readonly count = { linesOut: 0, droppedOut: 0, connectAttempts: 0, oversizedLines: 0 };

  constructor(
    private readonly options: HubConnectionOptions,
    private readonly handler: ConnectionHandler,
  ) {
    this.random = options.random ?? Math.random;
  }

  /** Whether a socket exists (connecting or connected). */
  get isOpen(): boolean {
    return this.socket !== null;
  }

  /** Why the last connection failed or was dropped; null once established. */
  get lastError(): string | null {
    return this.error;
  }

  get pingRttMs(): number | null {
    return this.rttMs;
  }

  /** When the hub last answered our PING (ms since the epoch). */
  get lastPongAt(): number | null {
    return this.pongAt;
  }

  counters(): ConnectionCounters {
    return { ...this.count };
  }

  /** Make one connection attempt. */
  open(): void {
    this.count.connectAttempts++;
    this.handler.connecting();
    const generation = ++this.generation;
    this.framer.reset();

    const socket = net.connect({ host: this.options.host, port: this.options.port });
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    this.armHandshakeTimer(socket);

    socket.on('connect', () => {
      if (generation === this.generation) this.handler.opened();
    });
    socket.on('data', (chunk: string) => {
      if (generation === this.generation) this.onData(chunk);
    });
    socket.on('error', (error) => {
      if (generation === this.generation) this.error = error.message;
    });
    socket.on('close', () => this.onClose(socket, generation));
  }

  /**
   * Write one serialised line. Returns false (and counts it) when no connection is open.
   */
  write(line: string): boolean {
    const socket = this.socket;
    if (!socket || socket.destroyed || !socket.writable) {
      this.count.droppedOut++;
      return false;
    }
    // Lines sent in one tick (METADATA then SASL D S, a burst) leave in one TCP segment:
    // with TCP_NODELAY every write is its own packet, and the hub answers the client per packet.
    if (socket.writableCorked === 0) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    socket.write(`${line}\r\n`);
    this.count.linesOut++;
    return true;
  }

  /** The handshake and burst are done: stop the handshake deadline, reset the backoff, start pinging. */
  established(): void {
    this.clearTimer('handshakeTimer');
    this.failedAttempts = 0;
    this.error = null;
    this.clearTimer('pingTimer');
    this.pingTimer = setInterval(() => this.sendPing(), this.options.pingIntervalMs ?? 30_000);
    this.pingTimer.unref();
  }

  /** The hub answered our PING. */
  pongReceived(): void {
    if (this.pingSentAt === null) return;
    this.pongAt = Date.now();
    this.rttMs = this.pongAt - this.pingSentAt;
    this.pingSentAt = null;
    this.clearTimer('pongTimer');
  }

  /** Close the connection because of `reason` (logged); `closed` follows. */
  fail(reason: string): void {
    this.error = reason;
    this.options.log.warn({ reason }, 'closing IRC services link');
    this.socket?.destroy();
  }

  /** Close the connection on request, recording `reason` as the cause; `closed` follows. */
  drop(reason: string): void {
    this.error = reason;
    this.socket?.destroy();
  }

  /** Call `retry` after the next backoff delay. */
  reconnectLater(retry: () => void): void {
    const delay = reconnectDelay(this.failedAttempts, this.options.reconnectInitialDelayMs ?? 500, this.options.reconnectMaxDelayMs ?? 10_000, this.random);
    this.failedAttempts++;
    this.options.log.debug({ delayMs: delay, attempt: this.failedAttempts }, 'reconnecting to hub after backoff');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      retry();
    }, delay);
  }

  cancelReconnect(): void {
    this.clearTimer('reconnectTimer');
  }

  /** End the connection gracefully (what was written is flushed); destroy it if that takes over 2 s. */
  async end(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    const closed = new Promise<void>((resolve) => this.closedWaiters.push(resolve));
    socket.end();
    const forceClose = setTimeout(() => socket.destroy(), 2000);
    await closed;
    clearTimeout(forceClose);
  }

  private armHandshakeTimer(socket: net.Socket): void {
    this.clearTimer('handshakeTimer');
    this.handshakeTimer = setTimeout(() => {
      this.error = 'handshake timed out';
      socket.destroy();
    }, this.options.handshakeTimeoutMs ?? 20_000);
    this.handshakeTimer.unref();
  }

  private onData(chunk: string): void {
    const discarded = this.framer.push(chunk, (line) => {
      this.handler.line(line);
      // The line may have closed the connection (ERROR, SQUIT): stop reading this buffer.
      return this.socket !== null && !this.socket.destroyed;
    });
    if (discarded > 0) {
      this.count.oversizedLines++;
      this.options.log.warn({ chars: discarded }, 'oversized line from hub discarded');
    }
  }

  private sendPing(): void {
    if (this.pingSentAt !== null) return;
    const sentAt = Date.now();
    if (!this.handler.ping()) return;
    this.pingSentAt = sentAt;
    this.pongTimer = setTimeout(() => {
      this.pongTimer = null;
      this.fail('ping timeout');
    }, this.options.pingTimeoutMs ?? 60_000);
    this.pongTimer.unref();
  }

  private onClose(socket: net.Socket, generation: number): void {
    if (generation !== this.generation || socket !== this.socket) return;
    this.socket = null;
    this.clearTimer('handshakeTimer');
    this.clearTimer('pingTimer');
    this.clearTimer('pongTimer');
    this.pingSentAt = null;
    this.handler.closed(this.error ?? 'connection closed');
    for (const resolve of this.closedWaiters.splice(0)) resolve();
  }

  private clearTimer(name: TimerName): void {
    const timer = this[name];
    if (timer) {
      clearTimeout(timer);
      this[name] = null;
    }
  }
}
