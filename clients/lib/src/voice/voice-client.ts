/**
 * A Mumble voice client for the desktop app and for bots: mumble-client over a
 * `tls.connect` socket, Opus through opusscript.
 *
 * Voice rides the TCP connection (mumble-client's UDPTunnel fallback): no UDP
 * socket, no OCB2 crypto, so it works wherever the TLS port is reachable.
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import MumbleClient from 'mumble-client';
import { rejectTypeName, VoiceError, VoicePermissionError, VoiceRejectedError } from './errors.js';
import { OpusCodecs, type DecodedFrame, type OpusApplication } from './opus-codec.js';
import { int16ToFloat, PcmFramer } from './pcm.js';
import { SAMPLE_RATE } from './tone.js';
import { voicePacketSource } from './voice-packet.js';

/** Murmur's default port. */
export const DEFAULT_MUMBLE_PORT = 64738;

export interface VoiceConnectOptions {
  host: string;
  /** Default {@link DEFAULT_MUMBLE_PORT}. */
  port?: number;
  /** Mumble user name; for a registered account, the account name. */
  username: string;
  /** The account password (registered users) or the server password; may be empty. */
  password?: string;
  /** Access tokens (Murmur ACL groups `#token`). */
  tokens?: string[];
  /**
   * Verify the server certificate against `ca` (or the system store) and the
   * host name. Default true; Murmur's self-generated certificate needs
   * `ca` set to it, or false here.
   */
  rejectUnauthorized?: boolean;
  ca?: ConnectionOptions['ca'];
  /** Host name to verify and send as SNI; default `host` unless that is an IP address. */
  servername?: string;
  /** Client certificate and key: Murmur can bind a registered account to a certificate hash. */
  cert?: ConnectionOptions['cert'];
  key?: ConnectionOptions['key'];
  /** Give up on TCP + TLS + login after this many ms (default 10 000). */
  timeoutMs?: number;
}

export interface VoiceClientOptions {
  /** Outgoing frame length: 10 or 20 ms (default 20, what Mumble clients use). */
  frameDurationMs?: 10 | 20;
  /** Outgoing Opus bitrate in bit/s; default the most the server's bandwidth limit allows. */
  bitrate?: number;
  /** libopus application for encoding (default 'voip'). */
  opusApplication?: OpusApplication;
  /**
   * A remote transmission counts as ended (speakingStop) after this many ms
   * without a packet when its end marker never came (default 200, mumble-client's).
   */
  speakerTimeoutMs?: number;
  /** Client name sent to the server (default "Alloquy"). */
  clientSoftware?: string;
}

export interface VoiceChannel {
  id: number;
  name: string;
  /** undefined for the root channel. */
  parentId: number | undefined;
  /** Names from below the root, joined with "/"; "" for the root channel. */
  path: string;
  temporary: boolean;
}

export interface VoiceUser {
  /** Session id: unique per connection, what {@link VoiceClient.onPcm} reports. */
  session: number;
  name: string;
  /** Registered account id in Murmur; undefined for unregistered users. */
  registeredId: number | undefined;
  channelId: number;
  muted: boolean;
  deafened: boolean;
  suppressed: boolean;
  selfMuted: boolean;
  selfDeafened: boolean;
  speaking: boolean;
}

export interface VoiceSessionInfo {
  session: number;
  username: string;
  welcomeMessage: string;
  /** Bandwidth limit the server enforces per user, bit/s. */
  maxBandwidth: number | undefined;
  serverVersion: string | undefined;
  /**
   * Whether the server's CodecVersion says Opus. This client speaks only
   * Opus: false means clients without Opus are on the server and cannot hear it.
   */
  opus: boolean | undefined;
}

export interface VoiceDisconnectInfo {
  /** Why, in words: "disconnect() called", "kicked: ...", "connection closed", ... */
  reason: string;
  error?: Error;
}

/** Metadata of one decoded frame handed to {@link VoiceClient.onPcm} listeners. */
export interface PcmFrameInfo {
  /** Silence standing in for audio lost in transit (mumble-client fills gaps in 10 ms units). */
  concealed: boolean;
  /** performance.now() when the frame was decoded and delivered. */
  receivedAt: number;
}

export type PcmListener = (session: number, pcm: Int16Array, info: PcmFrameInfo) => void;

export interface VoiceClientEvents {
  connected: [info: VoiceSessionInfo];
  disconnected: [info: VoiceDisconnectInfo];
  /** Only emitted when someone listens; a fatal error also ends in `disconnected`. */
  error: [error: Error];
  /** The channel list changed (coalesced: at most once per tick). */
  channelsChanged: [channels: VoiceChannel[]];
  /** Someone connected to the server (not emitted for users present at login: see {@link VoiceClient.users}). */
  userJoined: [user: VoiceUser];
  userLeft: [user: VoiceUser, reason: string | undefined];
  userMoved: [user: VoiceUser, from: VoiceChannel | undefined, to: VoiceChannel | undefined];
  speakingStart: [user: VoiceUser];
  speakingStop: [user: VoiceUser];
  pcm: [session: number, pcm: Int16Array, info: PcmFrameInfo];
}

/** How long join() and createChannel() wait for the server. */
const ACTION_TIMEOUT_MS = 5_000;
/** Server messages mumble-client has no handler for (it would console.log each one). */
const IGNORED_MESSAGES = [
  'CryptSetup',
  'SuggestConfig',
  'UserStats',
  'ACL',
  'QueryUsers',
  'BanList',
  'UserList',
  'ContextAction',
  'ContextActionModify',
  'VoiceTarget',
  'RequestBlob',
  'Authenticate',
];

interface Connection {
  socket: TLSSocket;
  client: MumbleClient;
  codecs: OpusCodecs;
  /** Session ids currently transmitting to us. */
  speaking: Set<number>;
  /** Set once ServerSync arrived. */
  synced: boolean;
  /** Why the server is about to close the connection (kick, ban), if it said. */
  closingReason?: string;
  voiceStream?: Writable;
  framer: PcmFramer;
  channelsChangedScheduled: boolean;
  opusSupported: boolean | undefined;
  /** The first fatal error, reported with 'disconnected'. */
  error?: Error;
  ended: Promise<void>;
}

/**
 * One Mumble connection. Reusable: connect() again after a disconnect.
 *
 * Audio is 48 kHz mono 16-bit PCM in both directions. {@link sendPcm} takes
 * any chunk size, cuts it into 20 ms (or 10 ms) Opus frames and sends each
 * frame at once: the caller's clock (a microphone) paces it. {@link play}
 * paces a buffer in real time itself. {@link endTransmission} sends the
 * end-of-transmission marker.
 */
export class VoiceClient extends EventEmitter<VoiceClientEvents> {
  private readonly frameSamples: number;
  private readonly options: Required<Omit<VoiceClientOptions, 'bitrate'>> & { bitrate: number | undefined };
  private connection: Connection | undefined;
  private connecting = false;

  constructor(options: VoiceClientOptions = {}) {
    super();
    const frameDurationMs = options.frameDurationMs ?? 20;
    if (frameDurationMs !== 10 && frameDurationMs !== 20) {
      throw new RangeError(`frameDurationMs must be 10 or 20, got ${String(frameDurationMs)}`);
    }
    this.options = {
      frameDurationMs,
      bitrate: options.bitrate,
      opusApplication: options.opusApplication ?? 'voip',
      speakerTimeoutMs: options.speakerTimeoutMs ?? 200,
      clientSoftware: options.clientSoftware ?? 'Alloquy',
    };
    this.frameSamples = (SAMPLE_RATE * frameDurationMs) / 1000;
  }

  /** Creates a client and connects it. */
  static async connect(options: VoiceConnectOptions, clientOptions?: VoiceClientOptions): Promise<VoiceClient> {
    const client = new VoiceClient(clientOptions);
    await client.connect(options);
    return client;
  }

  /** Samples per outgoing frame (960 for 20 ms). */
  get samplesPerFrame(): number {
    return this.frameSamples;
  }

  get connected(): boolean {
    return this.connection?.synced === true;
  }

  /** Whether an outgoing transmission is open (between the first sendPcm and endTransmission). */
  get transmitting(): boolean {
    return this.connection?.voiceStream !== undefined;
  }

  /**
   * Connects over TLS and logs in. Resolves once the server has sent its state
   * (channels, users); rejects with a {@link VoiceError}: `VoiceRejectedError`
   * for a refused login (wrong password, name in use, ...), code `tls_failed`,
   * `connect_failed`, `timeout` or `connection_closed` otherwise.
   */
  async connect(options: VoiceConnectOptions): Promise<VoiceSessionInfo> {
    if (this.connection !== undefined || this.connecting) throw new Error('already connected or connecting');
    this.connecting = true;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const deadline = performance.now() + timeoutMs;
    let socket: TLSSocket | undefined;
    try {
      socket = await openTls(options, timeoutMs);
      const connection = this.setUp(socket, options);
      const remaining = Math.max(1, deadline - performance.now());
      await this.logIn(connection, remaining);
      this.connection = connection;
      this.connecting = false;
      const info = this.sessionInfo(connection);
      this.emit('connected', info);
      this.scheduleChannelsChanged(connection);
      return info;
    } catch (error) {
      this.connecting = false;
      socket?.destroy();
      throw error;
    }
  }

  /** Closes the connection (ending any transmission first); resolves when the socket is closed. */
  async disconnect(): Promise<void> {
    const connection = this.connection;
    if (connection === undefined) return;
    this.endTransmission();
    connection.closingReason ??= 'disconnect() called';
    connection.client.disconnect();
    const closed = await Promise.race([connection.ended.then(() => true), sleep(1_000).then(() => false)]);
    if (!closed) connection.socket.destroy();
    await connection.ended;
  }

  /** Every channel, ordered by path. */
  channels(): VoiceChannel[] {
    const connection = this.requireConnection();
    return connection.client.channels
      .filter((channel) => channel.name !== undefined)
      .map(toVoiceChannel)
      .sort((a, b) => a.path.localeCompare(b.path));
  }

  /** Every user on the server, this client included. */
  users(): VoiceUser[] {
    const connection = this.requireConnection();
    return connection.client.users.map((user) => toVoiceUser(user, connection.speaking));
  }

  /** This client's own user. */
  self(): VoiceUser {
    const connection = this.requireConnection();
    return toVoiceUser(connection.client.self!, connection.speaking);
  }

  /** The channel this client is in. */
  currentChannel(): VoiceChannel | undefined {
    const channel = this.requireConnection().client.self?.channel;
    return channel ? toVoiceChannel(channel) : undefined;
  }

  /**
   * A channel by id, by path below the root ("Games/Lounge"), or by bare name
   * when that name is unique; "" or the root's name is the root.
   */
  findChannel(channel: string | number): VoiceChannel | undefined {
    const all = this.channels();
    if (typeof channel === 'number') return all.find((c) => c.id === channel);
    const byPath = all.find((c) => c.path === channel || (c.parentId === undefined && c.name === channel));
    if (byPath !== undefined) return byPath;
    const byName = all.filter((c) => c.name === channel);
    if (byName.length > 1) {
      throw new VoiceError('ambiguous_channel', `several channels are named ${JSON.stringify(channel)} (${byName.map((c) => c.path).join(', ')}); give a path`);
    }
    return byName[0];
  }

  /** Moves this client into a channel; resolves once the server confirms the move. */
  async join(channel: string | number): Promise<VoiceChannel> {
    const connection = this.requireConnection();
    const target = this.findChannel(channel);
    if (target === undefined) throw new VoiceError('no_such_channel', `no channel ${JSON.stringify(channel)}`);
    const self = connection.client.self!;
    if (self.channel?.id === target.id) return target;
    const mumbleChannel = connection.client.getChannelById(target.id)!;
    await this.awaitServer(
      connection,
      `joining ${target.path || target.name}`,
      (done) => {
        const onUpdate = (_actor: unknown, changes: MumbleClient.UserChanges): void => {
          if (changes.channel?.id === target.id) done();
        };
        self.on('update', onUpdate);
        return () => self.off('update', onUpdate);
      },
      () => self.setChannel(mumbleChannel),
    );
    return target;
  }

  /**
   * Creates a channel (needs the MakeChannel permission, or MakeTempChannel for
   * a temporary one; Murmur moves the creator into a temporary channel).
   * Resolves with the new channel once the server has announced it.
   */
  async createChannel(name: string, options: { parent?: string | number; temporary?: boolean } = {}): Promise<VoiceChannel> {
    const connection = this.requireConnection();
    const parent = options.parent === undefined ? this.findChannel(0) : this.findChannel(options.parent);
    if (parent === undefined) {
      throw new VoiceError('no_such_channel', `no parent channel ${JSON.stringify(options.parent)}`);
    }
    let created: VoiceChannel | undefined;
    await this.awaitServer(
      connection,
      `creating channel ${name}`,
      (done) => {
        const onNewChannel = (channel: MumbleClient.Channel): void => {
          // mumble-client announces a channel before applying its name and parent.
          queueMicrotask(() => {
            if (channel.name === name && channel.parent?.id === parent.id) {
              created = toVoiceChannel(channel);
              done();
            }
          });
        };
        connection.client.on('newChannel', onNewChannel);
        return () => connection.client.off('newChannel', onNewChannel);
      },
      () =>
        connection.client._send({
          name: 'ChannelState',
          payload: { parent: parent.id, name, temporary: options.temporary === true },
        }),
    );
    return created!;
  }

  setSelfMute(mute: boolean): void {
    this.requireConnection().client.setSelfMute(mute);
  }

  setSelfDeaf(deaf: boolean): void {
    this.requireConnection().client.setSelfDeaf(deaf);
  }

  /**
   * Sends 48 kHz mono PCM. Any chunk size: whole frames go out at once, the
   * remainder waits for the next call (or {@link endTransmission}, which pads
   * it). The first call opens a transmission: listeners see speakingStart.
   * Returns how many frames were sent.
   */
  sendPcm(pcm: Int16Array): number {
    const connection = this.requireConnection();
    const frames = connection.framer.push(pcm);
    for (const frame of frames) this.writeFrame(connection, frame);
    return frames.length;
  }

  /**
   * Ends the current transmission: the buffered remainder goes out padded with
   * silence, then Mumble's end-of-transmission packet (the terminator bit), so
   * listeners stop at once instead of after their speaker timeout.
   */
  endTransmission(): void {
    const connection = this.connection;
    if (connection === undefined) return;
    const rest = connection.framer.flush();
    if (rest !== undefined) this.writeFrame(connection, rest);
    const stream = connection.voiceStream;
    connection.voiceStream = undefined;
    stream?.end();
  }

  /**
   * Plays a buffer in real time (one frame per frame duration, scheduled
   * against the start time so timer jitter does not accumulate), then ends the
   * transmission. Resolves when the last frame has been sent.
   */
  async play(pcm: Int16Array, options: { signal?: AbortSignal } = {}): Promise<void> {
    const connection = this.requireConnection();
    const frameMs = this.options.frameDurationMs;
    const start = performance.now();
    try {
      for (let offset = 0, index = 0; offset < pcm.length; offset += this.frameSamples, index++) {
        const wait = start + index * frameMs - performance.now();
        if (wait > 1) await sleep(wait, undefined, { signal: options.signal });
        options.signal?.throwIfAborted();
        if (this.connection !== connection) throw new VoiceError('connection_closed', 'disconnected while playing');
        this.sendPcm(pcm.subarray(offset, offset + this.frameSamples));
      }
    } finally {
      if (this.connection === connection) this.endTransmission();
    }
  }

  /**
   * Calls `listener` with every decoded frame of every speaker (48 kHz mono,
   * normally 20 ms) as it is decoded: mumble-client has no jitter buffer, so
   * frames come as fast as the network brings them. Returns an unsubscribe function.
   */
  onPcm(listener: PcmListener): () => void {
    this.on('pcm', listener);
    return () => this.off('pcm', listener);
  }

  private requireConnection(): Connection {
    if (this.connection === undefined) throw new VoiceError('not_connected', 'not connected to a voice server');
    return this.connection;
  }

  private writeFrame(connection: Connection, frame: Int16Array): void {
    if (connection.voiceStream === undefined) {
      connection.voiceStream = connection.client.createVoiceStream(0, 1);
      connection.voiceStream.on('error', (error: Error) => this.fail(connection, error));
    }
    connection.voiceStream.write(int16ToFloat(frame));
  }

  /** Builds the mumble-client instance around the socket and wires every event. */
  private setUp(socket: TLSSocket, options: VoiceConnectOptions): Connection {
    const codecs = new OpusCodecs({ application: this.options.opusApplication });
    const client = new MumbleClient({
      username: options.username,
      password: options.password,
      tokens: options.tokens,
      codecs,
      clientSoftware: this.options.clientSoftware,
      userVoiceTimeout: this.options.speakerTimeoutMs,
    });
    let resolveEnded!: () => void;
    const connection: Connection = {
      socket,
      client,
      codecs,
      speaking: new Set(),
      synced: false,
      framer: new PcmFramer(this.frameSamples),
      channelsChangedScheduled: false,
      opusSupported: undefined,
      ended: new Promise<void>((resolve) => (resolveEnded = resolve)),
    };

    this.patchClient(connection);

    client.on('error', (error: unknown) => this.fail(connection, toError(error)));
    client.on('newUser', (user) => this.watchUser(connection, user));
    client.on('newChannel', (channel) => {
      this.scheduleChannelsChanged(connection);
      channel.on('update', () => this.scheduleChannelsChanged(connection));
      channel.on('remove', () => this.scheduleChannelsChanged(connection));
    });
    client.on('connected', () => {
      connection.synced = true;
      client.setAudioQuality(this.options.bitrate ?? false, this.frameSamples);
    });

    let closed = false;
    const onClosed = (): void => {
      if (closed) return;
      closed = true;
      client.disconnect();
      codecs.destroy();
      const stillSpeaking = [...connection.speaking].map((session) => client.getUserById(session));
      connection.speaking.clear();
      resolveEnded();
      if (this.connection === connection) {
        for (const user of stillSpeaking) if (user) this.emit('speakingStop', toVoiceUser(user, connection.speaking));
        this.connection = undefined;
        const info: VoiceDisconnectInfo = { reason: connection.closingReason ?? 'connection closed' };
        if (connection.error !== undefined) info.error = connection.error;
        this.emit('disconnected', info);
      }
    };
    socket.once('close', onClosed);
    client.on('disconnected', () => {
      // mumble-client ended its side; give the server a moment to close, then make sure.
      socket.end();
      setTimeout(() => socket.destroy(), 1_000).unref();
    });
    return connection;
  }

  /** Sends Version + Authenticate and waits for ServerSync, a Reject, or the end. */
  private logIn(connection: Connection, timeoutMs: number): Promise<void> {
    const { client, socket } = connection;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let rejectPayload: MumbleClient.RejectPayload | undefined;
      const settle = (error?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('close', onClose);
        if (error === undefined) resolve();
        else reject(error);
      };
      const timer = setTimeout(() => settle(new VoiceError('timeout', `the voice server did not finish the login within ${timeoutMs} ms`)), timeoutMs);
      client.once('reject', (payload) => {
        rejectPayload = payload;
        settle(new VoiceRejectedError(rejectTypeName(payload.type), payload.reason ?? ''));
      });
      const onClose = (): void => {
        settle(new VoiceError('connection_closed', 'the voice server closed the connection during the login'));
      };
      socket.once('close', onClose);
      client.connectDataStream(socket).then(
        () => settle(),
        (error: unknown) => {
          // The library rejects with the raw Reject payload; the 'reject' handler made it an error already.
          if (rejectPayload === undefined) {
            settle(new VoiceError('protocol_error', `login failed: ${toError(error).message}`, { cause: error }));
          }
        },
      );
    });
  }

  /**
   * Hooks into mumble-client internals for what its public API lacks:
   * handlers for messages it would otherwise console.log, a guard against
   * voice from unknown sessions (it would throw inside a stream callback), the
   * server's codec choice, and kick/ban reasons.
   */
  private patchClient(connection: Connection): void {
    const client = connection.client as MumbleClient & Record<string, unknown>;
    for (const name of IGNORED_MESSAGES) client[`_on${name}`] = () => {};
    client._onCodecVersion = (payload: { opus?: boolean | null }) => {
      connection.opusSupported = payload.opus === true;
    };
    client._onPermissionQuery = () => {};
    client._onServerConfig = () => {};
    const forward = prototypeHandler('_onUDPTunnel');
    client._onUDPTunnel = (payload: Buffer) => {
      const source = voicePacketSource(payload);
      if (source !== undefined && connection.client.getUserById(source) === undefined) return;
      forward.call(client, payload);
    };
    const denied = prototypeHandler('_onPermissionDenied');
    client._onPermissionDenied = (payload: { type?: number | null; reason?: string | null }) => {
      try {
        denied.call(client, payload);
      } catch {
        // A DenyType newer than mumble-client's proto.
        client.emit('denied', 'Unknown', null, null, payload.reason ?? null);
      }
    };
    const removeUser = prototypeHandler('_onUserRemove');
    client._onUserRemove = (payload: { session: number; reason?: string | null; ban?: boolean | null }) => {
      if (connection.synced && payload.session === connection.client.self?.id) {
        connection.closingReason = `${payload.ban ? 'banned' : 'kicked'}${payload.reason ? `: ${payload.reason}` : ''}`;
      }
      removeUser.call(client, payload);
    };
  }

  /** Tracks one user: moves, departure, and each incoming transmission. */
  private watchUser(connection: Connection, user: MumbleClient.User): void {
    // 'newUser' comes before the first UserState is applied: the first channel is where the user starts, not a move.
    let channelId: number | undefined;
    user.on('update', (_actor, changes) => {
      if (changes.channel === undefined) return;
      const from = channelId;
      channelId = changes.channel.id;
      if (!connection.synced || from === undefined || from === channelId) return;
      const fromChannel = connection.client.getChannelById(from);
      this.emit('userMoved', toVoiceUser(user, connection.speaking), fromChannel ? toVoiceChannel(fromChannel) : undefined, toVoiceChannel(changes.channel));
    });
    user.on('remove', (_actor, reason) => {
      if (connection.speaking.delete(user.id) && this.connection === connection) {
        this.emit('speakingStop', toVoiceUser(user, connection.speaking));
      }
      connection.codecs.releaseUser(user.id);
      if (connection.synced) this.emit('userLeft', toVoiceUser(user, connection.speaking), reason ?? undefined);
    });
    user.on('voice', (stream: Readable) => {
      connection.speaking.add(user.id);
      this.emit('speakingStart', toVoiceUser(user, connection.speaking));
      stream.on('data', (frame: DecodedFrame) => {
        const info: PcmFrameInfo = { concealed: frame.concealed, receivedAt: performance.now() };
        this.emit('pcm', user.id, frame.pcm16, info);
      });
      stream.once('end', () => {
        // Already reported when the user left or the connection closed.
        if (connection.speaking.delete(user.id) && this.connection === connection) {
          this.emit('speakingStop', toVoiceUser(user, connection.speaking));
        }
      });
      stream.on('error', (error: Error) => this.fail(connection, error));
    });
    if (connection.synced) {
      // The first UserState carries the name; it is applied right after 'newUser'.
      queueMicrotask(() => {
        if (this.connection === connection) this.emit('userJoined', toVoiceUser(user, connection.speaking));
      });
    }
  }

  private scheduleChannelsChanged(connection: Connection): void {
    if (!connection.synced || connection.channelsChangedScheduled) return;
    connection.channelsChangedScheduled = true;
    queueMicrotask(() => {
      connection.channelsChangedScheduled = false;
      if (this.connection === connection) this.emit('channelsChanged', this.channels());
    });
  }

  /**
   * Runs `send` and waits until `watch` calls its `done`, failing on a
   * PermissionDenied, the end of the connection, or a timeout.
   */
  private awaitServer(connection: Connection, what: string, watch: (done: () => void) => () => void, send: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let unwatch: () => void = () => {};
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        unwatch();
        connection.client.off('denied', onDenied);
        connection.socket.off('close', onClose);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onDenied = (type: string, _user: unknown, channel: MumbleClient.Channel | null | undefined, detail: unknown): void => {
        const text = typeof detail === 'string' && detail !== '' ? detail : undefined;
        const where = channel?.name ? ` in ${channel.name}` : '';
        finish(new VoicePermissionError(type, text, `${what}: permission denied (${type}${where}${text ? `: ${text}` : ''})`));
      };
      const onClose = (): void => finish(new VoiceError('connection_closed', `${what}: disconnected`));
      const timer = setTimeout(
        () => finish(new VoiceError('timeout', `${what}: no answer from the voice server within ${ACTION_TIMEOUT_MS} ms`)),
        ACTION_TIMEOUT_MS,
      );
      connection.client.on('denied', onDenied);
      connection.socket.once('close', onClose);
      unwatch = watch(() => finish());
      send();
    });
  }

  private fail(connection: Connection, error: Error): void {
    connection.error ??= error;
    if (this.connection === connection && this.listenerCount('error') > 0) this.emit('error', error);
    connection.client.disconnect();
  }

  private sessionInfo(connection: Connection): VoiceSessionInfo {
    const { client } = connection;
    const version = client.serverVersion;
    return {
      session: client.self!.id,
      username: client.self!.username ?? '',
      welcomeMessage: client.welcomeMessage ?? '',
      maxBandwidth: client.maxBandwidth ?? undefined,
      serverVersion: version ? `${version.major}.${version.minor}.${version.patch}` : undefined,
      opus: connection.opusSupported,
    };
  }
}

/** TCP + TLS with the Nagle algorithm off (it would hold 20 ms voice packets back). */
function openTls(options: VoiceConnectOptions, timeoutMs: number): Promise<TLSSocket> {
  const port = options.port ?? DEFAULT_MUMBLE_PORT;
  const servername = options.servername ?? (isIP(options.host) === 0 ? options.host : undefined);
  return new Promise<TLSSocket>((resolve, reject) => {
    const socket = tlsConnect({
      host: options.host,
      port,
      ...(servername !== undefined ? { servername } : {}),
      rejectUnauthorized: options.rejectUnauthorized ?? true,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
    });
    socket.setNoDelay(true);
    let tcpConnected = false;
    socket.once('connect', () => (tcpConnected = true));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new VoiceError('timeout', `no TLS connection to ${options.host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      const code = tcpConnected ? 'tls_failed' : 'connect_failed';
      const what = tcpConnected ? 'TLS handshake with' : 'cannot connect to';
      reject(new VoiceError(code, `${what} ${options.host}:${port} failed: ${error.message}`, { cause: error }));
    };
    socket.once('error', onError);
  });
}

function toVoiceChannel(channel: MumbleClient.Channel): VoiceChannel {
  const names: string[] = [];
  for (let c: MumbleClient.Channel | undefined = channel; c?.parent !== undefined; c = c.parent) names.unshift(c.name ?? '');
  return {
    id: channel.id,
    name: channel.name ?? '',
    parentId: channel.parent?.id,
    path: names.join('/'),
    temporary: channel.temporary === true,
  };
}

function toVoiceUser(user: MumbleClient.User, speaking: ReadonlySet<number>): VoiceUser {
  return {
    session: user.id,
    name: user.username ?? '',
    registeredId: user.uniqueId ?? undefined,
    channelId: user.channel?.id ?? 0,
    muted: user.mute === true,
    deafened: user.deaf === true,
    suppressed: user.suppress === true,
    selfMuted: user.selfMute === true,
    selfDeafened: user.selfDeaf === true,
    speaking: speaking.has(user.id),
  };
}

/** One of mumble-client's `_on<Message>` handlers, to wrap. */
function prototypeHandler(name: string): (this: MumbleClient, payload: unknown) => void {
  const handler = (MumbleClient.prototype as unknown as Record<string, unknown>)[name];
  if (typeof handler !== 'function') throw new Error(`mumble-client has no ${name} handler (unsupported version?)`);
  return handler as (this: MumbleClient, payload: unknown) => void;
}

function toError(error: unknown): Error {
  if (error instanceof Error) return error;
  // mumble-client reports a missed ping deadline as the bare string 'timeout'.
  if (error === 'timeout') return new VoiceError('timeout', 'the voice server stopped answering pings');
  return new VoiceError('protocol_error', typeof error === 'string' ? error : JSON.stringify(error));
}
