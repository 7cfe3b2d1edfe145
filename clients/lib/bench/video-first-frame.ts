/**
 * Video benchmark: from joining a room to the first decoded frame of a member's camera, directly
 * and through TURN.
 *
 *   scripts/bench/video [--iterations 20] [--timeout-s S]
 *
 * The whole stack as `scripts/up` runs it, on free loopback ports (control server, signalling
 * service, coturn, ...), and headless Chromium (Debian's, fake camera). A publisher sits in the
 * voice channel General with its camera on; a viewer, in another tab of the same browser, joins
 * the room --iterations times per mode and leaves after each. Each join is timed in the viewer's
 * page (performance.now, one clock):
 *
 *   joined    the service answered the join
 *   connected the peer connection to the publisher is up (ICE + DTLS; simple-peer's `connect`)
 *   stream    the publisher's camera stream was handed to the page
 *   decoded   its first frame was received and decoded (requestVideoFrameCallback's
 *             receiveTime + processingDuration)
 *   presented that frame was presented
 *
 * Modes: `direct` (iceTransportPolicy all: loopback host candidates) and `relay` (policy relay on
 * both sides: every packet through coturn). The pair ICE selected is checked each time.
 * On loopback there is no network delay: what is measured is signalling, ICE, DTLS, TURN
 * allocation and the first key frame, the parts Alloquy and coturn add.
 *
 * stdout: exactly one JSON object. Progress and a summary go to stderr.
 * Exit status: 0 when the benchmark ran, 1 on failure, 2 on bad arguments, 124 on the time limit.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { benchLogger, BenchRun, configOrExit, integerOption, parseBenchArgs } from '@alloquy/stack/bench/harness.js';
import { round, summarize } from '@alloquy/stack/bench/stats.js';
import type { FirstFrameTiming, PageFailure } from '../test/support/video-page.js';
import { startVideoStack, type VideoPage, type VideoStack } from '../test/support/video-stack.js';

const MODES = [
  { name: 'direct', policy: 'all' as const, pair: 'host' },
  { name: 'relay', policy: 'relay' as const, pair: 'relay' },
];
/** Between a leave and the next join: coturn frees the allocation, the publisher drops the peer. */
const PAUSE_MS = 300;
const FRAME_TIMEOUT_MS = 20_000;

interface BenchConfig {
  iterations: number;
  timeoutS: number;
}

const USAGE = `usage: scripts/bench/video [--iterations N] [--timeout-s S]
  --iterations  joins per mode, direct and through TURN (default 20)
  --timeout-s   give up after this long (default: 120 s + 5 s per join)`;

function parseConfig(argv: string[]): BenchConfig {
  const values = parseBenchArgs(argv, { iterations: { type: 'string' }, 'timeout-s': { type: 'string' } }, USAGE);
  const iterations = integerOption('iterations', values.iterations, 20, 1);
  return { iterations, timeoutS: integerOption('timeout-s', values['timeout-s'], 120 + 5 * iterations * MODES.length, 1) };
}

const log = benchLogger();
let env: VideoStack | undefined;

const bench = new BenchRun({
  log,
  cleanup: async () => {
    await env?.close().catch((error: Error) => log(`stopping: ${error.message}`));
  },
  hardExitMs: 30_000,
});

function ok<T>(value: T | PageFailure, what: string): Exclude<T, PageFailure> {
  if (typeof value === 'object' && value !== null && 'failed' in value) throw new Error(`${what}: ${value.message}`);
  return value as Exclude<T, PageFailure>;
}

async function main(): Promise<void> {
  const config = configOrExit(USAGE, () => parseConfig(process.argv.slice(2)));
  const watchdog = setTimeout(() => bench.fail(124, `time limit of ${config.timeoutS} s reached`), config.timeoutS * 1000);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => bench.fail(130, `interrupted (${signal})`));
  bench.partial.config = { ...config };

  log('starting the stack and Chromium');
  env = await startVideoStack(['owner', 'publisher', 'viewer']);
  let userAgent = '';
  const results: Record<string, unknown> = {};
  bench.partial.results = results;

  for (const mode of MODES) {
    const publisher: VideoPage = await env.newUserPage();
    const viewer: VideoPage = await env.newUserPage();
    ok(await publisher.connect(env.signallingUrl, env.tokens.publisher!), 'publisher connect');
    ok(await publisher.join('voice:General', mode.policy), 'publisher join');
    ok(await publisher.start('camera'), 'camera');
    ok(await viewer.connect(env.signallingUrl, env.tokens.viewer!), 'viewer connect');
    userAgent = await viewer.page.evaluate(() => navigator.userAgent);
    log(`${mode.name}: ${config.iterations} joins`);
    const timings: FirstFrameTiming[] = [];
    const pairs: Record<string, number> = {};
    for (let i = 0; i < config.iterations; i++) {
      const timing = ok(await viewer.timeFirstFrame('voice:General', mode.policy, 'publisher', 'camera', FRAME_TIMEOUT_MS), `join ${i + 1}`);
      const pairName = timing.pair ? `${timing.pair.local.type}/${timing.pair.remote.type}` : 'none';
      pairs[pairName] = (pairs[pairName] ?? 0) + 1;
      if (timing.pair?.local.type !== mode.pair) throw new Error(`${mode.name}: the selected pair was ${pairName}, not ${mode.pair}`);
      timings.push(timing);
      ok(await viewer.leave(), 'leave');
      await sleep(PAUSE_MS);
    }
    await publisher.close();
    await viewer.close();
    const of = (key: keyof Omit<FirstFrameTiming, 'pair'>) => summarize(timings.map((t) => t[key]));
    results[mode.name] = {
      iceTransportPolicy: mode.policy,
      selectedPairs: pairs,
      firstDecodedFrameMs: of('decodedMs'),
      firstPresentedFrameMs: of('presentedMs'),
      joinedMs: of('joinedMs'),
      connectedMs: of('connectedMs'),
      streamMs: of('streamMs'),
    };
    log(`${mode.name}: first decoded frame p50 ${(results[mode.name] as { firstDecodedFrameMs: { p50: number } }).firstDecodedFrameMs.p50} ms`);
  }
  bench.finish();
  clearTimeout(watchdog);
  await bench.cleanup();

  const direct = results.direct as { firstDecodedFrameMs: { p50: number; p90: number } };
  const relay = results.relay as { firstDecodedFrameMs: { p50: number; p90: number } };
  const output = {
    benchmark: 'video-first-frame',
    config,
    environment: { browser: /Chrome\/[\d.]+/.exec(userAgent)?.[0] ?? userAgent, node: process.version },
    results,
    turnOverheadP50Ms: round(relay.firstDecodedFrameMs.p50 - direct.firstDecodedFrameMs.p50),
  };
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  log(
    `join → first decoded remote frame: direct p50 ${direct.firstDecodedFrameMs.p50} ms (p90 ${direct.firstDecodedFrameMs.p90}), ` +
      `through TURN p50 ${relay.firstDecodedFrameMs.p50} ms (p90 ${relay.firstDecodedFrameMs.p90})`,
  );
}

bench.run(main);
