/**
 * A connection to Alloquy's signalling service (`services/signalling/PROTOCOL.md`): says hello
 * with the access token, matches each request to its reply or refusal by `id`/`ref`, and hands
 * every other message (room events, relayed offers) to listeners. Runs wherever a WHATWG
 * WebSocket does: browsers, Electron, Node with the `ws` package passed in.
 */
import type { ClientMessage, ServerMessage } from '@alloquy/protocol/signalling';
import { Emitter } from './emitter.js';
import { VideoError } from './errors.js';

export type { ClientMessage, ServerMessage, PeerInfo, TrackKind } from '@alloquy/protocol/signalling';
export type TurnInfo = Extract<ServerMessage, { type: 'welcome' }>['turn'];
type Reply<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;
/** A client message without the `id` the connection assigns. */
type Request = ClientMessage extends infer M ? (M extends unknown ? Omit<M, 'id'> : never) : never;

/** WebSocket.OPEN (the constant is static on the class, which callers may pass in). */
const OPEN = 1;

/** What is needed of a WebSocket class: the WHATWG constructor (browsers, `ws`). */
export type WebSocketConstructor = new (url: string) => WebSocket;

export interface SignallingConnectionOptions {
  /** `ws(s)://host:8082/api/v1/signalling`. */
  url: string;
  /** The control server's access token. */
  token: string;
  /** Default: `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** How long a request waits for its reply (default 10 s). */
  requestTimeoutMs?: number;
  /**
   * When to renew TURN credentials, in ms after getting them (default: half their ttl). coturn
   * checks them only when allocating, so they matter for the peer connections still to come.
   */
  turnRenewalMs?: number;
}

export interface SignallingEvents {
  /** Every message that is not a reply to a request of ours. */
  message: ServerMessage;
  /** An `error` the service sent about nothing we are waiting for (e.g. a relay to a peer that left). */
  serviceError: Extract<ServerMessage, { type: 'error' }>;
  /** TURN credentials changed (renewed, or after `refresh`). */
  turn: TurnInfo;
  /** Renewing TURN credentials failed (an expired access token: call refresh); retried in 30 s. */
  turnRenewalFailed: VideoError;
  closed: { code: number; reason: string };
}

interface Pending {
  replyType: ServerMessage['type'];
  resolve(message: ServerMessage): void;
  reject(error: VideoError): void;
  timer: ReturnType<typeof setTimeout>;
}

export class SignallingConnection extends Emitter<SignallingEvents> {
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private closedWith: { code: number; reason: string } | undefined;
  private renewalTimer: ReturnType<typeof setTimeout> | undefined;
  /** This connection's peer id, as others in a room know it. */
  peerId = '';
  account = '';
  turn: TurnInfo = { urls: [], username: '', credential: '', ttl: 0 };

  private constructor(
    private readonly socket: WebSocket,
    private readonly timeoutMs: number,
    private readonly turnRenewalMs: number | undefined,
  ) {
    super();
    socket.addEventListener('message', (event) => this.onMessage(event.data));
    socket.addEventListener('close', (event) => this.onClose(event.code, event.reason));
  }

  /** Opens the WebSocket and authenticates; rejects with `refused` (`invalid_token`) for a bad token. */
  static async open(options: SignallingConnectionOptions): Promise<SignallingConnection> {
    const WebSocketClass = options.WebSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined);
    if (!WebSocketClass) throw new VideoError('connection_closed', 'no WebSocket implementation: pass one as options.WebSocket');
    const socket = new WebSocketClass(options.url);
    await new Promise<void>((resolve, reject) => {
      const opened = () => {
        socket.removeEventListener('error', failed);
        resolve();
      };
      const failed = () => {
        socket.removeEventListener('open', opened);
        reject(new VideoError('connection_closed', `cannot connect to the signalling service at ${options.url}`));
      };
      socket.addEventListener('open', opened, { once: true });
      socket.addEventListener('error', failed, { once: true });
    });
    const connection = new SignallingConnection(socket, options.requestTimeoutMs ?? 10_000, options.turnRenewalMs);
    try {
      const welcome = await connection.request({ type: 'hello', token: options.token }, 'welcome');
      connection.peerId = welcome.peerId;
      connection.account = welcome.account;
      connection.setTurn(welcome.turn, false);
    } catch (err) {
      connection.close();
      throw err;
    }
    return connection;
  }

  get isOpen(): boolean {
    return this.closedWith === undefined;
  }

  /** Replaces the access token (before it expires) and takes the fresh TURN credentials. */
  async refresh(token: string): Promise<TurnInfo> {
    const reply = await this.request({ type: 'refresh', token }, 'refreshed');
    this.setTurn(reply.turn, true);
    return reply.turn;
  }

  private setTurn(turn: TurnInfo, announce: boolean): void {
    this.turn = turn;
    if (announce) this.emit('turn', turn);
    this.scheduleTurnRenewal(this.turnRenewalMs ?? (turn.ttl * 1000) / 2);
  }

  private scheduleTurnRenewal(delayMs: number): void {
    clearTimeout(this.renewalTimer);
    if (this.closedWith || !(delayMs > 0)) return;
    this.renewalTimer = setTimeout(() => {
      this.request({ type: 'turn' }, 'turn').then(
        (reply) => this.setTurn(reply.turn, true),
        (err: VideoError) => {
          if (this.closedWith) return;
          this.emit('turnRenewalFailed', err);
          this.scheduleTurnRenewal(30_000);
        },
      );
    }, delayMs);
  }

  /** Sends a request and resolves with its reply, or rejects with the service's refusal. */
  request<T extends ServerMessage['type']>(message: Request, replyType: T): Promise<Reply<T>> {
    if (this.closedWith || this.socket.readyState !== OPEN) return Promise.reject(this.closedError());
    const id = `r${this.nextId++}`;
    return new Promise<Reply<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new VideoError('timeout', `the signalling service did not answer ${message.type} in ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { replyType, resolve: resolve as (m: ServerMessage) => void, reject, timer });
      this.socket.send(JSON.stringify({ ...message, id }));
    });
  }

  /** Sends without waiting (relays: offers, answers, candidates). Dropped once closed. */
  send(message: Request): void {
    if (this.closedWith || this.socket.readyState !== OPEN) return;
    this.socket.send(JSON.stringify(message));
  }

  close(): void {
    this.socket.close(1000, 'bye');
  }

  private onMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    let message: ServerMessage;
    try {
      message = JSON.parse(data) as ServerMessage;
    } catch {
      return;
    }
    const ref = 'ref' in message ? message.ref : undefined;
    const waiting = ref === undefined ? undefined : this.pending.get(String(ref));
    if (waiting && (message.type === waiting.replyType || message.type === 'error')) {
      this.pending.delete(String(ref));
      clearTimeout(waiting.timer);
      if (message.type === 'error') waiting.reject(new VideoError('refused', message.message, message.code));
      else waiting.resolve(message);
      // The publisher's own `tracks` is also the room's news: let the room see it.
      if (message.type !== 'tracks') return;
    }
    if (message.type === 'error') this.emit('serviceError', message);
    else this.emit('message', message);
  }

  private onClose(code: number, reason: string): void {
    if (this.closedWith) return;
    this.closedWith = { code, reason };
    clearTimeout(this.renewalTimer);
    for (const waiting of this.pending.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(this.closedError());
    }
    this.pending.clear();
    this.emit('closed', this.closedWith);
  }

  private closedError(): VideoError {
    const why = this.closedWith?.reason ? `: ${this.closedWith.reason}` : '';
    return new VideoError('connection_closed', `the signalling connection closed (${this.closedWith?.code ?? 'closing'})${why}`);
  }
}
