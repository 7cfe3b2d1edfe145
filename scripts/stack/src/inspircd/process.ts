import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { completePorts, spawnDaemon, type DaemonExit } from '../daemon-process.js';
import { writePrivateFile } from '../home.js';
import { waitForTcpPorts } from '../net-wait.js';
import { tailFile } from '../text-tail.js';
import { ensureCertificate } from '../tls.js';
import { prepareFastConnect, SHARED_TEST_MODULE_DIR } from './fast-connect.js';
import {
  readInspircdTemplates,
  renderInspircdConfig,
  renderInspircdMotd,
  type InspircdConfigOptions,
  type InspircdLimits,
  type InspircdPorts,
  type InspircdServicesLink,
  type InspircdTemplates,
} from './config.js';

export const DEFAULT_INSPIRCD_BINARY = '/usr/sbin/inspircd';

export interface InspircdCommand {
  command: string;
  args: string[];
}

/**
 * How to run InspIRCd in the foreground with `configPath`.
 *
 * It goes through `sh` only to set a hard core-size limit of 0 before exec
 * (same pid): InspIRCd raises its own core limit at startup, and the Debian
 * build segfaults on SIGTERM, so every stop would otherwise leave a core file
 * (with the link password in it) in the working directory.
 */
export function inspircdCommand(configPath: string, binary = DEFAULT_INSPIRCD_BINARY): InspircdCommand {
  const flags = ['--nofork', `--config=${configPath}`];
  // InspIRCd refuses to start as root unless told it is on purpose.
  if (process.getuid?.() === 0) flags.push('--runasroot');
  return {
    command: '/bin/sh',
    args: ['-c', 'ulimit -H -c 0 2>/dev/null || ulimit -c 0; exec "$0" "$@"', binary, ...flags],
  };
}

/** Exits InspIRCd produces when it is stopped with SIGTERM (its Debian build may crash while shutting down). */
export const INSPIRCD_STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGSEGV', 'SIGABRT', 'SIGBUS'];

export interface InspircdStartupReport {
  /** InspIRCd printed that it is running. */
  complete: boolean;
  /** Listeners it could not open, e.g. "127.0.0.1:6667 (Address already in use)". */
  listenFailures: string[];
}

/**
 * What InspIRCd printed on stdout while starting. InspIRCd 3 does not exit
 * when a port is taken: it warns and runs without that listener, and a TCP
 * probe would then succeed against whoever holds the port. Its log file is no
 * help either: it is flushed only every 20 lines.
 */
export function parseInspircdStartup(output: string): InspircdStartupReport {
  const listenFailures: string[] = [];
  // InspIRCd 3.15 gets its plural backwards ("listener" for several), so accept both.
  const warning = /Some of your listeners? failed to bind:/.exec(output);
  if (warning !== null) {
    for (const line of output.slice(warning.index).split('\n').slice(1)) {
      const failure = /^\s+(\S+): (.+?)\.?\s*$/.exec(line);
      if (failure !== null) listenFailures.push(`${failure[1]} (${failure[2]})`);
      else if (line.trim() !== '' && !/^\s/.test(line)) break;
    }
  }
  return { complete: /InspIRCd is now running as /.test(output), listenFailures };
}

/**
 * Resolves once InspIRCd reports that it is running with every listener open
 * and `ports` accept TCP; rejects at once on a listener it could not open.
 * `output` returns everything the process printed so far.
 */
export async function waitForInspircdStartup(
  output: () => string,
  ports: readonly number[],
  options: { timeoutMs: number; abortIf?: () => Error | undefined },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const report = parseInspircdStartup(output());
    if (report.listenFailures.length > 0) {
      throw new Error(`InspIRCd could not listen on ${report.listenFailures.join(', ')}`);
    }
    if (report.complete) break;
    const aborted = options.abortIf?.();
    if (aborted !== undefined) throw aborted;
    if (Date.now() >= deadline) throw new Error(`InspIRCd did not report that it is running within ${options.timeoutMs} ms`);
    await sleep(25);
  }
  await waitForTcpPorts('127.0.0.1', ports, {
    timeoutMs: Math.max(deadline - Date.now(), 1000),
    ...(options.abortIf === undefined ? {} : { abortIf: options.abortIf }),
  });
}

export interface InspircdFiles {
  configPath: string;
  motdPath: string;
}

/**
 * Writes inspircd.conf (mode 0600: it holds the link password and cloak key)
 * and the MOTD into `dir`.
 */
export async function writeInspircdFiles(dir: string, options: Omit<InspircdConfigOptions, 'motdPath'>, templates?: InspircdTemplates): Promise<InspircdFiles> {
  const { config, motd } = templates ?? (await readInspircdTemplates());
  const configPath = join(dir, 'inspircd.conf');
  const motdPath = join(dir, 'inspircd.motd');
  const rendered = renderInspircdConfig(config, { ...options, motdPath });
  await mkdir(dir, { recursive: true });
  await writeFile(motdPath, renderInspircdMotd(motd, options.server), { mode: 0o644 });
  await writePrivateFile(configPath, rendered);
  return { configPath, motdPath };
}

export interface StartInspircdOptions {
  /** Holds config, MOTD, log, pid file and (unless `tls` is given) a self-signed certificate. */
  workDir: string;
  /** Ports left out are picked free on 127.0.0.1. */
  ports?: Partial<InspircdPorts>;
  server?: Partial<InspircdConfigOptions['server']>;
  /** The services link to accept; omitted or null for a bare InspIRCd without one. */
  services?: InspircdServicesLink | null;
  tls?: { certPath: string; keyPath: string };
  /** Default: random per start. */
  cloakKey?: string;
  limits?: InspircdLimits;
  /**
   * Load m_alloquy_fastconnect, as scripts/up does (default true; built once into
   * SHARED_TEST_MODULE_DIR). Ignored when `moduleDir` is given.
   */
  fastConnect?: boolean;
  /** See InspircdConfigOptions. */
  moduleDir?: string;
  extraModules?: readonly string[];
  webSocketProxies?: readonly string[];
  binary?: string;
  /** How long to wait for every listener. Default 15 s. */
  startTimeoutMs?: number;
  /** How long after SIGTERM before SIGKILL. Default 5 s. */
  stopTimeoutMs?: number;
}

export type InspircdExit = DaemonExit;

export interface InspircdHandle {
  ports: InspircdPorts;
  pid: number;
  workDir: string;
  configPath: string;
  /** InspIRCd's own log file. */
  logPath: string;
  linked: boolean;
  serverName: string;
  /** Settles when the process exits, for whatever reason. */
  exited: Promise<InspircdExit>;
  /** SIGTERM, then SIGKILL after the stop timeout. Resolves once the process is gone. */
  stop(): Promise<void>;
}

/**
 * Starts a real InspIRCd for tests and benchmarks and resolves once its
 * client listeners (and the link listener, when linked) accept TCP.
 */
export async function startInspircd(options: StartInspircdOptions): Promise<InspircdHandle> {
  const workDir = options.workDir;
  await mkdir(workDir, { recursive: true });
  const ports = await completePorts(['irc', 'ircTls', 'ircWs', 'ircLink'], options.ports ?? {});
  const server = {
    name: options.server?.name ?? 'irc.alloquy.local',
    sid: options.server?.sid ?? '1AL',
    network: options.server?.network ?? 'Alloquy',
    ...(options.server?.description === undefined ? {} : { description: options.server.description }),
  };
  const tls = options.tls ?? (await ensureCertificate(join(workDir, 'tls'), [server.name]));
  const services = options.services ?? null;
  const logPath = join(workDir, 'ircd.log');
  const fastConnect = options.moduleDir === undefined && options.fastConnect !== false ? await prepareFastConnect(SHARED_TEST_MODULE_DIR) : undefined;
  const { configPath } = await writeInspircdFiles(workDir, {
    server,
    ports,
    dataDir: workDir,
    tls: { certPath: tls.certPath, keyPath: tls.keyPath },
    logPath,
    pidPath: join(workDir, 'inspircd.pid'),
    cloakKey: options.cloakKey ?? randomBytes(32).toString('hex'),
    services,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.moduleDir === undefined ? {} : { moduleDir: options.moduleDir }),
    ...(fastConnect === undefined ? {} : { moduleDir: fastConnect.moduleDir }),
    extraModules: [...(fastConnect?.extraModules ?? []), ...(options.extraModules ?? [])],
    ...(options.webSocketProxies === undefined ? {} : { webSocketProxies: options.webSocketProxies }),
  });

  const { command, args } = inspircdCommand(configPath, options.binary);
  const daemon = spawnDaemon({ command, args, cwd: workDir, stopTimeoutMs: options.stopTimeoutMs ?? 5000 });

  const describeFailure = async (reason: string): Promise<Error> => {
    const log = await tailFile(logPath, 30);
    return new Error(
      `InspIRCd (${options.binary ?? DEFAULT_INSPIRCD_BINARY}, config ${configPath}) ${reason}\n` +
        `--- its output ---\n${daemon.output.text() || '(none)'}\n--- tail of ${logPath} ---\n${log || '(empty)'}`,
    );
  };

  const waitPorts = [ports.irc, ports.ircTls, ports.ircWs, ...(services === null ? [] : [ports.ircLink])];
  try {
    await waitForInspircdStartup(daemon.startupOutput, waitPorts, {
      timeoutMs: options.startTimeoutMs ?? 15_000,
      abortIf: daemon.startupFailure,
    });
  } catch (error) {
    await daemon.stop();
    throw await describeFailure(`did not become ready: ${(error as Error).message}`);
  }

  return {
    ports,
    pid: daemon.child.pid!,
    workDir,
    configPath,
    logPath,
    linked: services !== null,
    serverName: server.name,
    exited: daemon.exited,
    stop: daemon.stop,
  };
}
