/**
 * What startInspircd and startMurmur share: a daemon run in the foreground
 * with its output piped here, watched through its startup, and stopped with
 * SIGTERM, then SIGKILL. Neither exits when a port is taken (they log it), so
 * the startup checks parse what the daemon printed: that is kept whole from
 * the start, and its last lines for error messages.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { freePorts } from './ports.js';
import { LineRing } from './text-tail.js';

export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnDaemonOptions {
  command: string;
  args: readonly string[];
  cwd: string;
  /** Its environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** How long after SIGTERM before SIGKILL. */
  stopTimeoutMs: number;
  /** Also given every chunk the daemon prints (e.g. to keep a log file). */
  onOutput?: (chunk: string) => void;
}

export interface DaemonProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** The last lines the daemon printed (stdout and stderr), for error messages. */
  output: LineRing;
  /** Everything it printed from the start, up to 64 KiB: startup messages are short. */
  startupOutput(): string;
  /** Settles when the process exits, for whatever reason. */
  exited: Promise<DaemonExit>;
  /** For a startup wait's abortIf: why waiting on is pointless (it could not be started, or it exited). */
  startupFailure(): Error | undefined;
  /** SIGTERM, then SIGKILL after the stop timeout. Resolves once the process is gone. */
  stop(): Promise<void>;
}

export function spawnDaemon(options: SpawnDaemonOptions): DaemonProcess {
  const child = spawn(options.command, options.args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = new LineRing(60);
  let startupOutput = '';
  const capture = (chunk: string): void => {
    options.onOutput?.(chunk);
    output.push(chunk);
    if (startupOutput.length < 64 * 1024) startupOutput += chunk;
  };
  child.stdout.setEncoding('utf8').on('data', capture);
  child.stderr.setEncoding('utf8').on('data', capture);

  let exit: DaemonExit | undefined;
  const exited = new Promise<DaemonExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError ??= error;
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exit !== undefined || child.pid === undefined) return;
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), options.stopTimeoutMs);
      try {
        await exited;
      } finally {
        clearTimeout(killTimer);
      }
    })();
    return stopping;
  };

  return {
    child,
    output,
    startupOutput: () => startupOutput,
    exited,
    startupFailure: () => {
      if (spawnError !== undefined) return new Error(`it could not be started: ${spawnError.message}`);
      if (exit !== undefined) return new Error(`it exited during startup (${describeExit(exit)})`);
      return undefined;
    },
    stop,
  };
}

export function describeExit(exit: DaemonExit): string {
  return exit.signal === null ? `exit code ${exit.code}` : `signal ${exit.signal}`;
}

/** `given`, with the ports among `names` it leaves out picked free on 127.0.0.1. */
export async function completePorts<Name extends string>(names: readonly Name[], given: Partial<Record<Name, number>>): Promise<Record<Name, number>> {
  const missing = names.filter((name) => given[name] === undefined);
  const picked = await freePorts(missing.length);
  const ports = { ...given } as Record<Name, number>;
  missing.forEach((name, index) => {
    ports[name] = picked[index]!;
  });
  return ports;
}
