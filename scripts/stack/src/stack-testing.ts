import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fetchHealth, httpBaseUrl, ircLinkUp, type HealthReport } from './health.js';
import { repoRoot } from './home.js';
import { freeStackPorts, freeUdpPortRange, loadPorts, PORT_ENV_VARS, PORT_NAMES, portsToEnv, type StackPorts } from './ports.js';
import { loadStackSettings, localAddressFor } from './settings.js';
import { isRunning, isSupervisedProcess } from './supervisor.js';
import { LineRing, tailFile } from './text-tail.js';

export interface StartStackOptions {
  /** The stack's ALLOQUY_HOME; a fresh temporary folder per test is best. */
  home: string;
  /** Extra environment for `up` (and through it the components); port variables given here are kept. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for /healthz to report the IRC link up. Default 30 s. */
  timeoutMs?: number;
}

export interface RunningStack {
  /** The pid of the `up` process (the supervisor). */
  upPid: number;
  ports: StackPorts;
  home: string;
  /** The environment `up` was started with (without the inherited variables). */
  env: Readonly<Record<string, string>>;
  /** coturn on 127.0.0.1:ports.turn, relaying between loopback peers; its TURN REST API shared secret. */
  turn: { host: string; port: number; url: string; secret: string; realm: string };
  /** The control server's base URL, e.g. http://127.0.0.1:41234 */
  httpUrl: string;
  /** The pid of a running component (from $ALLOQUY_HOME/run/<name>.pid), if it is running. */
  pidOf(name: string): number | undefined;
  /** The component's log file. */
  logPath(name: string): string;
  health(): Promise<HealthReport | undefined>;
  /** Stops the stack like Ctrl-C would, then makes sure nothing of it is left running. */
  stop(): Promise<void>;
}

const UP_ENTRY = join('scripts', 'stack', 'dist', 'up.js');
/** What up prints once every component has started and passed its ready check. */
const RUNNING_BANNER = 'Alloquy is running:';

/**
 * Starts the whole stack through `scripts/stack/dist/up.js` (build first) on
 * free ports, and resolves once the control server's /healthz says the IRC
 * link is up.
 */
export async function startStack(options: StartStackOptions): Promise<RunningStack> {
  const { home } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  await mkdir(join(home, 'logs'), { recursive: true });

  const given = options.env ?? {};
  const freePorts = await freeStackPorts();
  const portEnv = portsToEnv(freePorts);
  for (const name of PORT_NAMES) {
    const value = given[PORT_ENV_VARS[name]];
    if (value !== undefined) portEnv[PORT_ENV_VARS[name]] = value;
  }
  // Listeners that default to every interface stay on loopback in tests.
  const env: Record<string, string> = {
    ALLOQUY_HOME: home,
    ALLOQUY_HTTP_HOST: '127.0.0.1',
    ALLOQUY_MUMBLE_HOST: '127.0.0.1',
    // Test peers (browsers, turnutils) are all on loopback, which production coturn refuses to relay to.
    ALLOQUY_TURN_ALLOW_LOOPBACK_PEERS: 'true',
    ...portEnv,
  };
  if (given.ALLOQUY_TURN_RELAY_MIN === undefined && given.ALLOQUY_TURN_RELAY_MAX === undefined) {
    const relay = await freeUdpPortRange(40);
    env.ALLOQUY_TURN_RELAY_MIN = String(relay.min);
    env.ALLOQUY_TURN_RELAY_MAX = String(relay.max);
  }
  for (const [key, value] of Object.entries(given)) if (value !== undefined) env[key] = value;
  const ports = loadPorts(env);

  // The caller's own ALLOQUY_* settings would make the test depend on the machine it runs on.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('ALLOQUY_')));
  const upLog = createWriteStream(join(home, 'logs', 'up.log'), { flags: 'a' });
  const output = new LineRing(40);
  const up = spawn(process.execPath, [join(repoRoot(), UP_ENTRY)], {
    cwd: repoRoot(),
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let upOutput = '';
  const capture = (chunk: Buffer): void => {
    upLog.write(chunk);
    output.push(chunk.toString('utf8'));
    if (!upOutput.includes(RUNNING_BANNER)) upOutput += chunk.toString('utf8');
  };
  up.stdout.on('data', capture);
  up.stderr.on('data', capture);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) => {
    up.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
  });
  up.once('error', () => {
    // Reported through the exit check below; spawning node itself failing leaves exit unset, so note it.
    exit ??= { code: null, signal: null };
  });

  const httpUrl = httpBaseUrl(localAddressFor(env.ALLOQUY_HTTP_HOST ?? '127.0.0.1'), ports.http);
  const runDir = join(home, 'run');
  const pidOf = (name: string): number | undefined => {
    try {
      const pid = Number.parseInt(readFileSync(join(runDir, `${name}.pid`), 'utf8'), 10);
      return Number.isInteger(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exit === undefined) {
        up.kill('SIGTERM');
        const stoppedInTime = await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)]);
        if (!stoppedInTime) {
          up.kill('SIGKILL');
          await exited;
        }
      }
      // After a clean stop there are no pid files left; after a forced one, these are the orphans.
      await killLeftovers(runDir);
      await new Promise<void>((resolve) => upLog.end(() => resolve()));
    })();
    return stopping;
  };

  const deadline = Date.now() + timeoutMs;
  let last: HealthReport | undefined;
  for (;;) {
    if (exit !== undefined) {
      await stop();
      throw new Error(`scripts/stack/dist/up.js exited before the stack was up (${describe(exit)})\n` + (await diagnostics(home, output)));
    }
    // Until up has started every component, whatever answers on the port may
    // be a leftover of an earlier run that up is about to stop.
    if (upOutput.includes(RUNNING_BANNER)) {
      last = await fetchHealth(httpUrl, 1000);
      if (ircLinkUp(last)) break;
    }
    if (Date.now() >= deadline) {
      await stop();
      throw new Error(
        `the stack did not report its IRC link up within ${timeoutMs} ms ` +
          `(last /healthz: ${last === undefined ? 'no answer' : JSON.stringify(last)})\n` +
          (await diagnostics(home, output)),
      );
    }
    await sleep(100);
  }

  const settings = loadStackSettings(env, repoRoot());
  const turnSecret = (await readFile(settings.turn.secretPath, 'utf8')).trim();
  return {
    upPid: up.pid!,
    ports,
    turn: {
      host: settings.turn.host,
      port: ports.turn,
      url: `turn:${settings.turn.host}:${ports.turn}`,
      secret: turnSecret,
      realm: settings.turn.realm,
    },
    home,
    env,
    httpUrl,
    pidOf,
    logPath: (name) => join(home, 'logs', `${name}.log`),
    health: () => fetchHealth(httpUrl),
    stop,
  };
}

async function diagnostics(home: string, upOutput: LineRing): Promise<string> {
  const sections = [`--- output of up.js ---\n${upOutput.text() || '(none)'}`];
  const logsDir = join(home, 'logs');
  let logs: string[] = [];
  try {
    logs = (await readdir(logsDir)).filter((file) => file.endsWith('.log') && file !== 'up.log').sort();
  } catch {
    // No logs folder: up.js died before creating it, its own output says why.
  }
  for (const file of logs) {
    sections.push(`--- tail of ${join(logsDir, file)} ---\n${(await tailFile(join(logsDir, file), 25)) || '(empty)'}`);
  }
  return sections.join('\n');
}

async function killLeftovers(runDir: string): Promise<void> {
  let files: string[];
  try {
    files = (await readdir(runDir)).filter((file) => file.endsWith('.pid'));
  } catch {
    return;
  }
  const pids: number[] = [];
  for (const file of files) {
    const pid = Number.parseInt(await readFile(join(runDir, file), 'utf8').catch(() => ''), 10);
    if (!Number.isInteger(pid) || !(await isSupervisedProcess(pid, runDir, file.slice(0, -'.pid'.length)))) continue;
    pids.push(pid);
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Gone already, or not a group leader.
      }
    }
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const running = await Promise.all(pids.map(isRunning));
    if (!running.includes(true)) return;
    await sleep(20);
  }
}

function describe(exit: { code: number | null; signal: NodeJS.Signals | null }): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}
