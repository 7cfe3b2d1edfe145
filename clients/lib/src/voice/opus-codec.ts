/**
 * The codec object mumble-client needs (it never touches audio itself), backed
 * by opusscript (libopus compiled to WebAssembly: no native build).
 *
 * - One encoder per client, reused by every outgoing transmission (only one
 *   can be in flight), reset at the start of each.
 * - One decoder per remote session, created on its first transmission, reset
 *   at the start of each, freed by {@link OpusCodecs.releaseUser}.
 */
import { Transform, type TransformCallback } from 'node:stream';
import OpusScript from 'opusscript';
import { opusPacketDurationMs } from './opus-packet.js';
import { floatToInt16, int16ToFloat } from './pcm.js';
import { SAMPLE_RATE } from './tone.js';

/** opus_encoder_ctl / opus_decoder_ctl request to reset the codec state. */
const OPUS_RESET_STATE = 4028;
/** Frame sizes libopus accepts at 48 kHz (2.5 to 60 ms). */
const VALID_FRAME_SAMPLES = new Set([120, 240, 480, 960, 1920, 2880]);
/** mumble-client counts lost audio in 10 ms units and hands one null frame per unit. */
const LOST_UNIT_SAMPLES = SAMPLE_RATE / 100;

export type OpusApplication = 'voip' | 'audio' | 'lowdelay';

export interface OpusCodecOptions {
  /** libopus application (default 'voip', what Mumble itself uses for speech). */
  application?: OpusApplication;
}

/** One decoded frame, as the decoder stream emits it (mumble-client's PCMData plus 16-bit samples). */
export interface DecodedFrame {
  target: string | number;
  /** Float samples in [-1, 1], what mumble-client's PCMData contract asks for. */
  pcm: Float32Array;
  /** The same samples as decoded, 16-bit. */
  pcm16: Int16Array;
  numberOfChannels: 1;
  position?: { x: number; y: number; z: number } | null;
  /** True when this frame is silence standing in for audio lost in transit. */
  concealed: boolean;
}

interface EncoderInput {
  target: string | number;
  pcm: Float32Array;
  numberOfChannels: number;
  position?: { x: number; y: number; z: number } | null;
  bitrate?: number;
}

interface DecoderInput {
  target: string | number;
  codec: string;
  frame: Buffer | null;
  position?: { x: number; y: number; z: number } | null;
}

const APPLICATIONS: Record<OpusApplication, number> = {
  voip: OpusScript.Application.VOIP,
  audio: OpusScript.Application.AUDIO,
  lowdelay: OpusScript.Application.RESTRICTED_LOWDELAY,
};

export class OpusCodecs {
  /** Advertised in Authenticate: no CELT, Opus only. */
  readonly celt: number[] = [];
  readonly opus = true;

  private readonly application: number;
  private encoder: OpusScript | undefined;
  private encoderBitrate: number | undefined;
  private readonly decoders = new Map<number, OpusScript>();
  private destroyed = false;

  constructor(options: OpusCodecOptions = {}) {
    this.application = APPLICATIONS[options.application ?? 'voip'];
  }

  /** Duration of an encoded frame in ms, rounded up to the 10 ms units Mumble sequence numbers count. */
  getDuration(codec: string, frame: Buffer): number {
    if (codec !== 'Opus') return 10;
    const ms = opusPacketDurationMs(frame);
    return ms === undefined ? 10 : Math.max(10, Math.ceil(ms / 10) * 10);
  }

  /** Object-mode transform from PCMData (Float32Array, 48 kHz mono) to encoded VoiceData. */
  createEncoderStream(codec: string): Transform {
    if (codec !== 'Opus') throw new Error(`only Opus is supported, asked for ${codec}`);
    const encoder = this.encoderInstance();
    encoder.encoderCTL(OPUS_RESET_STATE, 0);
    return new Transform({
      objectMode: true,
      transform: (chunk: EncoderInput, _encoding: BufferEncoding, callback: TransformCallback) => {
        try {
          if (chunk.numberOfChannels !== 1) throw new Error('only mono audio is supported');
          const samples = chunk.pcm.length;
          if (!VALID_FRAME_SAMPLES.has(samples)) {
            throw new Error(`an Opus frame must be 2.5, 5, 10, 20, 40 or 60 ms (got ${samples} samples at 48 kHz)`);
          }
          if (chunk.bitrate !== undefined && chunk.bitrate > 0 && chunk.bitrate !== this.encoderBitrate) {
            // libopus accepts 500..512000 bit/s.
            const bitrate = Math.min(512_000, Math.max(500, Math.round(chunk.bitrate)));
            encoder.setBitrate(bitrate);
            this.encoderBitrate = chunk.bitrate;
          }
          const pcm16 = floatToInt16(chunk.pcm);
          // opusscript wants the PCM as a byte Buffer (an Int16Array is copied element-wise into bytes).
          const frame = encoder.encode(Buffer.from(pcm16.buffer, pcm16.byteOffset, pcm16.byteLength), samples);
          callback(null, { target: chunk.target, codec: 'Opus', frame, position: chunk.position });
        } catch (error) {
          callback(error as Error);
        }
      },
    });
  }

  /** Object-mode transform from VoiceData to {@link DecodedFrame}s, for one transmission of `user`. */
  createDecoderStream(user: { id: number }): Transform {
    const decoder = this.decoderInstance(user.id);
    decoder.decoderCTL(OPUS_RESET_STATE, 0);
    return new Transform({
      objectMode: true,
      transform: (chunk: DecoderInput, _encoding: BufferEncoding, callback: TransformCallback) => {
        if (chunk.codec !== 'Opus') return callback();
        let pcm16: Int16Array;
        let concealed = false;
        if (chunk.frame === null) {
          // opusscript cannot run libopus packet-loss concealment for a given length
          // (it would ask for 120 ms), so a lost 10 ms unit becomes 10 ms of silence.
          pcm16 = new Int16Array(LOST_UNIT_SAMPLES);
          concealed = true;
        } else {
          try {
            const decoded = decoder.decode(chunk.frame);
            // Copy out of the wasm heap view: the next decode overwrites it.
            pcm16 = new Int16Array(decoded.byteLength / 2);
            new Uint8Array(pcm16.buffer).set(decoded);
          } catch {
            // A corrupt packet costs its audio, not the transmission.
            pcm16 = new Int16Array(LOST_UNIT_SAMPLES * (this.getDuration('Opus', chunk.frame) / 10));
            concealed = true;
          }
        }
        const frame: DecodedFrame = {
          target: chunk.target,
          pcm: int16ToFloat(pcm16),
          pcm16,
          numberOfChannels: 1,
          position: chunk.position,
          concealed,
        };
        callback(null, frame);
      },
    });
  }

  /** Frees the decoder of a session that left. */
  releaseUser(session: number): void {
    const decoder = this.decoders.get(session);
    if (decoder !== undefined) {
      decoder.delete();
      this.decoders.delete(session);
    }
  }

  /** Frees every codec; later streams fail. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.encoder?.delete();
    this.encoder = undefined;
    for (const decoder of this.decoders.values()) decoder.delete();
    this.decoders.clear();
  }

  private encoderInstance(): OpusScript {
    if (this.destroyed) throw new Error('codec already destroyed');
    this.encoder ??= new OpusScript(SAMPLE_RATE, 1, this.application);
    return this.encoder;
  }

  private decoderInstance(session: number): OpusScript {
    if (this.destroyed) throw new Error('codec already destroyed');
    let decoder = this.decoders.get(session);
    if (decoder === undefined) {
      decoder = new OpusScript(SAMPLE_RATE, 1, this.application);
      this.decoders.set(session, decoder);
    }
    return decoder;
  }
}
