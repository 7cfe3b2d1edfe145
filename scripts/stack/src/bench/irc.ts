/**
 * IRC benchmark: a bare InspIRCd against the whole Alloquy stack.
 *
 *   scripts/bench/irc [--clients 200] [--messages 200] [--concurrency 20]
 *                     [--pace-ms <ms>] [--repeat 1] [--timeout-s <s>] [--keep]
 *
 * 1. Probe (not measured): start the stack once to read back the InspIRCd
 *    options `up` uses (module folder, extra modules, limits).
 * 2. BARE: InspIRCd from the same template with the same options, without the
 *    services link. N clients register over plaintext TCP on 127.0.0.1 (CAP
 *    LS 302, CAP REQ, NICK, USER, CAP END) with bounded concurrency, all join
 *    one channel, one of them sends M PRIVMSGs at a steady pace.
 * 3. STACK: the full stack (InspIRCd + control server as SASL agent) via
 *    startStack; N accounts created over HTTP (not timed); the same harness
 *    with SASL PLAIN before CAP END.
 * 4. The rendered InspIRCd configs of both runs are compared tag by tag.
 * With --repeat R, steps 2 and 3 alternate R times (fresh servers each time)
 * and the samples of each phase are pooled.
 *
 * stdout: exactly one JSON object. Progress and a summary go to stderr.
 * Exit status: 0 when the benchmark ran (whether or not targets were met),
 * 1 on failure, 2 on bad arguments, 124 on the overall time limit.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { homeLayout } from '../home.js';
import { startInspircd, type InspircdHandle } from '../inspircd/process.js';
import { startStack, type RunningStack } from '../stack-testing.js';
import { benchLogger, BenchRun, configOrExit, integerOption, parseBenchArgs } from './harness.js';
import type { BenchIrcClient } from './irc-client.js';
import { runPhase, summarizePhases, type PhaseOptions, type PhaseResult, type PhaseSummary } from './irc-phase.js';
import { compareConfigs, profileFromConfig, sameConfig, type ConfigComparison, type InspircdProfile } from './inspircd-profile.js';
import { round } from './stats.js';

/**
 * The guild's default text channel: on the stack it is held by services (HistServ records every
 * line), and channels outside the guild are closed by default, so this is the channel real
 * users talk in. The bare InspIRCd run uses the same name.
 */
const CHANNEL = '#general';
const BASE_CAPS = ['message-tags', 'server-time', 'account-tag', 'extended-join'] as const;
const REGISTRATION_TARGET_MS = 50;
const FANOUT_RATIO_TARGET = 1.1;

interface BenchConfig {
  clients: number;
  messages: number;
  concurrency: number;
  /** null: derived from the connect class (1000 / commands per second). */
  paceMs: number | null;
  timeoutS: number | null;
  keep: boolean;
  /** Alternating bare/stack repetitions whose samples are pooled. */
  repeat: number;
  settleMs: number;
  drainMs: number;
}

const USAGE = `usage: scripts/bench/irc [--clients N] [--messages M] [--concurrency C] [--pace-ms MS]
                        [--settle-ms MS] [--drain-ms MS] [--repeat R] [--timeout-s S] [--keep]
  --clients      IRC clients per phase (default 200)
  --messages     PRIVMSGs sent by one client per phase (default 200)
  --concurrency  clients registering at the same time (default 20)
  --pace-ms      gap between messages (default: 1000 / the loopback connect class's
                 commands per second, the fastest pace InspIRCd sustains without fakelag)
  --settle-ms    pause after everyone joined, before the first message (default 1000)
  --drain-ms     how long to wait for missing messages after the last one (default 10000)
  --repeat       run bare then stack this many times, alternating, and pool the samples
                 (default 1); the report also lists each repetition
  --timeout-s    hard limit for the whole run (default: derived from the sizes)
  --keep         keep the temporary folder (configs, logs) instead of deleting it`;

function parseConfig(argv: string[]): BenchConfig {
  const values = parseBenchArgs(
    argv,
    {
      clients: { type: 'string' },
      messages: { type: 'string' },
      concurrency: { type: 'string' },
      'pace-ms': { type: 'string' },
      'settle-ms': { type: 'string' },
      'drain-ms': { type: 'string' },
      'timeout-s': { type: 'string' },
      keep: { type: 'boolean' },
      repeat: { type: 'string' },
    },
    USAGE,
  );
  const num = (name: string, value: string | undefined): number | null => {
    if (value === undefined) return null;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(value)}`);
    return parsed;
  };
  return {
    clients: integerOption('clients', values.clients, 200, 2),
    messages: integerOption('messages', values.messages, 200, 1),
    concurrency: integerOption('concurrency', values.concurrency, 20, 1),
    paceMs: num('pace-ms', values['pace-ms']),
    timeoutS: num('timeout-s', values['timeout-s']),
    keep: values.keep === true,
    repeat: integerOption('repeat', values.repeat, 1, 1),
    settleMs: integerOption('settle-ms', values['settle-ms'], 1000, 0),
    drainMs: integerOption('drain-ms', values['drain-ms'], 10_000, 0),
  };
}

const log = benchLogger();

// ---------------------------------------------------------------- cleanup

const openClients = new Set<BenchIrcClient>();
let inspircd: InspircdHandle | undefined;
let stack: RunningStack | undefined;
let workDir: string | undefined;
let keepWorkDir = false;

const bench = new BenchRun({
  log,
  /** Stops whatever is still running and removes the work folder. */
  cleanup: async () => {
    for (const client of openClients) client.destroy();
    openClients.clear();
    const stops: Promise<void>[] = [];
    if (inspircd !== undefined) stops.push(inspircd.stop().catch((error: Error) => log(`stopping InspIRCd: ${error.message}`)));
    if (stack !== undefined) stops.push(stack.stop().catch((error: Error) => log(`stopping the stack: ${error.message}`)));
    await Promise.all(stops);
    inspircd = undefined;
    stack = undefined;
    if (workDir !== undefined) {
      if (keepWorkDir) log(`kept ${workDir}`);
      else await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    }
  },
  hardExitMs: 30_000,
});

// ---------------------------------------------------------------- helpers

/** Registers `count` accounts over HTTP, a few at a time (argon2id hashing is the slow part). */
async function createAccounts(httpUrl: string, accounts: { username: string; password: string }[], parallel: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const account = accounts[next++];
      if (account === undefined) return;
      const response = await fetch(`${httpUrl}/api/v1/accounts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(account),
        signal: AbortSignal.timeout(30_000),
      });
      if (response.status !== 201) {
        throw new Error(`POST /api/v1/accounts for ${account.username}: HTTP ${response.status} ${await response.text()}`);
      }
      await response.arrayBuffer().catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/**
 * The largest flood penalty the sender reaches, as InspIRCd 3 counts it: each
 * command adds 1000, the once-a-second pass takes `commandsPerSecond * 1000`
 * off, and a command is processed at once only while the penalty is below
 * `threshold * 1000`. Assumes the worst phase (the first pass a full second
 * after the first message) and the registration commands still counted.
 */
function predictedPeakPenalty(messages: number, paceMs: number, commandsPerSecond: number, registrationCommands: number): number {
  let peak = 0;
  for (let k = 1; k <= messages; k++) {
    const elapsedS = Math.floor(((k - 1) * paceMs) / 1000);
    peak = Math.max(peak, (registrationCommands + k) * 1000 - elapsedS * commandsPerSecond * 1000);
  }
  return peak;
}

/** The report section of a phase, from the pooled samples of every repetition. */
function section(summary: PhaseSummary): Record<string, unknown> {
  const { registration, fanout } = summary;
  return {
    registration: {
      p50: registration.p50,
      p90: registration.p90,
      p99: registration.p99,
      max: registration.max,
      mean: registration.mean,
      samples: registration.samples,
      failed: registration.failed,
      breakdown: registration.breakdown,
    },
    fanout: {
      p50: fanout.p50,
      p90: fanout.p90,
      p99: fanout.p99,
      max: fanout.max,
      mean: fanout.mean,
      samples: fanout.samples,
      lost: fanout.lost,
      expected: fanout.expected,
      duplicates: fanout.duplicates,
      receivers: fanout.receivers,
    },
    tags: summary.tags,
    send: summary.send,
    timing: summary.timing,
    errors: summary.errors,
  };
}

function phaseValid(summary: PhaseSummary): boolean {
  return (
    summary.registration.failed === 0 && summary.fanout.lost === 0 && summary.errors.length === 0 && summary.send.every((send) => send.errors.length === 0)
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const config = configOrExit(USAGE, () => parseConfig(process.argv.slice(2)));
  keepWorkDir = config.keep;

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => bench.fail(signal === 'SIGINT' ? 130 : 143, `interrupted by ${signal}; cleaning up`));
  }
  process.on('uncaughtException', (error) => bench.fail(1, `unexpected error: ${error.stack ?? error.message}`));
  process.on('unhandledRejection', (error) => bench.fail(1, `unexpected rejection: ${(error as Error)?.stack ?? String(error)}`));

  workDir = await mkdtemp(join(tmpdir(), 'alloquy-bench-irc-'));
  const stackHome = join(workDir, 'stack');
  const runTag = randomLetters(4);
  log(`work folder ${workDir}`);

  // ---- probe: how does `up` configure InspIRCd?
  log('probe: starting the stack once to read the InspIRCd options up uses (not measured)');
  stack = await startStack({ home: stackHome, timeoutMs: 60_000 });
  const stackConfigPath = join(homeLayout(stackHome, {}).inspircdDir, 'inspircd.conf');
  const probeConfig = await readFile(stackConfigPath, 'utf8');
  await stack.stop();
  stack = undefined;
  const profile: InspircdProfile = await profileFromConfig(probeConfig);
  log(
    `probe: moduleDir=${profile.moduleDir ?? '(InspIRCd default)'} extraModules=[${profile.extraModules.join(', ')}] ` +
      `limits=${JSON.stringify(profile.limits)}`,
  );

  const { commandsPerSecond, threshold, fakelag } = profile.flood;
  const paceMs = config.paceMs ?? Math.ceil(1000 / commandsPerSecond);
  // CAP LS, CAP REQ, NICK, USER, AUTHENTICATE x2, CAP END, JOIN.
  const peakPenalty = predictedPeakPenalty(config.messages, paceMs, commandsPerSecond, 8);
  const fakelagSafe = peakPenalty < threshold * 1000;
  if (!fakelagSafe) {
    log(
      `WARNING: ${config.messages} messages every ${paceMs} ms may reach a flood penalty of ${peakPenalty} ` +
        `(limit ${threshold * 1000}): InspIRCd would ${fakelag ? 'delay (fakelag)' : 'disconnect'} the sender and fan-out would measure that`,
    );
  }
  const perRepeatS =
    2 * (Math.ceil(config.clients / config.concurrency) * 1.5 + (config.messages * paceMs) / 1000 + config.drainMs / 1000 + config.clients * 0.05 + 30);
  const timeoutS = config.timeoutS ?? Math.ceil(120 + config.repeat * perRepeatS);
  const watchdog = setTimeout(() => bench.fail(124, `time limit of ${timeoutS} s reached; cleaning up`), timeoutS * 1000);

  const benchConfig = {
    clients: config.clients,
    messages: config.messages,
    concurrency: config.concurrency,
    paceMs,
    paceSource:
      config.paceMs === null
        ? `1000 / commandrate (${commandsPerSecond}/s) of the loopback connect class: the fastest steady pace InspIRCd 3 never fakelags`
        : '--pace-ms',
    transport: 'plaintext TCP to the InspIRCd client port on 127.0.0.1 (both phases)',
    repeat: config.repeat,
    order:
      config.repeat === 1
        ? 'probe, bare, stack'
        : `probe, then ${config.repeat} x (bare, stack) alternating; each phase on a freshly started server; samples pooled`,
    channel: CHANNEL,
    caps: { bare: [...BASE_CAPS], stack: ['sasl', ...BASE_CAPS] },
    messageText: 'bench <seq> + 48 filler characters',
    settleMs: config.settleMs,
    drainMs: config.drainMs,
    timeoutS,
    clock: 'performance.now() in the bench process for send and receive; receive time taken when the TCP chunk arrives, before parsing',
    registrationMeasure:
      'TCP connect established -> 001 received (stack: SASL PLAIN included); CAP LS 302, then CAP REQ + NICK + USER, CAP ACK, [SASL], CAP END',
    fanoutMeasure: 'client 0 sends, the other clients receive; latency per (receiver, message) = receive - send',
    inspircd: {
      moduleDir: profile.moduleDir ?? null,
      extraModules: profile.extraModules,
      limits: profile.limits,
      flood: { commandsPerSecond, threshold, fakelag, predictedPeakPenalty: peakPenalty, penaltyLimit: threshold * 1000, safe: fakelagSafe },
    },
  };
  bench.partial.config = benchConfig;

  const phaseBase = (name: string): Omit<PhaseOptions, 'port' | 'caps' | 'nick' | 'expectAccountTag'> => ({
    name,
    host: '127.0.0.1',
    clients: config.clients,
    messages: config.messages,
    concurrency: config.concurrency,
    paceMs,
    channel: CHANNEL,
    settleMs: config.settleMs,
    drainMs: config.drainMs,
    stepTimeoutMs: 15_000,
    log,
    track: (client) => openClients.add(client),
  });

  const accounts = Array.from({ length: config.clients }, (_, index) => ({
    username: `bs${runTag}${index}`,
    password: randomBytes(18).toString('base64url'),
  }));
  const bareRuns: PhaseResult[] = [];
  const stackRuns: PhaseResult[] = [];
  const configMismatches: string[] = [];
  let parity: ConfigComparison | undefined;

  for (let repeat = 1; repeat <= config.repeat; repeat++) {
    const label = config.repeat === 1 ? '' : ` ${repeat}/${config.repeat}`;
    // ---- BARE
    log(`bare${label}: starting InspIRCd without the services link`);
    inspircd = await startInspircd({
      workDir: join(workDir, `bare-${repeat}`),
      services: null,
      limits: profile.limits,
      ...(profile.moduleDir === undefined ? {} : { moduleDir: profile.moduleDir }),
      ...(profile.extraModules.length === 0 ? {} : { extraModules: profile.extraModules }),
    });
    const bareConfig = await readFile(inspircd.configPath, 'utf8');
    await pause(config.settleMs);
    const bare = await runPhase({
      ...phaseBase(`bare${label}`),
      port: inspircd.ports.irc,
      caps: BASE_CAPS,
      nick: (index) => `bb${runTag}${index}`,
      expectAccountTag: false,
    });
    bareRuns.push(bare);
    bench.partial.bare = section(summarizePhases(bareRuns));
    openClients.clear();
    await inspircd.stop();
    inspircd = undefined;
    log(`bare${label}: done (${oneLine(bare)})`);

    // ---- STACK
    log(`stack${label}: starting the whole stack`);
    stack = await startStack({ home: stackHome, timeoutMs: 60_000 });
    if (repeat === 1) {
      const accountsStart = performance.now();
      await createAccounts(stack.httpUrl, accounts, 4);
      log(`stack: created ${accounts.length} accounts over HTTP in ${Math.round(performance.now() - accountsStart)} ms (not timed)`);
    }
    const stackConfig = await readFile(stackConfigPath, 'utf8');
    await pause(config.settleMs);
    const stackRun = await runPhase({
      ...phaseBase(`stack${label}`),
      port: stack.ports.irc,
      caps: ['sasl', ...BASE_CAPS],
      nick: (index) => accounts[index]!.username,
      sasl: (index) => accounts[index]!,
      expectAccountTag: true,
    });
    stackRuns.push(stackRun);
    bench.partial.stack = section(summarizePhases(stackRuns));
    openClients.clear();
    await stack.stop();
    stack = undefined;
    log(`stack${label}: done (${oneLine(stackRun)})`);

    const comparison = compareConfigs(bareConfig, stackConfig);
    parity ??= comparison;
    if (!comparison.identical) configMismatches.push(`repeat ${repeat}: bare and stack configs differ`);
    if (!sameConfig(probeConfig, stackConfig)) configMismatches.push(`repeat ${repeat}: up rendered another config than in the probe`);
  }

  // ---- compare
  const bare = summarizePhases(bareRuns);
  const stackSummary = summarizePhases(stackRuns);
  const stackTagsOk =
    stackSummary.tags.missingAccount === 0 &&
    stackSummary.tags.wrongAccount === 0 &&
    stackSummary.tags.missingMsgid === 0 &&
    stackSummary.tags.missingTime === 0 &&
    stackSummary.tags.wrongSource === 0 &&
    stackSummary.tags.duplicateMsgid === 0;
  const parityOk = configMismatches.length === 0;
  const invalidBecause = [
    ...configMismatches,
    ...(phaseValid(bare) ? [] : ['bare phase had failed clients, lost messages or send errors']),
    ...(phaseValid(stackSummary) ? [] : ['stack phase had failed clients, lost messages or send errors']),
    ...(stackTagsOk ? [] : ['stack messages lacked account/msgid/time tags or named the wrong account']),
    ...(fakelagSafe ? [] : ['the pace may trip fakelag']),
  ];
  const valid = invalidBecause.length === 0;
  const delta = round(stackSummary.registration.p50 - bare.registration.p50);
  const ratio = round(stackSummary.fanout.p99 / bare.fanout.p99);

  const perRepeat = bareRuns.map((bareRun, index) => {
    const b = summarizePhases([bareRun]);
    const st = summarizePhases([stackRuns[index]!]);
    return {
      registrationP50: { bare: b.registration.p50, stack: st.registration.p50, deltaMs: round(st.registration.p50 - b.registration.p50) },
      fanoutP99: { bare: b.fanout.p99, stack: st.fanout.p99, ratio: round(st.fanout.p99 / b.fanout.p99) },
    };
  });

  const output = {
    config: benchConfig,
    bare: section(bare),
    stack: { ...section(stackSummary), tagsOk: stackTagsOk },
    comparison: {
      registrationP50DeltaMs: { value: delta, target: `≤ ${REGISTRATION_TARGET_MS} ms`, pass: valid && delta <= REGISTRATION_TARGET_MS },
      fanoutP99Ratio: { value: ratio, target: `≤ ${FANOUT_RATIO_TARGET.toFixed(2)}`, pass: valid && ratio <= FANOUT_RATIO_TARGET },
      basis: config.repeat === 1 ? 'one bare run, one stack run' : `samples pooled over ${config.repeat} alternating repetitions`,
      ...(config.repeat === 1
        ? {}
        : {
            perRepeat,
            medianOfRepeats: {
              registrationP50DeltaMs: round(median(perRepeat.map((r) => r.registrationP50.deltaMs))),
              fanoutP99Ratio: round(median(perRepeat.map((r) => r.fanoutP99.ratio))),
            },
          }),
      valid,
      invalidBecause,
      configParity: {
        identical: parityOk,
        what: 'bare inspircd.conf vs the one up rendered for the measured stack run, tag by tag, after dropping the services-link tags',
        linkOnlyTags: parity?.linkOnly ?? [],
        bareOnly: parity?.bareOnly ?? [],
        stackOnly: parity?.stackOnly ?? [],
        orderDiffers: parity?.orderDiffers ?? false,
        notCompared: parity?.ignoredAttributes ?? [],
      },
    },
  };

  clearTimeout(watchdog);
  bench.finish();
  await bench.cleanup();
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  printSummary(benchConfig, bare, stackSummary, delta, ratio, valid, invalidBecause, parityOk);
}

function oneLine(result: PhaseResult): string {
  const s = summarizePhases([result]);
  return `registration p50 ${s.registration.p50} ms, fan-out p99 ${s.fanout.p99} ms, lost ${s.fanout.lost}, failed ${s.registration.failed}`;
}

/** The same pause in both phases after a server starts, so its startup work is not measured. */
async function pause(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

function randomLetters(count: number): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  return Array.from(randomBytes(count), (byte) => letters[byte % letters.length]).join('');
}

function printSummary(
  config: { clients: number; messages: number; paceMs: number; concurrency: number; repeat: number; inspircd: { extraModules: string[] } },
  bare: PhaseSummary,
  stackSummary: PhaseSummary,
  delta: number,
  ratio: number,
  valid: boolean,
  invalidBecause: string[],
  parity: boolean,
): void {
  const b = bare.registration.breakdown;
  const st = stackSummary.registration.breakdown;
  const lines = [
    '',
    `IRC bench: ${config.clients} clients (${config.concurrency} registering at a time), ${config.messages} messages every ${config.paceMs} ms, ` +
      `plaintext loopback${config.repeat > 1 ? `, ${config.repeat} alternating repetitions pooled` : ''}`,
    `  extra InspIRCd modules: ${config.inspircd.extraModules.join(', ') || 'none'}; bare and stack configs identical apart from the link: ${parity ? 'yes' : 'NO'}`,
    `  registration p50/p99 ms  bare ${bare.registration.p50} / ${bare.registration.p99}   stack ${stackSummary.registration.p50} / ${stackSummary.registration.p99}`,
    `    of which CAP END -> 001 p50: bare ${b.capEndTo001.p50}, stack ${st.capEndTo001.p50}; SASL p50 ${st.sasl?.p50 ?? '-'} (password check ${st.saslVerify?.p50 ?? '-'})`,
    `  fan-out p50/p99 ms       bare ${bare.fanout.p50} / ${bare.fanout.p99}   stack ${stackSummary.fanout.p50} / ${stackSummary.fanout.p99}` +
      `   (lost: bare ${bare.fanout.lost}, stack ${stackSummary.fanout.lost} of ${stackSummary.fanout.expected})`,
    `  registration p50 delta ${delta} ms (target ≤ ${REGISTRATION_TARGET_MS} ms): ${valid && delta <= REGISTRATION_TARGET_MS ? 'PASS' : 'FAIL'}`,
    `  fan-out p99 ratio ${ratio} (target ≤ ${FANOUT_RATIO_TARGET.toFixed(2)}): ${valid && ratio <= FANOUT_RATIO_TARGET ? 'PASS' : 'FAIL'}`,
    ...(valid ? [] : [`  NOT VALID for comparison: ${invalidBecause.join('; ')}`]),
    '',
  ];
  process.stderr.write(lines.join('\n'));
}

bench.run(main);
