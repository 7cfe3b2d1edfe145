/**
 * HTTP benchmark: requests per second and latency of the control server's hottest API routes
 * under load, each beside bare node:http serving the very same bytes, in the same run.
 *
 *   scripts/bench/http [--duration S] [--warmup S] [--connections N] [--messages N]
 *                      [--routes me,messages,turn] [--cpu-prof DIR] [--keep]
 *
 * 1. A temporary ALLOQUY_HOME whose control database is seeded before the server starts:
 *    `--messages` messages in #general (some replies, some reactions) through the HistoryStore.
 * 2. The control server as its own process (`services/control/dist/main.js`, as `scripts/up` runs
 *    it) on free loopback ports, IRC and Murmur off. Two accounts are registered over HTTP (the
 *    first becomes the admin, for whom permission checks short-circuit; the benchmark logs in as
 *    the second, an ordinary member) and the second logs in for its access token.
 * 3. Each route is fetched once; its status, content-type and bytes are what a bare node:http
 *    process (dist-bench/http-bare-server.js) then answers on the same path.
 *    With `--routes ...,turn`, signalling (services/signalling/dist/main.js) runs too, beside the
 *    control server whose gRPC Access service tells it who each bearer is.
 * 4. For each route in turn: autocannon (`--connections` connections, no pipelining, the bearer
 *    token on every request) against the control server, then against the bare server, each a
 *    `--warmup` run that is thrown away followed by a `--duration` run that is measured. The
 *    load generator runs in this process on the same machine: the figures are the whole box's.
 *
 * stdout: exactly one JSON object (per route and server: requests/s, latency p50/p90/p99, errors,
 * non-2xx, server CPU, and the stack's ratio to bare). Progress and a summary with the targets
 * go to stderr. Exit status: 0 when the benchmark ran (whether or not targets were met), 1 on
 * failure, 2 on bad arguments.
 *
 * `--cpu-prof DIR` starts the control server under `node --cpu-prof`: its .cpuprofile lands in
 * DIR when the server stops at the end (open it in Chrome DevTools, or read it as JSON).
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { seededRandom } from '@alloquy/protocol/testing';
import { benchLogger, BenchRun, configOrExit, integerOption, parseBenchArgs } from '@alloquy/stack/bench/harness.js';
import { round } from '@alloquy/stack/bench/stats.js';
import { freePorts, spawnDaemon, waitForTcpPorts, type DaemonProcess } from '@alloquy/stack';
import { HistoryStore, type IngestMessage } from '../dist/history/store.js';
import { openControlDatabase } from '../dist/store/database.js';
import type { BareBody } from './http-bare-server.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CONTROL_MAIN = resolve(HERE, '../dist/main.js');
const SIGNALLING_MAIN = resolve(HERE, '../../signalling/dist/main.js');
const BARE_SERVER = join(HERE, 'http-bare-server.js');

/** The issue's targets (issue 11), for 50 connections on 2 cores. */
const TARGETS = { p99Ms: 25, requestsPerSecond: { me: 8000, messages: 3000 } as Record<string, number | undefined> } as const;

interface BenchRoute {
  name: string;
  path: string;
  /** The service that answers it: the control server, or signalling (which asks the control server over gRPC who the bearer is). */
  service: 'control' | 'signalling';
}

const ROUTES: readonly BenchRoute[] = [
  { name: 'me', path: '/api/v1/me', service: 'control' },
  { name: 'messages', path: '/api/v1/channels/general/messages?limit=50', service: 'control' },
  { name: 'turn', path: '/api/v1/turn-credentials', service: 'signalling' },
];
/** What runs without --routes: the routes with targets. */
const DEFAULT_ROUTES = ['me', 'messages'];

const USAGE = `usage: scripts/bench/http [--duration S] [--warmup S] [--connections N] [--messages N]
                         [--routes me,messages,turn] [--cpu-prof DIR] [--keep]
  --duration     measured seconds per route and server (default 10)
  --warmup       seconds of load before each measured run, not counted (default 3)
  --connections  concurrent keep-alive connections (default 50)
  --messages     messages seeded into #general (default 10000)
  --routes       which routes, comma-separated: ${ROUTES.map((r) => r.name).join(', ')} (default ${DEFAULT_ROUTES.join(',')});
                 turn is signalling's GET /api/v1/turn-credentials (no target; signalling runs too)
  --cpu-prof DIR run the control server under node --cpu-prof, writing its profile into DIR
  --keep         keep the temporary home (database, server log) instead of deleting it`;

interface BenchConfig {
  durationS: number;
  warmupS: number;
  connections: number;
  messages: number;
  routes: BenchRoute[];
  cpuProfDir: string | undefined;
  keep: boolean;
}

function parseConfig(argv: string[]): BenchConfig {
  const values = parseBenchArgs(
    argv,
    {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      messages: { type: 'string' },
      routes: { type: 'string' },
      'cpu-prof': { type: 'string' },
      keep: { type: 'boolean' },
    },
    USAGE,
  );
  const names = values.routes?.split(',').map((name) => name.trim()) ?? DEFAULT_ROUTES;
  const routes = names.map((name) => {
    const found = ROUTES.find((r) => r.name === name);
    if (!found) throw new Error(`--routes: no route "${name}" (known: ${ROUTES.map((r) => r.name).join(', ')})`);
    return found;
  });
  return {
    durationS: integerOption('duration', values.duration, 10, 1),
    warmupS: integerOption('warmup', values.warmup, 3, 0),
    connections: integerOption('connections', values.connections, 50, 1),
    messages: integerOption('messages', values.messages, 10_000, 1),
    routes,
    cpuProfDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
    keep: values.keep === true,
  };
}

const log = benchLogger();

// ---------------------------------------------------------------- processes

/** A server process of the benchmark, by the name its error messages use. */
interface NamedDaemon {
  name: string;
  daemon: DaemonProcess;
}

const daemons = new Set<NamedDaemon>();

/** A Node process of the bench (a server), stopped with the others when the bench ends. */
function startNode(name: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): NamedDaemon {
  // SIGTERM: the services stop cleanly on it, and --cpu-prof writes its profile then.
  const started = { name, daemon: spawnDaemon({ command: process.execPath, args, cwd, env, stopTimeoutMs: 10_000 }) };
  daemons.add(started);
  return started;
}

/** Waits until `port` accepts connections, or fails with what the process printed when it exits first. */
async function listening({ name, daemon }: NamedDaemon, port: number): Promise<void> {
  try {
    await waitForTcpPorts('127.0.0.1', [port], { timeoutMs: 30_000, abortIf: daemon.startupFailure });
  } catch (error) {
    throw new Error(`${name}: ${(error as Error).message}:\n${daemon.output.text()}`);
  }
}

/** Jiffies of CPU (user + system) `pid` has used so far; /proc reports them at 100 per second. */
function cpuTicks(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // The command name (field 2) may hold spaces: count fields from after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- the control server

/** `count` chat lines in #general from 20 senders, a second apart, ending now; every 10th a reply, every 7th reacted to. */
function seedHistory(dbPath: string, count: number): number {
  const rand = seededRandom(11);
  const words =
    'the server deploy build release voice channel call stream video screen share latency config update patch review meeting tonight game raid lunch coffee music link photo upload invite'.split(
      ' ',
    );
  const senders = Array.from({ length: 20 }, (_, i) => `member${i}`);
  const t0 = Date.now() - count * 1000;
  const batch: IngestMessage[] = [];
  for (let i = 0; i < count; i++) {
    const sender = senders[Math.floor(rand() * senders.length)]!;
    const length = 4 + Math.floor(rand() * 18);
    const text = Array.from({ length }, () => words[Math.floor(rand() * words.length)]!).join(' ');
    const msgid = `bench${i.toString(36)}`;
    const time = t0 + i * 1000;
    const tags: Record<string, string> = { msgid, time: new Date(time).toISOString(), account: sender };
    if (i % 10 === 9) tags['+draft/reply'] = `bench${(i - 3).toString(36)}`;
    batch.push({ msgid, channel: '#general', account: sender, nick: sender, kind: i % 25 === 0 ? 'ACTION' : 'PRIVMSG', time, text, tags });
    if (i % 7 === 0) {
      const reactor = senders[(i + 3) % senders.length]!;
      batch.push({
        msgid: `${msgid}r`,
        channel: '#general',
        account: reactor,
        nick: reactor,
        kind: 'TAGMSG',
        time: time + 500,
        tags: { msgid: `${msgid}r`, '+draft/react': i % 2 === 0 ? '👍' : '🎉', '+draft/reply': msgid },
      });
    }
  }
  const db = openControlDatabase(dbPath);
  try {
    return new HistoryStore(db).ingest(batch).inserted;
  } finally {
    db.close();
  }
}

async function postJson(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown;
}

// ---------------------------------------------------------------- load

interface RunSummary {
  requestsPerSecond: number;
  requests: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  /** CPU the server process used during the measured run, in cores (1 = one core busy all the time). */
  serverCores: number | undefined;
  /**
   * The server's CPU time per answered request, in microseconds: steadier than requests/s on a
   * shared machine, where other processes take the cores away (and a guide to the quiet figure).
   */
  serverCpuUsPerRequest: number | undefined;
  /** The same for this process: autocannon, the load generator. */
  loadGeneratorCores: number;
}

async function load(url: string, headers: Record<string, string>, connections: number, durationS: number, serverPid: number | undefined): Promise<RunSummary> {
  const ticksBefore = cpuTicks(serverPid);
  const usageBefore = process.cpuUsage();
  const result = await autocannon({ url, connections, pipelining: 1, duration: durationS, headers });
  const ticksAfter = cpuTicks(serverPid);
  const usage = process.cpuUsage(usageBefore);
  const serverSeconds = ticksBefore === undefined || ticksAfter === undefined ? undefined : (ticksAfter - ticksBefore) / 100;
  return {
    requestsPerSecond: round(result.requests.mean, 0),
    requests: result.requests.total,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: round(result.latency.mean, 2) },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    serverCores: serverSeconds === undefined ? undefined : round(serverSeconds / result.duration, 2),
    serverCpuUsPerRequest: serverSeconds === undefined || result.requests.total === 0 ? undefined : round((serverSeconds * 1e6) / result.requests.total, 1),
    loadGeneratorCores: round((usage.user + usage.system) / 1e6 / result.duration, 2),
  };
}

/** A warm-up run thrown away, then the measured one. */
async function measure(what: string, url: string, headers: Record<string, string>, config: BenchConfig, serverPid: number | undefined): Promise<RunSummary> {
  if (config.warmupS > 0) await load(url, headers, config.connections, config.warmupS, serverPid);
  const summary = await load(url, headers, config.connections, config.durationS, serverPid);
  log(
    `  ${what.padEnd(6)} ${String(summary.requestsPerSecond).padStart(6)} req/s, p50/p90/p99 ${summary.latencyMs.p50}/${summary.latencyMs.p90}/${summary.latencyMs.p99} ms, ` +
      `errors ${summary.errors}, non-2xx ${summary.non2xx}, server ${summary.serverCores ?? '?'} cores (${summary.serverCpuUsPerRequest ?? '?'} µs CPU/request), ` +
      `autocannon ${summary.loadGeneratorCores} cores`,
  );
  return summary;
}

// ---------------------------------------------------------------- main

let home: string | undefined;
let keepHome = false;

const bench = new BenchRun({
  log,
  cleanup: async () => {
    await Promise.all([...daemons].map(({ name, daemon }) => daemon.stop().catch((error: Error) => log(`stopping ${name}: ${error.message}`))));
    if (home !== undefined) {
      if (keepHome) log(`kept ${home}`);
      else await rm(home, { recursive: true, force: true }).catch(() => undefined);
    }
  },
  hardExitMs: 20_000,
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => bench.fail(1, `interrupted (${signal})`));

async function main(): Promise<void> {
  const config = configOrExit(USAGE, () => parseConfig(process.argv.slice(2)));
  keepHome = config.keep;
  home = await mkdtemp(join(tmpdir(), 'alloquy-bench-http-'));
  bench.partial.config = config;

  log(`seeding ${config.messages} messages into #general`);
  const seeded = seedHistory(join(home, 'control.sqlite'), config.messages);

  const [httpPort, grpcPort, signallingPort, barePort] = (await freePorts(4)) as [number, number, number, number];
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  if (config.cpuProfDir !== undefined) await mkdir(config.cpuProfDir, { recursive: true });
  const nodeFlags = config.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', config.cpuProfDir];
  log(`starting the control server on ${baseUrl}${config.cpuProfDir === undefined ? '' : ` under --cpu-prof (into ${config.cpuProfDir})`}`);
  const control = startNode(
    'control server',
    [...nodeFlags, CONTROL_MAIN],
    {
      ...process.env,
      ALLOQUY_HOME: home,
      ALLOQUY_HTTP_HOST: '127.0.0.1',
      ALLOQUY_HTTP_PORT: String(httpPort),
      ALLOQUY_CONTROL_GRPC_HOST: '127.0.0.1',
      ALLOQUY_CONTROL_GRPC_PORT: String(grpcPort),
      ALLOQUY_OPERATOR_SOCKET: join(home, 'run', 'control.sock'),
      ALLOQUY_IRC_LINK: 'false',
      ALLOQUY_MURMUR: 'false',
      ALLOQUY_REGISTRATION: 'open',
      // Longer than any run, so the token never expires mid-measurement.
      ALLOQUY_ACCESS_TOKEN_TTL: '86400',
    },
    home,
  );
  await listening(control, httpPort);
  const origins: Record<BenchRoute['service'], string> = { control: baseUrl, signalling: '' };
  const pids: Record<BenchRoute['service'], number | undefined> = { control: control.daemon.child.pid, signalling: undefined };
  if (config.routes.some((r) => r.service === 'signalling')) {
    origins.signalling = `http://127.0.0.1:${signallingPort}`;
    log(`starting signalling on ${origins.signalling}`);
    const signalling = startNode(
      'signalling',
      [SIGNALLING_MAIN],
      {
        ...process.env,
        ALLOQUY_HOME: home,
        ALLOQUY_SIGNALLING_HOST: '127.0.0.1',
        ALLOQUY_SIGNALLING_PORT: String(signallingPort),
        ALLOQUY_CONTROL_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
      },
      home,
    );
    await listening(signalling, signallingPort);
    pids.signalling = signalling.daemon.child.pid;
  }

  // The first account is the admin; the benchmark is an ordinary member, so permission checks run in full.
  const password = 'benchmark password 1';
  await postJson(`${baseUrl}/api/v1/accounts`, { username: 'owner', password });
  await postJson(`${baseUrl}/api/v1/accounts`, { username: 'bench', password });
  const session = (await postJson(`${baseUrl}/api/v1/sessions`, { username: 'bench', password })) as { access_token: string };
  const headers = { authorization: `Bearer ${session.access_token}` };

  const captured: (BareBody & { bytes: number })[] = [];
  for (const route of config.routes) {
    const res = await fetch(`${origins[route.service]}${route.path}`, { headers });
    const bytes = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`GET ${route.path}: HTTP ${res.status} ${bytes.toString('utf8').slice(0, 300)}`);
    captured.push({
      path: route.path,
      contentType: res.headers.get('content-type') ?? 'application/octet-stream',
      body: bytes.toString('base64'),
      bytes: bytes.length,
    });
  }
  const bodiesFile = join(home, 'bare-bodies.json');
  await writeFile(bodiesFile, JSON.stringify(captured));
  const bare = startNode('bare node:http server', [BARE_SERVER, bodiesFile, String(barePort)], process.env, home);
  await listening(bare, barePort);
  const bareUrl = `http://127.0.0.1:${barePort}`;

  log(
    `${config.connections} connections, ${config.warmupS} s warm-up + ${config.durationS} s measured per route and server, ` +
      `${cpus().length} CPUs, node ${process.version}; #general holds ${seeded} records`,
  );
  const routes = [];
  for (const [index, route] of config.routes.entries()) {
    const { bytes, contentType } = captured[index]!;
    log(`GET ${route.path} (${bytes} bytes, ${contentType})`);
    const stack = await measure('stack', `${origins[route.service]}${route.path}`, headers, config, pids[route.service]);
    const bareRun = await measure('bare', `${bareUrl}${route.path}`, headers, config, bare.daemon.child.pid);
    // A route without a target (turn) is measured and shown, never judged.
    const target = TARGETS.requestsPerSecond[route.name];
    const clean = stack.errors === 0 && stack.non2xx === 0 && bareRun.errors === 0 && bareRun.non2xx === 0;
    const pass =
      target === undefined ? null : { requestsPerSecond: clean && stack.requestsPerSecond >= target, p99: clean && stack.latencyMs.p99 < TARGETS.p99Ms };
    routes.push({
      name: route.name,
      service: route.service,
      method: 'GET',
      path: route.path,
      bodyBytes: bytes,
      contentType,
      stack,
      bare: bareRun,
      ratioToBare: round(stack.requestsPerSecond / bareRun.requestsPerSecond, 3),
      target: target === undefined ? null : { requestsPerSecond: `≥ ${target}`, p99Ms: `< ${TARGETS.p99Ms}` },
      pass: pass === null ? null : { ...pass, all: pass.requestsPerSecond && pass.p99 },
    });
    bench.partial.routes = routes;
  }

  bench.finish();
  await bench.cleanup();
  if (config.cpuProfDir !== undefined) log(`the control server's CPU profile is in ${config.cpuProfDir}`);
  const judged = routes.filter((r) => r.pass !== null);
  const output = {
    bench: 'http',
    node: process.version,
    cpus: cpus().length,
    config: { ...config, routes: config.routes.map((r) => r.name) },
    seededRecords: seeded,
    routes,
    pass: judged.every((r) => r.pass!.all),
  };
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);

  const lines = ['', `HTTP bench: ${config.connections} connections, ${config.durationS} s per run after ${config.warmupS} s warm-up, ${cpus().length} CPUs`];
  for (const r of routes) {
    const verdict = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? ': PASS' : ': FAIL');
    const target = TARGETS.requestsPerSecond[r.name];
    lines.push(
      `  GET ${r.path} (${r.service})`,
      `    stack ${r.stack.requestsPerSecond} req/s${target === undefined ? ' (no target)' : ` (target ≥ ${target})`}${verdict(r.pass?.requestsPerSecond)}; ` +
        `p99 ${r.stack.latencyMs.p99} ms${target === undefined ? '' : ` (target < ${TARGETS.p99Ms})`}${verdict(r.pass?.p99)}`,
      `    bare node:http ${r.bare.requestsPerSecond} req/s, p99 ${r.bare.latencyMs.p99} ms; stack/bare ${r.ratioToBare}; ` +
        `server CPU per request: stack ${r.stack.serverCpuUsPerRequest ?? '?'} µs, bare ${r.bare.serverCpuUsPerRequest ?? '?'} µs`,
    );
  }
  if (judged.length > 0) lines.push(`  ${output.pass ? 'all targets met' : 'targets NOT met'} (figures from a busy machine are a floor)`);
  lines.push('');
  process.stderr.write(lines.join('\n'));
}

bench.run(main);
