export * from './voice-client.js';
export * from './errors.js';
export { OpusCodecs, type DecodedFrame, type OpusApplication, type OpusCodecOptions } from './opus-codec.js';
export { opusPacketDurationMs } from './opus-packet.js';
export { floatToInt16, int16ToFloat, PcmFramer } from './pcm.js';
export { sineWave, SAMPLE_RATE, type ToneOptions } from './tone.js';
export * from './audio-analysis.js';
