/**
 * Just enough of the Mumble protocol to check a Murmur from outside: TLS,
 * framing (2-byte type, 4-byte length, protobuf payload), Version,
 * Authenticate, the messages that tell a login's outcome, UserState (join a
 * channel, self-mute) and Ping. Not a voice client (clients/lib is); for
 * readiness checks, tests and benchmarks, which see exactly what Murmur says.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { connect, type PeerCertificate, type TLSSocket } from 'node:tls';

export const MumbleMessage = Object.freeze({
  Version: 0,
  UDPTunnel: 1,
  Authenticate: 2,
  Ping: 3,
  Reject: 4,
  ServerSync: 5,
  ChannelRemove: 6,
  ChannelState: 7,
  UserRemove: 8,
  UserState: 9,
  TextMessage: 11,
  PermissionDenied: 12,
  CryptSetup: 15,
  PermissionQuery: 20,
  CodecVersion: 21,
  ServerConfig: 24,
} as const);

/** Why Murmur refused a login (MumbleProto.Reject.RejectType). */
export const MumbleRejectType = Object.freeze({
  None: 0,
  WrongVersion: 1,
  InvalidUsername: 2,
  WrongUserPW: 3,
  WrongServerPW: 4,
  UsernameInUse: 5,
  ServerFull: 6,
  NoCertificate: 7,
  AuthenticatorFail: 8,
} as const);

/** The protocol version this probe announces: 1.3.4. */
export const MUMBLE_PROTOCOL_VERSION = (1 << 16) | (3 << 8) | 4;

export interface MumbleFrame {
  type: number;
  payload: Buffer;
}

export function encodeMumbleFrame(type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt16BE(type, 0);
  header.writeUInt32BE(payload.length, 2);
  return Buffer.concat([header, payload]);
}

/** Splits a TCP stream into frames. */
export class MumbleFrameReader {
  private buffer = Buffer.alloc(0);

  push(chunk: Buffer): MumbleFrame[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: MumbleFrame[] = [];
    while (this.buffer.length >= 6) {
      const length = this.buffer.readUInt32BE(2);
      if (this.buffer.length < 6 + length) break;
      frames.push({ type: this.buffer.readUInt16BE(0), payload: Buffer.from(this.buffer.subarray(6, 6 + length)) });
      this.buffer = this.buffer.subarray(6 + length);
    }
    return frames;
  }
}

/** A protobuf field: varints as numbers (exact up to 2^53), length-delimited as bytes. */
export type ProtoField = [field: number, value: number | boolean | string | Buffer];

export function encodeProto(fields: readonly ProtoField[]): Buffer {
  const parts: Buffer[] = [];
  for (const [field, value] of fields) {
    if (typeof value === 'number' || typeof value === 'boolean') {
      parts.push(varint(field << 3), varint(Number(value)));
    } else {
      const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      parts.push(varint((field << 3) | 2), varint(bytes.length), bytes);
    }
  }
  return Buffer.concat(parts);
}

/** Every field of a message by number; repeated fields keep their order. 32/64-bit fixed fields are raw bytes. */
export function decodeProto(payload: Buffer): Map<number, (number | Buffer)[]> {
  const fields = new Map<number, (number | Buffer)[]>();
  let offset = 0;
  const readVarint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (offset >= payload.length) throw new Error('truncated varint');
      const byte = payload[offset++]!;
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) return value;
    }
  };
  while (offset < payload.length) {
    const key = readVarint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    let value: number | Buffer;
    if (wireType === 0) value = readVarint();
    else if (wireType === 2 || wireType === 1 || wireType === 5) {
      const length = wireType === 2 ? readVarint() : wireType === 1 ? 8 : 4;
      if (offset + length > payload.length) throw new Error('truncated field');
      value = Buffer.from(payload.subarray(offset, offset + length));
      offset += length;
    } else throw new Error(`unsupported protobuf wire type ${wireType}`);
    const list = fields.get(field);
    if (list === undefined) fields.set(field, [value]);
    else list.push(value);
  }
  return fields;
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

export interface MumbleUdpPong {
  /** (major << 16) | (minor << 8) | patch */
  version: number;
  users: number;
  maxUsers: number;
  /** Bits per second per user. */
  maxBandwidth: number;
}

/**
 * Mumble's UDP ping (what the server list shows): 12 bytes out (zero, then an
 * 8-byte ident), 24 bytes back when the server answers pings (allowping).
 * Resolves undefined when nothing answers in time: it proves that Murmur
 * itself serves the UDP voice port.
 */
export function mumbleUdpPing(host: string, port: number, timeoutMs = 1000): Promise<MumbleUdpPong | undefined> {
  const ident = randomBytes(8);
  const request = Buffer.concat([Buffer.alloc(4), ident]);
  const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    const done = (pong: MumbleUdpPong | undefined): void => {
      clearTimeout(timer);
      socket.removeAllListeners('message');
      try {
        socket.close();
      } catch {
        // Already closed.
      }
      resolve(pong);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    socket.on('message', (message: Buffer) => {
      if (message.length !== 24 || !message.subarray(4, 12).equals(ident)) return;
      done({
        version: message.readUInt32BE(0),
        users: message.readUInt32BE(12),
        maxUsers: message.readUInt32BE(16),
        maxBandwidth: message.readUInt32BE(20),
      });
    });
    socket.send(request, port, host, (error) => {
      if (error) done(undefined);
    });
  });
}

export interface MumbleServerVersion {
  /** (major << 16) | (minor << 8) | patch */
  version: number;
  release: string;
}

export type MumbleLogin = { ok: true; session: number; welcomeText: string; maxBandwidth: number | undefined } | { ok: false; type: number; reason: string };

export interface MumbleProbeOptions {
  host: string;
  port: number;
  /** Default 10 s for each wait. */
  timeoutMs?: number;
  /** A client certificate (PEM) and its key: Murmur logs a registered user in by its certificate. */
  cert?: string;
  key?: string;
  /**
   * Ping every 5 s once logged in, as a real client does: Murmur drops a
   * connection that stays silent for 30 s. For connections held through a
   * test; off by default, a probe is short-lived.
   */
  keepAlive?: boolean;
}

/** How often a keep-alive probe pings: well inside Murmur's 30 s timeout. */
const KEEPALIVE_INTERVAL_MS = 5000;

/** One TLS connection to Murmur, reading every message it sends. */
export class MumbleProbe {
  readonly frames: MumbleFrame[] = [];
  /** Settles once the connection is gone (closed by either side, or failed). */
  readonly closed: Promise<void>;
  private waiters: { test: (frame: MumbleFrame) => boolean; resolve: (frame: MumbleFrame) => void }[] = [];
  private closedWith: Error | undefined;
  private closeListeners: ((error: Error) => void)[] = [];
  private resolveClosed!: () => void;
  private sessionId: number | undefined;
  private pinger: NodeJS.Timeout | undefined;

  private constructor(
    private readonly socket: TLSSocket,
    private readonly timeoutMs: number,
    private readonly keepAlive: boolean,
  ) {
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    const reader = new MumbleFrameReader();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) this.receive(frame);
    });
    socket.on('close', () => this.ended(new Error('Murmur closed the connection')));
    socket.on('error', (error) => this.ended(error));
  }

  /** Connects over TLS (accepting any certificate: check `certificate` yourself) and announces this client's version. */
  static connect(options: MumbleProbeOptions): Promise<MumbleProbe> {
    const socket = connect({
      host: options.host,
      port: options.port,
      rejectUnauthorized: false,
      ...(options.cert === undefined ? {} : { cert: options.cert, key: options.key }),
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no TLS handshake with ${options.host}:${options.port} within ${options.timeoutMs ?? 10_000} ms`));
      }, options.timeoutMs ?? 10_000);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        // Small messages that are waited for one by one: no Nagle delay.
        socket.setNoDelay(true);
        const probe = new MumbleProbe(socket, options.timeoutMs ?? 10_000, options.keepAlive === true);
        probe.send(
          MumbleMessage.Version,
          encodeProto([
            [1, MUMBLE_PROTOCOL_VERSION],
            [2, 'alloquy-probe'],
            [3, 'Linux'],
            [4, 'node'],
          ]),
        );
        resolve(probe);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** The server's certificate. */
  get certificate(): PeerCertificate {
    return this.socket.getPeerCertificate();
  }

  /** This client's session id once logged in. */
  get session(): number | undefined {
    return this.sessionId;
  }

  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }

  send(type: number, payload: Buffer): void {
    this.socket.write(encodeMumbleFrame(type, payload));
  }

  /** Murmur's Version message (sent first, before any login). */
  async serverVersion(): Promise<MumbleServerVersion> {
    const fields = decodeProto((await this.waitFor((frame) => frame.type === MumbleMessage.Version)).payload);
    return { version: Number(fields.get(1)?.[0] ?? 0), release: text(fields.get(2)?.[0]) };
  }

  /** Sends Authenticate (Opus capable) and resolves with ServerSync or Reject. */
  async login(username: string, password?: string): Promise<MumbleLogin> {
    const fields: ProtoField[] = [[1, username]];
    if (password !== undefined) fields.push([2, password]);
    fields.push([5, true]);
    this.send(MumbleMessage.Authenticate, encodeProto(fields));
    const frame = await this.waitFor((candidate) => candidate.type === MumbleMessage.ServerSync || candidate.type === MumbleMessage.Reject);
    const message = decodeProto(frame.payload);
    if (frame.type === MumbleMessage.Reject) {
      return { ok: false, type: Number(message.get(1)?.[0] ?? 0), reason: text(message.get(2)?.[0]) };
    }
    const bandwidth = message.get(2)?.[0];
    this.sessionId = Number(message.get(1)?.[0] ?? 0);
    if (this.keepAlive && !this.isClosed) {
      this.pinger = setInterval(() => this.send(MumbleMessage.Ping, encodeProto([[1, Date.now()]])), KEEPALIVE_INTERVAL_MS);
    }
    return {
      ok: true,
      session: this.sessionId,
      welcomeText: text(message.get(3)?.[0]),
      maxBandwidth: typeof bandwidth === 'number' ? bandwidth : undefined,
    };
  }

  /** Channel id → name, from every ChannelState received so far. */
  channels(): Map<number, string> {
    const channels = new Map<number, string>();
    for (const frame of this.frames) {
      if (frame.type !== MumbleMessage.ChannelState) continue;
      const fields = decodeProto(frame.payload);
      const id = fields.get(1)?.[0];
      const name = fields.get(3)?.[0];
      if (typeof id === 'number' && name !== undefined) channels.set(id, text(name));
      else if (typeof id === 'number' && !channels.has(id)) channels.set(id, '');
    }
    return channels;
  }

  /** The id of the channel with this name, from the ChannelStates received so far. */
  channelId(name: string): number | undefined {
    for (const [id, channelName] of this.channels()) if (channelName === name) return id;
    return undefined;
  }

  /** Moves this (logged-in) client into a channel. Murmur answers with a UserState, or PermissionDenied. */
  joinChannel(channelId: number): void {
    this.send(
      MumbleMessage.UserState,
      encodeProto([
        [1, this.loggedInSession()],
        [5, channelId],
      ]),
    );
  }

  /** Sets this (logged-in) client's own mute and deafen flags, as a user's mute button does. */
  setSelfMute(mute: boolean, deaf = false): void {
    this.send(
      MumbleMessage.UserState,
      encodeProto([
        [1, this.loggedInSession()],
        [9, mute],
        [10, deaf],
      ]),
    );
  }

  /** How many frames have arrived: pass it to waitFor to wait only for what comes after. */
  mark(): number {
    return this.frames.length;
  }

  /** Resolves with the first frame (received so far, from index `from` on, or later) that passes `test`. */
  waitFor(test: (frame: MumbleFrame) => boolean, timeoutMs = this.timeoutMs, from = 0): Promise<MumbleFrame> {
    const seen = this.frames.slice(from).find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching Mumble message within ${timeoutMs} ms (got types ${this.frames.map((f) => f.type).join(',')})`));
      }, timeoutMs);
      const waiter = {
        test,
        resolve: (frame: MumbleFrame) => {
          cleanup();
          resolve(frame);
        },
      };
      const onClose = (error: Error): void => {
        cleanup();
        reject(error);
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((candidate) => candidate !== waiter);
        this.closeListeners = this.closeListeners.filter((listener) => listener !== onClose);
      };
      this.waiters.push(waiter);
      this.closeListeners.push(onClose);
    });
  }

  close(): void {
    clearInterval(this.pinger);
    this.socket.destroy();
  }

  private loggedInSession(): number {
    if (this.sessionId === undefined) throw new Error('not logged in to Murmur');
    return this.sessionId;
  }

  private receive(frame: MumbleFrame): void {
    this.frames.push(frame);
    for (const waiter of [...this.waiters]) if (waiter.test(frame)) waiter.resolve(frame);
  }

  private ended(error: Error): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = error;
    clearInterval(this.pinger);
    this.resolveClosed();
    for (const listener of [...this.closeListeners]) listener(error);
  }
}

/** Connects, logs in and closes: whether Murmur lets this name (with this password or certificate) in now. */
export async function mumbleLogin(options: MumbleProbeOptions, username: string, password?: string): Promise<MumbleLogin> {
  const probe = await MumbleProbe.connect(options);
  try {
    return await probe.login(username, password);
  } finally {
    probe.close();
  }
}

function text(value: number | Buffer | undefined): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : '';
}
