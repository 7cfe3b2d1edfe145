import { randomUUID } from 'node:crypto';
import type { Logger } from '@alloquy/service-kit/log';
import type { WebSocket } from 'ws';
import { authorizeJoin, authorizePublish } from '../authz/room-access.js';
import type { Identity, VoiceAccess } from '../authz/voice-access.js';
import { SignallingError } from '../errors/signalling-error.js';
import type { SignallingMetrics } from '../metrics/metrics.js';
import { clientMessageSchema, requestIdOf, type ClientMessage, type RelayMessage, type ServerMessage, type TrackKind } from '@alloquy/protocol/signalling';
import { parseRoomName } from '../rooms/room-name.js';
import { peerInfo, trackInfo, type Member, type Room, type Rooms } from '../rooms/rooms.js';
import type { TurnCredentials } from '../turn/turn-credentials.js';
import { TokenBucket } from './rate-limit.js';

export interface SessionDeps {
  access: VoiceAccess;
  rooms: Rooms;
  metrics: SignallingMetrics;
  log: Logger;
  mintTurn(account: string, via: 'welcome' | 'refresh' | 'renew'): TurnCredentials;
  limits: { messagesPerSecond: number; messageBurst: number; helloTimeoutMs: number };
  now: () => number;
}

/** WebSocket close codes (RFC 6455 §7.4 and the private range). */
export const CLOSE = { policy: 1008, authFailed: 4001, helloTimeout: 4002 } as const;

/**
 * One WebSocket connection: authenticates, then joins at most one room at a time, announces its
 * tracks and relays offers, answers and candidates to peers of that room. Messages are handled one
 * after another (a join waiting on the control server is not overtaken by a publish), and a bad
 * message is answered with an `error`, never by dropping the connection.
 */
export class Session implements Member {
  readonly peerId = randomUUID();
  readonly tracks = new Map<TrackKind, string | null>();
  private token: string | undefined;
  private identity: Identity | undefined;
  private room: Room | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly bucket: TokenBucket;
  private readonly helloTimer: NodeJS.Timeout;

  constructor(
    private readonly socket: WebSocket,
    private readonly deps: SessionDeps,
    /** From an `Authorization: Bearer` header on the upgrade request, if any. */
    headerToken: string | undefined,
  ) {
    this.bucket = new TokenBucket(deps.limits.messagesPerSecond, deps.limits.messageBurst, deps.now());
    this.helloTimer = setTimeout(() => {
      if (!this.identity) this.close(CLOSE.helloTimeout, 'no hello');
    }, deps.limits.helloTimeoutMs);
    socket.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    socket.on('close', () => this.onClose());
    if (headerToken !== undefined) this.enqueue(() => this.hello(headerToken, undefined));
  }

  get account(): string {
    return this.identity?.account ?? '';
  }

  send(message: ServerMessage): void {
    if (this.closed) return;
    this.socket.send(JSON.stringify(message));
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (!this.bucket.take(this.deps.now())) {
      this.deps.metrics.messages.inc({ type: 'unknown', result: 'rate_limited' });
      this.sendError(new SignallingError('rate_limited', 'too many messages; slow down'));
      return;
    }
    let raw: unknown;
    try {
      if (isBinary) throw new SignallingError('invalid_message', 'messages are JSON text');
      raw = JSON.parse(data.toString('utf8'));
    } catch (err) {
      this.deps.metrics.messages.inc({ type: 'unknown', result: 'invalid' });
      this.sendError(err instanceof SignallingError ? err : new SignallingError('invalid_message', 'the message is not valid JSON'));
      return;
    }
    const parsed = clientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.deps.metrics.messages.inc({ type: 'unknown', result: 'invalid' });
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      this.sendError(new SignallingError('invalid_message', `invalid message: ${where}${issue?.message ?? 'unreadable'}`), requestIdOf(raw));
      return;
    }
    const message = parsed.data;
    this.enqueue(async () => {
      try {
        await this.handle(message);
        this.deps.metrics.messages.inc({ type: message.type, result: 'ok' });
      } catch (err) {
        this.deps.metrics.messages.inc({ type: message.type, result: 'refused' });
        throw err;
      }
    }, message.id);
  }

  private enqueue(task: () => Promise<void>, ref?: string | number): void {
    this.queue = this.queue.then(task).catch((err: unknown) => {
      if (err instanceof SignallingError) {
        this.sendError(err, ref);
        // A hello with a bad token: the connection has nothing left to do.
        if (err.code === 'invalid_token' && !this.identity) this.close(CLOSE.authFailed, 'authentication failed');
        return;
      }
      this.deps.log.error({ err, peerId: this.peerId }, 'handling a message failed');
      this.sendError(new SignallingError('internal', 'internal error'), ref);
    });
  }

  private async handle(message: ClientMessage): Promise<void> {
    if (this.closed) return;
    if (message.type === 'hello') return this.hello(message.token, message.id);
    if (!this.identity || this.token === undefined) throw new SignallingError('unauthorized', 'say hello with an access token first');
    switch (message.type) {
      case 'refresh':
        return this.refresh(message.token, message.id);
      case 'turn':
        return this.renewTurn(message.id);
      case 'join':
        return this.join(message.room, message.id);
      case 'leave':
        return this.leave(message.id);
      case 'publish':
        return this.publish(message.track, message.stream ?? null, message.id);
      case 'unpublish':
        return this.unpublish(message.track, message.id);
      case 'offer':
      case 'answer':
      case 'candidate':
      case 'renegotiate':
      case 'transceiver':
        return this.relay(message);
    }
  }

  private async hello(token: string, ref: string | number | undefined): Promise<void> {
    if (this.identity) throw new SignallingError('invalid_message', 'already said hello; use refresh to replace the token');
    const identity = await this.deps.access.identify(token);
    if (this.closed) return;
    this.identity = identity;
    this.token = token;
    clearTimeout(this.helloTimer);
    this.deps.log.debug({ peerId: this.peerId, account: identity.account }, 'connected');
    this.send({ type: 'welcome', peerId: this.peerId, account: identity.account, turn: this.deps.mintTurn(identity.account, 'welcome'), ...refOf(ref) });
  }

  /** A fresh access token (they are short-lived) for later permission checks, and fresh TURN credentials. */
  private async refresh(token: string, ref: string | number | undefined): Promise<void> {
    const identity = await this.deps.access.identify(token);
    if (identity.accountId !== this.identity!.accountId) throw new SignallingError('forbidden', 'the new token belongs to another account');
    this.token = token;
    this.send({ type: 'refreshed', turn: this.deps.mintTurn(identity.account, 'refresh'), ...refOf(ref) });
  }

  /**
   * Fresh TURN credentials with the token in hand: a client keeps them fresh for the peer
   * connections it has yet to make (coturn checks the expiry only when allocating). The token
   * must still be valid: credentials are not handed to an expired session or a disabled account.
   */
  private async renewTurn(ref: string | number | undefined): Promise<void> {
    const identity = await this.deps.access.identify(this.token!);
    this.send({ type: 'turn', turn: this.deps.mintTurn(identity.account, 'renew'), ...refOf(ref) });
  }

  private async join(name: string, ref: string | number | undefined): Promise<void> {
    const grant = await authorizeJoin(this.deps.access, this.token!, parseRoomName(name));
    if (this.closed) return;
    if (this.room?.key === grant.key) throw new SignallingError('invalid_message', 'already in this room');
    this.leaveRoom();
    const room = this.deps.rooms.join(grant, this);
    this.room = room;
    this.deps.metrics.roomMembers.inc();
    const peers = [...room.members.values()].filter((m) => m.peerId !== this.peerId).map(peerInfo);
    const where = grant.kind === 'voice' ? { channelId: grant.channelId } : { accounts: grant.accounts };
    this.send({ type: 'room', room: room.name, kind: grant.kind, ...where, peerId: this.peerId, peers, ...refOf(ref) });
  }

  private async leave(ref: string | number | undefined): Promise<void> {
    const room = this.requireRoom();
    this.leaveRoom();
    this.send({ type: 'left', room: room.name, peerId: this.peerId, ...refOf(ref) });
  }

  private async publish(track: TrackKind, stream: string | null, ref: string | number | undefined): Promise<void> {
    const room = this.requireRoom();
    // Checked again at every publish: VIDEO (or membership) may have been taken away since the join.
    await authorizePublish(this.deps.access, this.token!, room.grant, `sharing a ${track === 'screen' ? 'screen' : 'camera'}`);
    if (this.room !== room) throw new SignallingError('not_in_room', 'you left the room before the track was allowed');
    const changed = !this.tracks.has(track) || this.tracks.get(track) !== stream;
    this.tracks.set(track, stream);
    this.announceTracks(room, ref, changed);
  }

  private async unpublish(track: TrackKind, ref: string | number | undefined): Promise<void> {
    const room = this.requireRoom();
    this.announceTracks(room, ref, this.tracks.delete(track));
  }

  private async relay(message: RelayMessage): Promise<void> {
    const room = this.requireRoom();
    const peer = room.members.get(message.to);
    if (!peer || peer === this) throw new SignallingError('unknown_peer', `no peer ${message.to} in ${room.name}`);
    switch (message.type) {
      case 'candidate':
        return peer.send({ type: 'candidate', from: this.peerId, candidate: message.candidate });
      case 'renegotiate':
        return peer.send({ type: 'renegotiate', from: this.peerId });
      case 'transceiver':
        return peer.send({ type: 'transceiver', from: this.peerId, kind: message.kind });
      default:
        return peer.send({ type: message.type, from: this.peerId, sdp: message.sdp });
    }
  }

  /** The sender always hears its tracks (with `ref`: that is its acknowledgement); the others only a change. */
  private announceTracks(room: Room, ref: string | number | undefined, changed: boolean): void {
    const message = { type: 'tracks', room: room.name, peerId: this.peerId, ...trackInfo(this) } as const;
    if (changed) room.broadcast(message, this.peerId);
    this.send({ ...message, ...refOf(ref) });
  }

  private requireRoom(): Room {
    if (!this.room) throw new SignallingError('not_in_room', 'join a room first');
    return this.room;
  }

  private leaveRoom(): void {
    if (!this.room) return;
    this.deps.rooms.leave(this.room, this);
    this.deps.metrics.roomMembers.dec();
    this.room = undefined;
    this.tracks.clear();
  }

  private sendError(error: SignallingError, ref?: string | number): void {
    this.send({ type: 'error', code: error.code, message: error.message, ...(ref !== undefined ? { ref } : {}) });
  }

  private close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  private onClose(): void {
    if (this.closed) return;
    clearTimeout(this.helloTimer);
    this.leaveRoom();
    this.closed = true;
    this.deps.metrics.connections.dec();
    if (this.identity) this.deps.log.debug({ peerId: this.peerId, account: this.identity.account }, 'disconnected');
  }
}

function refOf(ref: string | number | undefined): { ref?: string | number } {
  return ref === undefined ? {} : { ref };
}
