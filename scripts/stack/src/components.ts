import { createSocket } from 'node:dgram';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fetchHealth, httpBaseUrl } from './health.js';
import { INSPIRCD_STOP_SIGNALS, inspircdCommand, waitForInspircdStartup } from './inspircd/process.js';
import { coturnCommand, DEFAULT_COTURN_BINARY, waitForCoturnStartup } from './coturn/process.js';
import { MURMUR_CLEAN_EXIT_CODES, murmurCommand, waitForMurmurStartup } from './murmur/process.js';
import { canListen, waitForTcpPorts } from './net-wait.js';
import { PORT_ENV_VARS } from './ports.js';
import { attachmentsServiceEnv, controlServerEnv, signallingServiceEnv, localAddressFor, type StackSettings } from './settings.js';
import type { ComponentSpec } from './supervisor.js';

/** What a component factory may draw on; prepared by `up` before anything starts. */
export interface StackContext {
  settings: StackSettings;
  repoRoot: string;
  inspircd: { configPath: string; binary: string };
  /** murmur.ini, written by prepareMurmur. */
  murmur: { configPath: string; binary: string };
  /** coturn's binary; default /usr/bin/turnserver (its config is settings.turn.configPath, written by prepareCoturn). */
  coturnBinary?: string;
  /** The control server's main module (normally <repo>/services/control/dist/main.js). */
  controlEntry: string;
  /** The attachments service's main module; default <repo>/services/attachments/dist/main.js. */
  attachmentsEntry?: string;
  /** The signalling service's main module; default <repo>/services/signalling/dist/main.js. */
  signallingEntry?: string;
}

export interface StackComponentSpec extends ComponentSpec {
  /** Files that must exist before starting, each with how to get it. */
  requiredFiles: readonly { path: string; hint: string }[];
  /** Where it listens, checked before starting: a taken port is reported, not crash-looped. */
  listens: readonly ListenAddress[];
}

export interface ListenAddress {
  host: string;
  port: number;
  /** Default tcp. */
  protocol?: 'tcp' | 'udp';
  /** The environment variable that moves it. */
  variable: string;
}

/** One supervised process of the stack, or null when it is switched off. */
export type ComponentFactory = (context: StackContext) => StackComponentSpec | null;

export const inspircdComponent: ComponentFactory = ({ settings, inspircd }) => {
  const { command, args } = inspircdCommand(inspircd.configPath, inspircd.binary);
  const { ports, irc } = settings;
  return {
    name: 'inspircd',
    command,
    args,
    requiredFiles: [{ path: inspircd.binary, hint: 'install the inspircd Debian package (scripts/up does)' }],
    listens: [
      { host: '', port: ports.ircTls, variable: PORT_ENV_VARS.ircTls },
      { host: '127.0.0.1', port: ports.irc, variable: PORT_ENV_VARS.irc },
      { host: '', port: ports.ircWs, variable: PORT_ENV_VARS.ircWs },
      { host: irc.linkHost, port: ports.ircLink, variable: PORT_ENV_VARS.ircLink },
    ],
    cwd: settings.layout.inspircdDir,
    stopTimeoutMs: 10_000,
    cleanExitCodes: [0],
    cleanExitSignals: INSPIRCD_STOP_SIGNALS,
    async ready({ signal, output }) {
      const abortIf = (): Error | undefined => abortError(signal);
      await waitForInspircdStartup(output, [ports.irc, ports.ircTls, ports.ircWs], { timeoutMs: 20_000, abortIf });
      await waitForTcpPorts(localAddressFor(irc.linkHost), [ports.ircLink], { timeoutMs: 5_000, abortIf });
    },
    readyTimeoutMs: 30_000,
  };
};

export const murmurComponent: ComponentFactory = ({ settings, murmur }) => {
  const { command, args } = murmurCommand(murmur.configPath, murmur.binary);
  const { ports, mumbleHost } = settings;
  return {
    name: 'murmur',
    command,
    args,
    requiredFiles: [{ path: murmur.binary, hint: 'install the mumble-server Debian package (scripts/up does)' }],
    listens: [
      { host: mumbleHost, port: ports.mumble, variable: PORT_ENV_VARS.mumble },
      { host: mumbleHost, port: ports.mumble, protocol: 'udp', variable: PORT_ENV_VARS.mumble },
      { host: '127.0.0.1', port: ports.mumbleIce, variable: PORT_ENV_VARS.mumbleIce },
    ],
    cwd: settings.layout.murmurDir,
    // Murmur exits with 0 on SIGTERM once its servers and Ice are down.
    stopTimeoutMs: 10_000,
    cleanExitCodes: MURMUR_CLEAN_EXIT_CODES,
    async ready({ signal, output }) {
      await waitForMurmurStartup(output, { host: mumbleHost, ports }, { timeoutMs: 20_000, abortIf: () => abortError(signal) });
    },
    readyTimeoutMs: 30_000,
  };
};

/** coturn: TURN relay for WebRTC video, authenticated with the TURN REST API shared secret. */
export const coturnComponent: ComponentFactory = ({ settings, coturnBinary }) => {
  const binary = coturnBinary ?? DEFAULT_COTURN_BINARY;
  const { command, args } = coturnCommand(settings.turn.configPath, binary);
  const { host } = settings.turn;
  const port = settings.ports.turn;
  return {
    name: 'coturn',
    command,
    args,
    requiredFiles: [{ path: binary, hint: 'install the coturn Debian package (scripts/up does)' }],
    listens: [
      { host, port, variable: PORT_ENV_VARS.turn },
      { host, port, protocol: 'udp', variable: PORT_ENV_VARS.turn },
    ],
    cwd: settings.turn.dataDir,
    stopTimeoutMs: 10_000,
    // coturn 4.6 does not catch SIGTERM: dying of it is its normal stop.
    cleanExitCodes: [0],
    cleanExitSignals: ['SIGTERM'],
    async ready({ signal, output }) {
      await waitForCoturnStartup(output, { host: localAddressFor(host), port }, { timeoutMs: 20_000, abortIf: () => abortError(signal) });
    },
    readyTimeoutMs: 30_000,
  };
};

/** Ready once `/healthz` answers at all (healthy or not: components come up on their own schedule). */
function answersHealth(baseUrl: string): NonNullable<StackComponentSpec['ready']> {
  return async ({ signal }) => {
    while (!signal.aborted) {
      if ((await fetchHealth(baseUrl)) !== undefined) return;
      await sleep(100);
    }
    throw new Error('exited before answering /healthz');
  };
}

/**
 * One of our Node services (control, attachments, signalling): its built main module run by this
 * Node, from the repository root, ready once its `/healthz` on `httpPort` answers at all (the
 * IRC link, Murmur and gRPC peers come up on their own schedule).
 */
function nodeService(
  { settings, repoRoot }: StackContext,
  service: { name: string; entry: string; httpPort: number; listens: readonly ListenAddress[]; env: NodeJS.ProcessEnv },
): StackComponentSpec {
  return {
    name: service.name,
    command: process.execPath,
    args: [service.entry],
    listens: service.listens,
    requiredFiles: [{ path: service.entry, hint: 'build the workspace with `pnpm build` (scripts/up does)' }],
    env: service.env,
    cwd: repoRoot,
    stopTimeoutMs: 10_000,
    ready: answersHealth(httpBaseUrl(localAddressFor(settings.httpHost), service.httpPort)),
    readyTimeoutMs: 30_000,
  };
}

export const CONTROL_ENTRY = join('services', 'control', 'dist', 'main.js');

export const controlComponent: ComponentFactory = (context) => {
  const { settings } = context;
  return nodeService(context, {
    name: 'control',
    entry: context.controlEntry,
    httpPort: settings.ports.http,
    listens: [
      { host: settings.httpHost, port: settings.ports.http, variable: PORT_ENV_VARS.http },
      { host: '127.0.0.1', port: settings.ports.grpc, variable: PORT_ENV_VARS.grpc },
    ],
    env: { ...process.env, ...controlServerEnv(settings) },
  });
};

export const ATTACHMENTS_ENTRY = join('services', 'attachments', 'dist', 'main.js');

/** The attachments service: uploads, downloads, thumbnails, embeds; asks the control server over gRPC. */
export const attachmentsComponent: ComponentFactory = (context) => {
  const { settings } = context;
  return nodeService(context, {
    name: 'attachments',
    entry: context.attachmentsEntry ?? join(context.repoRoot, ATTACHMENTS_ENTRY),
    httpPort: settings.ports.attachments,
    listens: [{ host: settings.httpHost, port: settings.ports.attachments, variable: PORT_ENV_VARS.attachments }],
    // glibc's per-thread arenas let sharp's worker threads hold on to freed image memory: two
    // arenas keep peak RSS near 128 MiB instead of ~200 MiB at the same thumbnail throughput.
    env: { MALLOC_ARENA_MAX: '2', ...process.env, ...attachmentsServiceEnv(settings) },
  });
};

export const SIGNALLING_ENTRY = join('services', 'signalling', 'dist', 'main.js');

/** The signalling service: WebRTC rooms for voice channels and short-lived TURN credentials. */
export const signallingComponent: ComponentFactory = (context) => {
  const { settings } = context;
  return nodeService(context, {
    name: 'signalling',
    entry: context.signallingEntry ?? join(context.repoRoot, SIGNALLING_ENTRY),
    httpPort: settings.ports.signalling,
    listens: [{ host: settings.httpHost, port: settings.ports.signalling, variable: PORT_ENV_VARS.signalling }],
    env: { ...process.env, ...signallingServiceEnv(settings) },
  });
};

/** The stack, in start order (stopped in reverse). */
export const STACK_COMPONENTS: readonly ComponentFactory[] = [
  inspircdComponent,
  murmurComponent,
  coturnComponent,
  controlComponent,
  attachmentsComponent,
  signallingComponent,
];

export function stackComponents(context: StackContext, factories: readonly ComponentFactory[] = STACK_COMPONENTS): StackComponentSpec[] {
  return factories.map((factory) => factory(context)).filter((spec): spec is StackComponentSpec => spec !== null);
}

/** Fails early, saying how to fix it, when a component's program is not installed or built. */
export async function checkRequiredFiles(specs: readonly StackComponentSpec[]): Promise<void> {
  const missing: string[] = [];
  for (const spec of specs) {
    for (const { path, hint } of spec.requiredFiles) {
      try {
        await access(path);
      } catch {
        missing.push(`${spec.name}: ${path} is missing; ${hint}`);
      }
    }
  }
  if (missing.length > 0) throw new Error(`Cannot start the stack:\n  ${missing.join('\n  ')}`);
}

/** Fails, naming the variables that move them, when ports the stack needs are taken. */
export async function checkPortsFree(specs: readonly StackComponentSpec[]): Promise<void> {
  const busy: string[] = [];
  for (const spec of specs) {
    for (const { host, port, protocol = 'tcp', variable } of spec.listens) {
      const free = protocol === 'udp' ? await canBindUdp(host, port) : await canListen(host, port);
      if (!free) {
        busy.push(`${spec.name}: ${protocol === 'udp' ? 'UDP ' : ''}port ${port} on ${host || 'all interfaces'} (${variable})`);
      }
    }
  }
  if (busy.length > 0) {
    throw new Error(
      `Cannot start the stack, these ports are in use:\n  ${busy.join('\n  ')}\n` +
        "Is another Alloquy (or the distribution's own daemon) running? Stop it or move the ports with the variables named.",
    );
  }
}

/**
 * Whether a UDP socket could bind host:port now. A wildcard host is tried
 * dual-stack ('::'), falling back to 0.0.0.0 where there is no IPv6.
 */
export async function canBindUdp(host: string, port: number): Promise<boolean> {
  const wildcard = host === '' || host === '::' || host === '0.0.0.0' || host === '*';
  const attempt = (address: string): Promise<NodeJS.ErrnoException | undefined> =>
    new Promise((resolve) => {
      const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', reuseAddr: false });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        try {
          socket.close();
        } catch {
          // Never bound: nothing to close.
        }
        resolve(error);
      });
      socket.bind({ address, port, exclusive: true }, () => socket.close(() => resolve(undefined)));
    });
  if (!wildcard) return (await attempt(host)) === undefined;
  const error = await attempt('::');
  if (error?.code === 'EAFNOSUPPORT' || error?.code === 'EADDRNOTAVAIL') return (await attempt('0.0.0.0')) === undefined;
  return error === undefined;
}

function abortError(signal: AbortSignal): Error | undefined {
  return signal.aborted ? new Error('the process exited') : undefined;
}
