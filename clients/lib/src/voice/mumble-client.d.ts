/**
 * Types for `mumble-client` 1.3.0 (johni0702/mumble-client, plain CommonJS, ships no types).
 * Only what Alloquy uses, plus the internals VoiceClient hooks into (marked "internal"):
 * the library logs every server message it has no `_on<Name>` handler for with
 * console.log, and throws on voice from an unknown session, so VoiceClient installs
 * handlers of its own on the instance.
 */
declare module 'mumble-client' {
  import { EventEmitter } from 'node:events';
  import type { Duplex, Transform, Writable } from 'node:stream';

  namespace MumbleClient {
    type Codec = 'Opus' | 'CELT_Alpha' | 'CELT_Beta' | 'Speex';
    /** Outgoing: 0 normal talking, 1-30 voice target, 31 server loopback. Incoming: a name. */
    type VoiceTarget = number | 'normal' | 'shout' | 'whisper' | 'loopback';

    interface Position {
      x: number;
      y: number;
      z: number;
    }

    /** One encoded frame travelling between the library and a codec stream. */
    interface VoiceData {
      target: VoiceTarget;
      codec: Codec;
      /** Encoded audio; null marks a lost 10 ms unit that the decoder should conceal. */
      frame: Buffer | null;
      position?: Position | null;
    }

    /** Interleaved float PCM at 48 kHz, nominally in [-1, 1]. */
    interface PCMData {
      target: VoiceTarget;
      pcm: Float32Array;
      numberOfChannels: number;
      position?: Position | null;
      /** Encoder bitrate hint in bit/s, computed by the library from the server's bandwidth limit. */
      bitrate?: number;
    }

    /**
     * What the library needs for voice: it never encodes or decodes audio itself.
     * `createEncoderStream` is called once per outgoing transmission and
     * `createDecoderStream` once per incoming transmission, so both must be cheap.
     */
    interface Codecs {
      /** CELT bitstream versions advertised to the server in Authenticate. */
      celt: number[];
      /** Whether Opus is advertised in Authenticate. */
      opus: boolean;
      /** Duration of one encoded frame in ms (a multiple of 10), without decoding it. */
      getDuration(codec: Codec, frame: Buffer): number;
      /** Object-mode transform: {@link PCMData} in, {@link VoiceData} out. */
      createEncoderStream(codec: Codec): Transform;
      /** Object-mode transform: {@link VoiceData} in, {@link PCMData} out. */
      createDecoderStream(user: User): Transform;
    }

    interface Options {
      username: string;
      /** Server password, or the account password of a registered user. */
      password?: string;
      /** Access tokens (ACL groups). */
      tokens?: string[];
      clientSoftware?: string;
      osName?: string;
      osVersion?: string;
      codecs?: Codecs;
      /** An incoming transmission ends after this many ms without a packet (default 200). */
      userVoiceTimeout?: number;
      maxInFlightDataPings?: number;
      /** Data-channel ping interval in ms (default 5000). */
      dataPingInterval?: number;
    }

    /** protobufjs 5 message objects: absent optional fields are null. */
    interface RejectPayload {
      type: number | null;
      reason: string | null;
    }

    interface DataMessage {
      name: string;
      payload: unknown;
    }

    type DeniedType =
      | 'Text'
      | 'Permission'
      | 'SuperUser'
      | 'ChannelName'
      | 'TextTooLong'
      | 'TemporaryChannel'
      | 'MissingCertificate'
      | 'UserName'
      | 'ChannelFull'
      | 'NestingLimit';

    interface UserChanges {
      username?: string;
      uniqueId?: number;
      mute?: boolean;
      deaf?: boolean;
      suppress?: boolean;
      selfMute?: boolean;
      selfDeaf?: boolean;
      channel?: Channel;
      [key: string]: unknown;
    }

    class User extends EventEmitter {
      /** Session id (unique per connection). */
      readonly id: number;
      readonly username: string | undefined;
      /** Registered user id; undefined (or null) for unregistered users. */
      readonly uniqueId: number | null | undefined;
      readonly mute: boolean | undefined;
      readonly deaf: boolean | undefined;
      readonly suppress: boolean | undefined;
      readonly selfMute: boolean | undefined;
      readonly selfDeaf: boolean | undefined;
      readonly channel: Channel | null | undefined;
      setChannel(channel: Channel): void;
      sendMessage(message: string): void;
      on(event: 'update', listener: (actor: User | undefined, changes: UserChanges) => void): this;
      on(event: 'remove', listener: (actor: User | undefined, reason: string | null, ban: boolean | null) => void): this;
      /** A new incoming transmission: a readable stream of {@link PCMData}, ended when it stops. */
      on(event: 'voice', listener: (stream: Transform) => void): this;
      on(event: string, listener: (...args: any[]) => void): this;
    }

    class Channel extends EventEmitter {
      readonly id: number;
      readonly name: string | undefined;
      readonly parent: Channel | undefined;
      readonly temporary: boolean | undefined;
      readonly users: User[];
      readonly children: Channel[];
      readonly links: Channel[];
      sendMessage(message: string): void;
      on(event: 'update', listener: (changes: Record<string, unknown>) => void): this;
      on(event: 'remove', listener: () => void): this;
      on(event: string, listener: (...args: any[]) => void): this;
    }
  }

  class MumbleClient extends EventEmitter {
    constructor(options: MumbleClient.Options);
    readonly users: MumbleClient.User[];
    readonly channels: MumbleClient.Channel[];
    /** Set on ServerSync. */
    readonly self: MumbleClient.User | undefined;
    readonly root: MumbleClient.Channel | undefined;
    readonly connected: boolean;
    readonly welcomeMessage: string | undefined;
    readonly maxBandwidth: number | undefined;
    readonly serverVersion: { major: number; minor: number; patch: number; release: string; os: string; osVersion: string } | undefined;

    /** Sends Version + Authenticate; resolves on ServerSync, rejects on Reject or error. */
    connectDataStream(stream: Duplex): Promise<MumbleClient>;
    connectVoiceStream(stream: Duplex): void;
    /** A writable for {@link MumbleClient.PCMData} or Float32Array; ending it sends the end-of-transmission packet. */
    createVoiceStream(target?: number, numberOfChannels?: number): Writable;
    setAudioQuality(bitrate: number | false | undefined, samplesPerPacket: number | false | undefined): void;
    getChannel(name: string): MumbleClient.Channel | null;
    getChannelById(id: number): MumbleClient.Channel | undefined;
    getUserById(id: number): MumbleClient.User | undefined;
    setSelfMute(mute: boolean): void;
    setSelfDeaf(deaf: boolean): void;
    disconnect(): void;

    on(event: 'connected', listener: () => void): this;
    on(event: 'disconnected', listener: () => void): this;
    on(event: 'error', listener: (reason: unknown) => void): this;
    on(event: 'reject', listener: (payload: MumbleClient.RejectPayload) => void): this;
    on(
      event: 'denied',
      listener: (
        type: MumbleClient.DeniedType,
        user: MumbleClient.User | null | undefined,
        channel: MumbleClient.Channel | null | undefined,
        detail: unknown,
      ) => void,
    ): this;
    on(event: 'newUser', listener: (user: MumbleClient.User) => void): this;
    on(event: 'newChannel', listener: (channel: MumbleClient.Channel) => void): this;
    on(event: 'dataPing', listener: (ms: number) => void): this;
    on(event: string, listener: (...args: any[]) => void): this;

    /** internal: writes one data-channel message ({name, payload}). */
    _send(message: MumbleClient.DataMessage): void;
    /** internal: the session map the library keeps. */
    _userById: Record<number, MumbleClient.User | undefined>;
    /** internal: incoming voice packet dispatcher (throws on an unknown source session). */
    _onVoice(chunk: { source: number; [key: string]: unknown }): void;
    /** internal: `_on<MessageName>` handlers; unhandled names are console.logged. */
    [handler: `_on${string}`]: unknown;
  }

  export = MumbleClient;
}
