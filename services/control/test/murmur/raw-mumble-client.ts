/**
 * A raw Mumble client for integration tests, like test/irc-link/raw-client.ts is for IRC:
 * TLS (optionally with a client certificate), the control protocol's framing (2-byte type,
 * 4-byte length, protobuf), Version, Authenticate, UserState (join a channel, self-mute) and
 * Ping. No voice. Deliberately no Mumble library, so the tests see exactly what Murmur says.
 */
import tls from 'node:tls';

export const Msg = {
  Version: 0,
  Authenticate: 2,
  Ping: 3,
  Reject: 4,
  ServerSync: 5,
  ChannelState: 7,
  UserRemove: 8,
  UserState: 9,
  PermissionDenied: 12,
} as const;

export const RejectType = { WrongUserPW: 3, WrongServerPW: 4 } as const;

interface Frame {
  type: number;
  fields: Map<number, (number | Buffer)[]>;
}

type Field = [number, number | boolean | string];

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

function encode(fields: readonly Field[]): Buffer {
  const parts: Buffer[] = [];
  for (const [field, value] of fields) {
    if (typeof value === 'string') {
      const bytes = Buffer.from(value, 'utf8');
      parts.push(varint((field << 3) | 2), varint(bytes.length), bytes);
    } else parts.push(varint(field << 3), varint(Number(value)));
  }
  return Buffer.concat(parts);
}

function decode(payload: Buffer): Map<number, (number | Buffer)[]> {
  const out = new Map<number, (number | Buffer)[]>();
  let i = 0;
  const readVarint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = payload[i++]!;
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if (!(byte & 0x80)) return value;
    }
  };
  while (i < payload.length) {
    const key = readVarint();
    const wire = key & 7;
    let value: number | Buffer;
    if (wire === 0) value = readVarint();
    else {
      const length = wire === 2 ? readVarint() : wire === 1 ? 8 : 4;
      value = payload.subarray(i, i + length);
      i += length;
    }
    const list = out.get(key >>> 3) ?? [];
    list.push(value);
    out.set(key >>> 3, list);
  }
  return out;
}

export type LoginOutcome = { ok: true; session: number } | { ok: false; type: number; reason: string };

export class RawMumbleClient {
  readonly frames: Frame[] = [];
  private waiters: { test: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private buffer = Buffer.alloc(0);
  private pinger: NodeJS.Timeout | undefined;
  private closedFlag = false;
  readonly closed: Promise<void>;
  session = 0;

  private constructor(private readonly socket: tls.TLSSocket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.closedFlag = true;
        clearInterval(this.pinger);
        resolve();
      }),
    );
  }

  static connect(port: number, options: { host?: string; cert?: string; key?: string } = {}): Promise<RawMumbleClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: options.host ?? '127.0.0.1',
        port,
        rejectUnauthorized: false,
        ...(options.cert ? { cert: options.cert, key: options.key } : {}),
      });
      socket.once('secureConnect', () => {
        socket.setNoDelay(true);
        const client = new RawMumbleClient(socket);
        client.send(Msg.Version, [[1, (1 << 16) | (3 << 8) | 4], [2, 'alloquy-test'], [3, 'Linux'], [4, 'node']]);
        resolve(client);
      });
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  send(type: number, fields: readonly Field[]): void {
    const payload = encode(fields);
    const header = Buffer.alloc(6);
    header.writeUInt16BE(type, 0);
    header.writeUInt32BE(payload.length, 2);
    this.socket.write(Buffer.concat([header, payload]));
  }

  async login(username: string, password?: string): Promise<LoginOutcome> {
    this.send(Msg.Authenticate, [[1, username], ...(password === undefined ? [] : ([[2, password]] as Field[])), [5, true]]);
    const frame = await this.waitFor((f) => f.type === Msg.ServerSync || f.type === Msg.Reject);
    if (frame.type === Msg.Reject) {
      return { ok: false, type: Number(frame.fields.get(1)?.[0] ?? 0), reason: String(frame.fields.get(2)?.[0] ?? '') };
    }
    this.session = Number(frame.fields.get(1)?.[0]);
    // Murmur drops clients that stay silent for 30 s.
    this.pinger = setInterval(() => this.send(Msg.Ping, [[1, Date.now()]]), 5000);
    return { ok: true, session: this.session };
  }

  /** Channel name → id, from the ChannelState messages received. */
  channels(): Map<string, number> {
    const out = new Map<string, number>();
    for (const f of this.frames) {
      if (f.type !== Msg.ChannelState) continue;
      const id = f.fields.get(1)?.[0];
      const name = f.fields.get(3)?.[0];
      if (typeof id === 'number' && Buffer.isBuffer(name)) out.set(name.toString('utf8'), id);
    }
    return out;
  }

  joinChannel(channelId: number): void {
    this.send(Msg.UserState, [[1, this.session], [5, channelId]]);
  }

  setSelfMute(mute: boolean, deaf = false): void {
    this.send(Msg.UserState, [[1, this.session], [9, mute], [10, deaf]]);
  }

  /** Resolves with the first frame (already received or later) that passes `test`. */
  waitFor(test: (f: Frame) => boolean, timeoutMs = 10_000, from = 0): Promise<Frame> {
    const seen = this.frames.slice(from).find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        test,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching Mumble message within ${timeoutMs} ms (types seen: ${this.frames.map((f) => f.type).join(',')})`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  mark(): number {
    return this.frames.length;
  }

  close(): void {
    clearInterval(this.pinger);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 6) {
      const length = this.buffer.readUInt32BE(2);
      if (this.buffer.length < 6 + length) break;
      const frame = { type: this.buffer.readUInt16BE(0), fields: decode(Buffer.from(this.buffer.subarray(6, 6 + length))) };
      this.buffer = this.buffer.subarray(6 + length);
      this.frames.push(frame);
      for (const w of [...this.waiters]) if (w.test(frame)) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(frame);
      }
    }
  }
}

/** Logs in and closes: whether Murmur accepts this name and password now. */
export async function mumbleLogin(port: number, username: string, password?: string, options: { cert?: string; key?: string } = {}): Promise<LoginOutcome> {
  const client = await RawMumbleClient.connect(port, options);
  try {
    return await client.login(username, password);
  } finally {
    client.close();
  }
}
