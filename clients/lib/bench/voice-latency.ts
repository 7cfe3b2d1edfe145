/**
 * Voice benchmark: mouth-to-ear latency through Murmur on loopback.
 *
 *   scripts/bench/voice [--markers 500] [--interval-ms 200] [--frame-ms 20]
 *                       [--bitrate BPS] [--timeout-s S]
 *
 * A throwaway Murmur on a free loopback port; two VoiceClients (this library:
 * mumble-client over TLS, voice tunnelled over TCP, Opus via opusscript) in
 * one channel. The sender streams one continuous transmission in real time,
 * one frame per frame duration: silence, with a marker (one frame of a tone
 * burst, its frequency cycling through four) every --interval-ms. The
 * receiver finds each burst in the decoded frames it is handed.
 *
 *   latency = when the receiver's onPcm got the decoded frame holding the
 *             burst − when the sender handed that frame to sendPcm
 *
 * Both clients share this process and its clock (performance.now). What lies
 * in between: Opus encode, TLS, Murmur's relay, TLS, mumble-client's stream
 * plumbing, Opus decode. mumble-client has no jitter buffer: frames are
 * delivered as they arrive, so this is what a player consuming onPcm would
 * get before its own playout buffer. Not included: capturing a frame (a 20 ms
 * frame is complete 20 ms after its first sample), Opus's look-ahead (reported
 * separately from where the burst onset lands in the decoded frame), and the
 * sound card.
 *
 * stdout: exactly one JSON object. Progress and a summary go to stderr.
 * Exit status: 0 when the benchmark ran (whether or not the target was met),
 * 1 on failure, 2 on bad arguments, 124 on the overall time limit.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchLogger, BenchRun, configOrExit, integerOption, parseBenchArgs } from '@alloquy/stack/bench/harness.js';
import { round, summarize } from '@alloquy/stack/bench/stats.js';
import { startTestMurmur, type TestMurmur } from '../test/support/murmur.js';
import { SAMPLE_RATE, VoiceClient, type VoiceConnectOptions } from '@alloquy/client/voice';
import { MARKER_FREQUENCIES, MarkerDetector, markerFrame, MarkerMatcher } from './markers.js';

const TARGET_P50_MS = 40;
const MARKER_AMPLITUDE = 0.5;
/** Silence sent before the first marker, so connection and codec start-up are not measured. */
const WARMUP_MS = 1_000;
/** How long to wait for the last markers after the sender stops. */
const DRAIN_MS = 1_000;

interface BenchConfig {
  markers: number;
  intervalMs: number;
  frameMs: 10 | 20;
  bitrate: number | undefined;
  timeoutS: number;
}

const USAGE = `usage: scripts/bench/voice [--markers N] [--interval-ms MS] [--frame-ms 10|20] [--bitrate BPS] [--timeout-s S]
  --markers      tone-burst markers to send (default 500)
  --interval-ms  time between markers, a multiple of the frame length (default 200)
  --frame-ms     Opus frame length, 10 or 20 (default 20)
  --bitrate      Opus bitrate in bit/s (default: what Murmur's bandwidth limit allows)
  --timeout-s    give up after this long (default: the run's length + 60 s)`;

function parseConfig(argv: string[]): BenchConfig {
  const values = parseBenchArgs(
    argv,
    {
      markers: { type: 'string' },
      'interval-ms': { type: 'string' },
      'frame-ms': { type: 'string' },
      bitrate: { type: 'string' },
      'timeout-s': { type: 'string' },
    },
    USAGE,
  );
  const frameMs = integerOption('frame-ms', values['frame-ms'], 20, 10);
  if (frameMs !== 10 && frameMs !== 20) throw new Error(`--frame-ms must be 10 or 20, got ${frameMs}`);
  const markers = integerOption('markers', values.markers, 500, 1);
  const intervalMs = integerOption('interval-ms', values['interval-ms'], 200, frameMs * 3);
  if (intervalMs % frameMs !== 0) throw new Error(`--interval-ms must be a multiple of --frame-ms (${frameMs})`);
  const bitrate = values.bitrate === undefined ? undefined : integerOption('bitrate', values.bitrate, 0, 6000);
  const runS = (WARMUP_MS + markers * intervalMs + DRAIN_MS) / 1000;
  return { markers, intervalMs, frameMs, bitrate, timeoutS: integerOption('timeout-s', values['timeout-s'], Math.ceil(runS + 60), 1) };
}

const log = benchLogger();

// ---------------------------------------------------------------- cleanup

let murmur: TestMurmur | undefined;
const clients: VoiceClient[] = [];

const bench = new BenchRun({
  log,
  cleanup: async () => {
    await Promise.all(clients.map((client) => client.disconnect().catch(() => undefined)));
    await murmur?.stop().catch((error: Error) => log(`stopping Murmur: ${error.message}`));
  },
  hardExitMs: 15_000,
});

// ---------------------------------------------------------------- run

async function main(): Promise<void> {
  const config = configOrExit(USAGE, () => parseConfig(process.argv.slice(2)));
  const watchdog = setTimeout(() => bench.fail(124, `time limit of ${config.timeoutS} s reached`), config.timeoutS * 1000);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => bench.fail(130, `interrupted (${signal})`));
  }

  const frameSamples = (SAMPLE_RATE * config.frameMs) / 1000;
  const framesPerInterval = config.intervalMs / config.frameMs;
  bench.partial.config = { ...config };

  log('starting Murmur');
  murmur = await startTestMurmur();
  const murmurVersion = murmur.version;
  // Unregistered names with the server password (no accounts without the control relay).
  const connectOptions = (username: string): VoiceConnectOptions => ({
    host: murmur!.host,
    port: murmur!.port,
    username,
    password: murmur!.serverPassword,
    ca: murmur!.certPem,
    servername: 'localhost',
  });
  const clientOptions = { frameDurationMs: config.frameMs, bitrate: config.bitrate };
  const sender = await VoiceClient.connect(connectOptions('bench-sender'), clientOptions);
  clients.push(sender);
  const receiver = await VoiceClient.connect(connectOptions('bench-receiver'), clientOptions);
  clients.push(receiver);
  const channel = receiver.currentChannel();
  if (sender.currentChannel()?.id !== channel?.id) throw new Error('sender and receiver are not in one channel');
  const senderSession = sender.self().session;
  log(`Murmur ${murmurVersion ?? '?'} on ${murmur.host}:${murmur.port}; both clients in channel "${channel?.name}"`);
  for (const client of clients) {
    client.on('disconnected', (info) => {
      bench.fail(1, `a client was disconnected: ${info.reason}${info.error ? ` (${info.error.message})` : ''}`);
    });
  }

  // Receiver: every decoded frame from the sender goes through the detector.
  const sentAt: number[] = [];
  const latencies: number[] = [];
  const onsetOffsets: number[] = [];
  const detector = new MarkerDetector({ amplitude: MARKER_AMPLITUDE });
  const matcher = new MarkerMatcher(MARKER_FREQUENCIES.length);
  let framesReceived = 0;
  let concealedFrames = 0;
  let transmissions = 0;
  receiver.on('speakingStart', (user) => {
    if (user.session === senderSession) transmissions++;
  });
  receiver.onPcm((session, pcm, info) => {
    if (session !== senderSession) return;
    framesReceived++;
    if (info.concealed) concealedFrames++;
    const hit = detector.push(pcm);
    if (hit === undefined) return;
    const marker = matcher.match(hit.frequencyIndex, sentAt.length);
    if (marker === undefined) return;
    latencies.push(info.receivedAt - sentAt[marker]!);
    onsetOffsets.push(hit.onsetSample);
  });

  // Sender: one frame per frame duration against a fixed schedule.
  const silence = new Int16Array(frameSamples);
  const bursts = MARKER_FREQUENCIES.map((frequency) => markerFrame(frequency, frameSamples, MARKER_AMPLITUDE));
  const warmupFrames = WARMUP_MS / config.frameMs;
  const totalFrames = warmupFrames + config.markers * framesPerInterval;
  const lateness: number[] = [];
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  log(`sending ${config.markers} markers, one every ${config.intervalMs} ms (${(totalFrames * config.frameMs) / 1000} s of audio)`);
  const start = performance.now();
  for (let frame = 0; frame < totalFrames; frame++) {
    const due = start + frame * config.frameMs;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const sinceWarmup = frame - warmupFrames;
    const isMarker = sinceWarmup >= 0 && sinceWarmup % framesPerInterval === 0;
    const now = performance.now();
    lateness.push(now - due);
    if (isMarker) {
      const marker = sentAt.length;
      sentAt.push(now);
      sender.sendPcm(bursts[marker % bursts.length]!);
      if ((marker + 1) % 100 === 0) log(`${marker + 1} markers sent, ${latencies.length} received`);
    } else {
      sender.sendPcm(silence);
    }
  }
  // A short tail of silence, then the end-of-transmission marker, then wait for stragglers.
  for (let i = 0; i < 5; i++) sender.sendPcm(silence);
  sender.endTransmission();
  await sleep(DRAIN_MS);
  loopDelay.disable();
  bench.finish();
  clearTimeout(watchdog);

  const latency = summarize(latencies);
  const sorted = [...latencies].sort((a, b) => a - b);
  const onsetMs = summarize(onsetOffsets.map((samples) => (samples / SAMPLE_RATE) * 1000));
  const schedule = summarize(lateness);
  const lost = matcher.lost(sentAt.length);
  const pass = latency.samples > 0 && latency.p50 < TARGET_P50_MS;
  const output = {
    benchmark: 'voice-latency',
    what: 'mouth-to-ear latency through Murmur on loopback: sender hands a frame to VoiceClient.sendPcm -> receiver gets the decoded frame from VoiceClient.onPcm',
    config: {
      markers: config.markers,
      intervalMs: config.intervalMs,
      frameMs: config.frameMs,
      bitrate: config.bitrate ?? 'server maximum',
      markerFrequenciesHz: MARKER_FREQUENCIES,
      markerAmplitude: MARKER_AMPLITUDE,
      warmupMs: WARMUP_MS,
      murmur: murmurVersion ?? null,
      murmurConfig: "the stack's (infra/murmur template via @alloquy/stack startMurmur)",
      transport: 'TLS over TCP on 127.0.0.1; voice in UDPTunnel messages (mumble-client has no UDP path)',
      codec: 'Opus via opusscript (libopus in WebAssembly), application voip',
      clients: 'two VoiceClients (mumble-client 1.3.0) in one Node process, same clock',
      channel: channel?.name ?? null,
    },
    samples: latency.samples,
    p50: latency.p50,
    p90: latency.p90,
    p99: latency.p99,
    max: latency.max,
    min: round(sorted[0] ?? Number.NaN),
    mean: latency.mean,
    lostMarkers: lost,
    spuriousDetections: matcher.spurious,
    target: `p50 < ${TARGET_P50_MS} ms`,
    pass,
    context: {
      framesSent: totalFrames + 5,
      framesReceived,
      concealedFrames,
      transmissionsSeen: transmissions,
      opusLookaheadMs: {
        p50: onsetMs.p50,
        note: 'where the burst onset lands in the decoded frame (libopus look-ahead); a listener hears it this much after the frame starts playing; not part of the latency above',
      },
      senderScheduleLatenessMs: { p50: schedule.p50, p99: schedule.p99, max: schedule.max },
      eventLoopDelayMs: {
        p50: round(loopDelay.percentile(50) / 1e6),
        p99: round(loopDelay.percentile(99) / 1e6),
        max: round(loopDelay.max / 1e6),
      },
      jitterBuffer: 'none: mumble-client hands each frame to the decoder as it arrives; a player adds its own playout buffer on top',
      notIncluded: [
        `capture framing (a ${config.frameMs} ms frame is complete ${config.frameMs} ms after its first sample)`,
        'Opus look-ahead (see opusLookaheadMs)',
        'playout buffer and sound card',
      ],
    },
  };
  await bench.cleanup();
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  process.stderr.write(
    [
      '',
      `voice bench: ${latency.samples} of ${config.markers} markers through Murmur ${murmurVersion ?? ''} on loopback (${config.frameMs} ms Opus frames over TLS/TCP)`,
      `  mouth-to-ear ms  p50 ${latency.p50}  p90 ${latency.p90}  p99 ${latency.p99}  max ${latency.max}  (lost ${lost}, spurious ${matcher.spurious})`,
      `  + Opus look-ahead ${onsetMs.p50} ms inside the decoded frame; sender schedule lateness p99 ${schedule.p99} ms`,
      `  p50 < ${TARGET_P50_MS} ms: ${pass ? 'PASS' : 'FAIL'}`,
      '',
    ].join('\n'),
  );
}

bench.run(main);
