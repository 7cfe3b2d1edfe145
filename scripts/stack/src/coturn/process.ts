import { createHmac } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { spawnDaemon, type DaemonExit } from '../daemon-process.js';
import { writePrivateFile } from '../home.js';
import { waitForTcpPorts, type WaitOptions } from '../net-wait.js';
import { readCoturnTemplate, renderCoturnConfig, type CoturnConfigOptions } from './config.js';

export const DEFAULT_COTURN_BINARY = '/usr/bin/turnserver';

export interface CoturnCommand {
  command: string;
  args: string[];
}

/** How to run coturn in the foreground with only our config (it never reads /etc/turnserver.conf then). */
export function coturnCommand(configPath: string, binary = DEFAULT_COTURN_BINARY): CoturnCommand {
  return { command: binary, args: ['-c', configPath] };
}

export interface PrepareCoturnOptions extends Omit<CoturnConfigOptions, 'userdbPath' | 'pidPath'> {
  /** turnserver.conf; holds the secret, written 0600. */
  configPath: string;
  /** coturn's folder for its (unused but always opened) user database and pid file. */
  dataDir: string;
  /** The template text (default: infra/coturn/turnserver.conf.template). */
  template?: string;
}

/** Writes turnserver.conf (mode 0600) and creates coturn's data folder. */
export async function prepareCoturn(options: PrepareCoturnOptions): Promise<{ configPath: string }> {
  const { configPath, dataDir, template, ...config } = options;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const rendered = renderCoturnConfig(template ?? (await readCoturnTemplate()), {
    ...config,
    userdbPath: join(dataDir, 'turndb'),
    pidPath: join(dataDir, 'turnserver.pid'),
  });
  await writePrivateFile(configPath, rendered);
  return { configPath };
}

/** What coturn 4.6 prints when a listener cannot be opened (it keeps running without it). */
const BIND_FAILURE = /Trying to bind .* failed|Cannot bind|cannot bind/;

/**
 * Ready once the TCP listener accepts connections (UDP on the same port is
 * opened in the same step); fails early when coturn reports a bind failure.
 */
export async function waitForCoturnStartup(output: () => string, address: { host: string; port: number }, options: WaitOptions): Promise<void> {
  await waitForTcpPorts(address.host, [address.port], {
    ...options,
    abortIf: () => {
      const failure = BIND_FAILURE.exec(output());
      if (failure !== null) return new Error(`coturn could not open ${address.host}:${address.port}: ${failure[0]}`);
      return options.abortIf?.();
    },
  });
}

/**
 * TURN REST API credentials as the signalling service mints them: username
 * "<expiry unix seconds>:<user>", password base64(HMAC-SHA1(secret, username)).
 */
export function turnRestCredentials(secret: string, user: string, expiresAt: Date): { username: string; password: string } {
  const username = `${Math.floor(expiresAt.getTime() / 1000)}:${user}`;
  return { username, password: createHmac('sha1', secret).update(username).digest('base64') };
}

export interface StartCoturnOptions {
  /** Holds turnserver.conf, coturn's data folder and coturn.log. */
  workDir: string;
  port: number;
  relayMin: number;
  relayMax: number;
  secret: string;
  realm?: string;
  /** Default true: tests relay between loopback peers. */
  allowLoopbackPeers?: boolean;
  binary?: string;
}

export interface CoturnHandle {
  configPath: string;
  logPath: string;
  exited: Promise<DaemonExit>;
  stop(): Promise<void>;
}

/** Starts coturn on 127.0.0.1 outside the supervisor (for tests), resolving once it accepts connections. */
export async function startCoturn(options: StartCoturnOptions): Promise<CoturnHandle> {
  const configPath = join(options.workDir, 'turnserver.conf');
  const logPath = join(options.workDir, 'coturn.log');
  await prepareCoturn({
    configPath,
    dataDir: join(options.workDir, 'coturn'),
    listenIp: '127.0.0.1',
    externalIp: null,
    port: options.port,
    relayMin: options.relayMin,
    relayMax: options.relayMax,
    secret: options.secret,
    realm: options.realm ?? 'alloquy.test',
    allowLoopbackPeers: options.allowLoopbackPeers ?? true,
    allowPrivatePeers: false,
  });
  const log = createWriteStream(logPath, { flags: 'a' });
  const { command, args } = coturnCommand(configPath, options.binary);
  const daemon = spawnDaemon({ command, args, cwd: options.workDir, stopTimeoutMs: 5_000, onOutput: (chunk) => log.write(chunk) });
  const closeLog = (): Promise<void> => new Promise((resolve) => log.end(() => resolve()));
  void daemon.exited.then(closeLog);
  try {
    await waitForCoturnStartup(
      daemon.startupOutput,
      { host: '127.0.0.1', port: options.port },
      {
        timeoutMs: 20_000,
        abortIf: () => daemon.startupFailure(),
      },
    );
  } catch (error) {
    await daemon.stop();
    throw new Error(`${(error as Error).message}\n${daemon.output.text()}`);
  }
  return { configPath, logPath, exited: daemon.exited, stop: () => daemon.stop() };
}
