/**
 * One measured phase of the IRC benchmark against an already running
 * InspIRCd: N clients register (optionally with SASL PLAIN) with bounded
 * concurrency and join one channel; one of them then sends M PRIVMSGs at a
 * steady pace and every other member's receive time is recorded per message.
 *
 * Clock: every timestamp is performance.now() in this process (monotonic, one
 * clock for sending and receiving). Receive times are taken when the TCP chunk
 * reaches the process, before parsing.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchIrcClient, parseIrcLine, sourceNick, type IrcMessage } from './irc-client.js';
import { round, summarize, type Summary } from './stats.js';

export interface PhaseCredentials {
  username: string;
  password: string;
}

export interface PhaseOptions {
  name: string;
  host: string;
  port: number;
  clients: number;
  messages: number;
  concurrency: number;
  paceMs: number;
  channel: string;
  /** Capabilities to request (all must be ACKed). */
  caps: readonly string[];
  nick(index: number): string;
  /** When given, each client logs in with SASL PLAIN before CAP END. */
  sasl?: (index: number) => PhaseCredentials;
  /** Expected `account` tag on received messages (the sender's account), or null when none may be present. */
  expectAccountTag: boolean;
  /** Pause after everyone joined and before the first message, identical in every phase. */
  settleMs: number;
  /** How long to wait for stragglers after the last message. */
  drainMs: number;
  /** Per-step timeout (connect, each registration step, join). */
  stepTimeoutMs: number;
  log(message: string): void;
  /** Clients are registered here so that an emergency cleanup can destroy them. */
  track(client: BenchIrcClient): void;
}

export interface TagCheck {
  /** Received PRIVMSGs whose tags were checked. */
  checked: number;
  missingMsgid: number;
  missingTime: number;
  /** Stack: messages without an account tag; bare: not applicable (0). */
  missingAccount: number;
  /** Stack: account tag naming someone other than the sender. Bare: any account tag at all. */
  wrongAccount: number;
  /** Messages whose source was not the sender. */
  wrongSource: number;
  /** msgids seen twice by one receiver (they must be unique per message). */
  duplicateMsgid: number;
}

/** Raw samples of one run of a phase (milliseconds); see summarizePhases for the summaries. */
export interface PhaseSamples {
  /** TCP connect established -> 001. */
  registration: number[];
  connectToCapEnd: number[];
  capEndTo001: number[];
  /** AUTHENTICATE PLAIN -> 903 (SASL phases only). */
  sasl: number[];
  /** AUTHENTICATE PLAIN -> AUTHENTICATE + (InspIRCd -> services -> InspIRCd). */
  saslChallenge: number[];
  /** Credentials sent -> 903 (the control server's password check and the round trips). */
  saslVerify: number[];
  /** Receive - send, per (receiver, message). */
  fanout: number[];
}

export interface PhaseResult {
  samples: PhaseSamples;
  registrationFailed: number;
  fanoutExpected: number;
  fanoutLost: number;
  fanoutDuplicates: number;
  receivers: number;
  tags: TagCheck;
  send: {
    sender: string;
    paceMs: number;
    /** Actual mean gap between consecutive sends. */
    achievedPaceMs: number;
    /** Worst delay of a send against its schedule (timer and event-loop lateness). */
    maxScheduleLagMs: number;
    /** Error numerics the sender got back (e.g. 404 cannot send to channel). */
    errors: string[];
  };
  timing: { registerAndJoinMs: number; sendMs: number; drainMs: number };
  errors: string[];
}

export interface PhaseSummary {
  registration: Summary & {
    failed: number;
    /** Where registration time goes: until the client could send CAP END, and CAP END to 001. */
    breakdown: {
      connectToCapEnd: Summary;
      capEndTo001: Summary;
      sasl?: Summary;
      saslChallenge?: Summary;
      saslVerify?: Summary;
    };
  };
  fanout: Summary & { lost: number; expected: number; duplicates: number; receivers: number };
  tags: TagCheck;
  send: PhaseResult['send'][];
  timing: PhaseResult['timing'][];
  errors: string[];
}

/** Pools the samples of one or more runs of the same phase and summarizes them. */
export function summarizePhases(results: readonly PhaseResult[]): PhaseSummary {
  const pool = (key: keyof PhaseSamples): number[] => results.flatMap((r) => r.samples[key]);
  const sum = (get: (r: PhaseResult) => number): number => results.reduce((total, r) => total + get(r), 0);
  const tags: TagCheck = { checked: 0, missingMsgid: 0, missingTime: 0, missingAccount: 0, wrongAccount: 0, wrongSource: 0, duplicateMsgid: 0 };
  for (const r of results) for (const key of Object.keys(tags) as (keyof TagCheck)[]) tags[key] += r.tags[key];
  const sasl = pool('sasl');
  return {
    registration: {
      ...summarize(pool('registration')),
      failed: sum((r) => r.registrationFailed),
      breakdown: {
        connectToCapEnd: summarize(pool('connectToCapEnd')),
        capEndTo001: summarize(pool('capEndTo001')),
        ...(sasl.length > 0 ? { sasl: summarize(sasl), saslChallenge: summarize(pool('saslChallenge')), saslVerify: summarize(pool('saslVerify')) } : {}),
      },
    },
    fanout: {
      ...summarize(pool('fanout')),
      lost: sum((r) => r.fanoutLost),
      expected: sum((r) => r.fanoutExpected),
      duplicates: sum((r) => r.fanoutDuplicates),
      receivers: results[0]?.receivers ?? 0,
    },
    tags,
    send: results.map((r) => r.send),
    timing: results.map((r) => r.timing),
    errors: results.flatMap((r) => r.errors),
  };
}

interface RegisteredClient {
  index: number;
  nick: string;
  account: string | null;
  client: BenchIrcClient;
  registrationMs: number;
  connectToCapEndMs: number;
  capEndTo001Ms: number;
  saslMs: number | undefined;
  /** AUTHENTICATE PLAIN -> AUTHENTICATE + (InspIRCd -> services -> InspIRCd). */
  saslChallengeMs: number | undefined;
  /** Credentials sent -> 903 (password check in the control server and the round trip). */
  saslVerifyMs: number | undefined;
}

const isNumeric = (code: string) => (message: IrcMessage) => message.command === code;

async function registerClient(options: PhaseOptions, index: number): Promise<RegisteredClient> {
  const nick = options.nick(index);
  const credentials = options.sasl?.(index);
  const client = new BenchIrcClient({ host: options.host, port: options.port, label: `${options.name}/${nick}`, connectTimeoutMs: options.stepTimeoutMs });
  options.track(client);
  const timeout = options.stepTimeoutMs;
  try {
    await client.connect();
    const start = client.connectedAt;

    client.send('CAP LS 302');
    // CAP LS 302 may span several lines: "CAP * LS * :..." until one without the '*'.
    await client.waitFor((m) => m.command === 'CAP' && m.params[1] === 'LS' && m.params[2] !== '*', timeout, 'CAP LS reply');

    client.send(`CAP REQ :${options.caps.join(' ')}`);
    client.send(`NICK ${nick}`);
    client.send(`USER ${nick} 0 * :Alloquy bench`);
    const { message: ack } = await client.waitFor(
      (m) => (m.command === 'CAP' && (m.params[1] === 'ACK' || m.params[1] === 'NAK')) || /^4\d\d$/.test(m.command),
      timeout,
      'CAP ACK',
    );
    if (ack.command !== 'CAP' || ack.params[1] !== 'ACK')
      throw new Error(`${client.label}: capability request refused: ${ack.command} ${ack.params.join(' ')}`);
    const acked = new Set((ack.params[2] ?? '').split(' ').filter((cap) => cap !== ''));
    const missing = options.caps.filter((cap) => !acked.has(cap));
    if (missing.length > 0) throw new Error(`${client.label}: capabilities not acknowledged: ${missing.join(' ')}`);

    let saslMs: number | undefined;
    let saslChallengeMs: number | undefined;
    let saslVerifyMs: number | undefined;
    if (credentials !== undefined) {
      const saslStart = performance.now();
      client.send('AUTHENTICATE PLAIN');
      const { at: challengeAt } = await client.waitFor((m) => m.command === 'AUTHENTICATE' && m.params[0] === '+', timeout, 'AUTHENTICATE +');
      saslChallengeMs = challengeAt - saslStart;
      const responseAt = performance.now();
      const payload = Buffer.from(`\0${credentials.username}\0${credentials.password}`, 'utf8').toString('base64');
      client.send(`AUTHENTICATE ${payload}`);
      const { message: result, at } = await client.waitFor((m) => ['903', '902', '904', '905', '906', '907'].includes(m.command), timeout, 'SASL result (903)');
      if (result.command !== '903') throw new Error(`${client.label}: SASL failed: ${result.command} ${result.params.slice(1).join(' ')}`);
      saslMs = at - saslStart;
      saslVerifyMs = at - responseAt;
    }

    const welcome = client.waitFor(isNumeric('001'), timeout, '001 (RPL_WELCOME)');
    const capEndAt = performance.now();
    client.send('CAP END');
    const { at: welcomeAt } = await welcome;

    const joined = client.waitFor(
      (m) => (m.command === '366' && m.params[1]?.toLowerCase() === options.channel) || /^4\d\d$/.test(m.command),
      timeout,
      `JOIN ${options.channel} (366)`,
    );
    client.send(`JOIN ${options.channel}`);
    const { message: joinReply } = await joined;
    if (joinReply.command !== '366') throw new Error(`${client.label}: JOIN failed: ${joinReply.command} ${joinReply.params.join(' ')}`);

    return {
      index,
      nick,
      account: credentials?.username ?? null,
      client,
      registrationMs: welcomeAt - start,
      connectToCapEndMs: capEndAt - start,
      capEndTo001Ms: welcomeAt - capEndAt,
      saslMs,
      saslChallengeMs,
      saslVerifyMs,
    };
  } catch (error) {
    client.destroy();
    throw error;
  }
}

interface Receiver {
  nick: string;
  client: BenchIrcClient;
  times: Float64Array;
  duplicates: number;
}

/** Runs the phase; every client it opened is closed when it returns or throws. */
export async function runPhase(options: PhaseOptions): Promise<PhaseResult> {
  const errors: string[] = [];
  const registered: RegisteredClient[] = [];
  let failed = 0;
  const phaseStart = performance.now();

  // Registration: `concurrency` workers pull client indices in order.
  let next = 0;
  let reported = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      if (index >= options.clients) return;
      try {
        registered.push(await registerClient(options, index));
      } catch (error) {
        failed += 1;
        if (errors.length < 10) errors.push((error as Error).message);
      }
      const done = registered.length + failed;
      if (done - reported >= 50 || done === options.clients) {
        reported = done;
        options.log(`${options.name}: ${registered.length}/${options.clients} registered and joined${failed > 0 ? `, ${failed} failed` : ''}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.clients) }, worker));
  const registerAndJoinMs = performance.now() - phaseStart;
  registered.sort((a, b) => a.index - b.index);

  try {
    if (registered.length < 2)
      throw new Error(`${options.name}: only ${registered.length} clients registered; need a sender and a receiver\n${errors.join('\n')}`);

    const [sender, ...others] = registered as [RegisteredClient, ...RegisteredClient[]];
    const M = options.messages;
    const sendTimes = new Float64Array(M).fill(Number.NaN);
    const tags: TagCheck = { checked: 0, missingMsgid: 0, missingTime: 0, missingAccount: 0, wrongAccount: 0, wrongSource: 0, duplicateMsgid: 0 };
    const expected = others.length * M;
    let received = 0;
    let onAllReceived: (() => void) | undefined;
    const senderNick = sender.nick;
    const marker = ` PRIVMSG ${options.channel} :bench `;

    // One msgid per message, shared by every receiver: uniqueness is checked on the first receiver.
    const firstMsgids = new Set<string>();
    const checkTags = (line: string, receiverIndex: number): void => {
      tags.checked += 1;
      const message = parseIrcLine(line);
      const msgid = message?.tags.get('msgid');
      if (msgid === undefined || msgid === '') tags.missingMsgid += 1;
      else if (receiverIndex === 0) {
        if (firstMsgids.has(msgid)) tags.duplicateMsgid += 1;
        firstMsgids.add(msgid);
      }
      if (!message?.tags.has('time')) tags.missingTime += 1;
      if (sourceNick(message?.source ?? null) !== senderNick) tags.wrongSource += 1;
      const account = message?.tags.get('account');
      if (options.expectAccountTag) {
        if (account === undefined) tags.missingAccount += 1;
        else if (account !== sender.account) tags.wrongAccount += 1;
      } else if (account !== undefined) {
        tags.wrongAccount += 1;
      }
    };

    const receivers: Receiver[] = others.map(({ nick, client }, receiverIndex) => {
      const receiver: Receiver = { nick, client, times: new Float64Array(M).fill(Number.NaN), duplicates: 0 };
      client.onRawLine = (line, at) => {
        const markerAt = line.indexOf(marker);
        if (markerAt < 0) return false;
        const seq = Number.parseInt(line.slice(markerAt + marker.length), 10);
        if (!(seq >= 0 && seq < M)) return false;
        if (!Number.isNaN(receiver.times[seq]!)) {
          receiver.duplicates += 1;
          return true;
        }
        receiver.times[seq] = at;
        received += 1;
        checkTags(line, receiverIndex);
        if (received === expected) onAllReceived?.();
        return true;
      };
      return receiver;
    });

    const sendErrors: string[] = [];
    sender.client.onRawLine = (line) => {
      const message = parseIrcLine(line);
      if (message !== null && /^4\d\d$/.test(message.command) && sendErrors.length < 10) sendErrors.push(`${message.command} ${message.params.join(' ')}`);
      return false;
    };

    options.log(
      `${options.name}: settling ${options.settleMs} ms, then ${M} messages from ${senderNick} to ${receivers.length} receivers every ${options.paceMs} ms`,
    );
    await sleep(options.settleMs);

    // Steady pace against an absolute schedule, so timer lateness does not accumulate.
    const filler = 'x'.repeat(48);
    const sendStart = performance.now();
    let maxLag = 0;
    for (let seq = 0; seq < M; seq++) {
      const due = sendStart + seq * options.paceMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const now = performance.now();
      maxLag = Math.max(maxLag, now - due);
      sendTimes[seq] = now;
      sender.client.send(`PRIVMSG ${options.channel} :bench ${seq} ${filler}`);
    }
    const sendMs = performance.now() - sendStart;

    const drainStart = performance.now();
    if (received < expected) {
      await Promise.race([
        new Promise<void>((resolve) => {
          onAllReceived = resolve;
        }),
        sleep(options.drainMs),
      ]);
    }
    const drainMs = performance.now() - drainStart;

    const latencies: number[] = [];
    let duplicates = 0;
    for (const receiver of receivers) {
      duplicates += receiver.duplicates;
      for (let seq = 0; seq < M; seq++) {
        const at = receiver.times[seq]!;
        if (!Number.isNaN(at)) latencies.push(at - sendTimes[seq]!);
      }
    }
    const lost = expected - latencies.length;
    if (lost > 0) errors.push(`${options.name}: ${lost} of ${expected} (receiver, message) deliveries missing after a ${options.drainMs} ms drain`);

    const defined = (values: (number | undefined)[]): number[] => values.filter((ms): ms is number => ms !== undefined);
    return {
      samples: {
        registration: registered.map((c) => c.registrationMs),
        connectToCapEnd: registered.map((c) => c.connectToCapEndMs),
        capEndTo001: registered.map((c) => c.capEndTo001Ms),
        sasl: defined(registered.map((c) => c.saslMs)),
        saslChallenge: defined(registered.map((c) => c.saslChallengeMs)),
        saslVerify: defined(registered.map((c) => c.saslVerifyMs)),
        fanout: latencies,
      },
      registrationFailed: failed,
      fanoutExpected: expected,
      fanoutLost: lost,
      fanoutDuplicates: duplicates,
      receivers: receivers.length,
      tags,
      send: {
        sender: senderNick,
        paceMs: options.paceMs,
        achievedPaceMs: round(M > 1 ? (sendTimes[M - 1]! - sendTimes[0]!) / (M - 1) : 0),
        maxScheduleLagMs: round(maxLag),
        errors: sendErrors,
      },
      timing: { registerAndJoinMs: round(registerAndJoinMs, 0), sendMs: round(sendMs, 0), drainMs: round(drainMs, 0) },
      errors,
    };
  } finally {
    for (const { client } of registered) client.close();
  }
}
