import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineRing } from './text-tail.js';

export interface ComponentSpec {
  /** Names the log file, pid file and console prefix: lower-case letters, digits, dashes. */
  name: string;
  command: string;
  /** Written to the log's start marker: never put secrets here, pass them by file or env. */
  args?: readonly string[];
  /** The child's complete environment (default: the supervisor's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** How long after the stop signal before SIGKILL. Default 10 s. */
  stopTimeoutMs?: number;
  /** Exit codes that count as a clean stop. Default [0]. */
  cleanExitCodes?: readonly number[];
  /** Signals that count as a clean stop. Default: the stop signal. */
  cleanExitSignals?: readonly NodeJS.Signals[];
  /**
   * `always` (default) restarts a component whenever it exits on its own;
   * `on-failure` lets it finish when it exits cleanly.
   */
  restart?: 'always' | 'on-failure';
  /**
   * Resolves once a freshly spawned process is serving (e.g. its port is
   * open). `signal` aborts when that process exits. Supervisor.start() waits
   * for it before starting the next component, so dependents start after
   * their dependencies. `output` returns what this process has printed so far
   * (its first 64 KiB), for programs that announce readiness on stdout.
   */
  ready?: (context: { pid: number; signal: AbortSignal; output: () => string }) => Promise<void>;
  /** How long start() waits for `ready`. Default 30 s. */
  readyTimeoutMs?: number;
}

export interface BackoffOptions {
  /** Delay before the first restart. Default 250 ms. */
  initialMs?: number;
  /** The delay doubles per crash up to this. Default 15 s. */
  maxMs?: number;
  /** A process that ran this long before crashing restarts after `initialMs` again. Default 30 s. */
  stableAfterMs?: number;
}

export interface SupervisorOptions {
  /** Gets `<name>.log` per component. */
  logsDir: string;
  /** Gets `<name>.pid` per running component. */
  runDir: string;
  /** Where one-line status messages go; null for none. Default process.stdout. */
  console?: NodeJS.WritableStream | null;
  backoff?: BackoffOptions;
}

export interface StartedEvent {
  name: string;
  pid: number;
  /** How many times this component was restarted before this start. */
  restarts: number;
}

export interface ReadyEvent {
  name: string;
  pid: number;
}

export interface NotReadyEvent {
  name: string;
  pid: number;
  error: Error;
}

export interface ExitedEvent {
  name: string;
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The exit matches the component's clean exit codes or signals. */
  clean: boolean;
  /** The supervisor asked for it (stop()); unexpected exits are restarted. */
  expected: boolean;
  uptimeMs: number;
}

export interface RestartingEvent {
  name: string;
  delayMs: number;
  /** 1 for the first restart after a stable run, growing with each quick crash. */
  attempt: number;
}

export interface SupervisorEvents {
  started: [StartedEvent];
  ready: [ReadyEvent];
  /** The component's ready check failed (it keeps running; start() gives up). */
  'not-ready': [NotReadyEvent];
  exited: [ExitedEvent];
  restarting: [RestartingEvent];
  stopped: [];
}

const STARTUP_OUTPUT_LIMIT = 64 * 1024;

/** In the child's environment, so leftovers of a killed supervisor can be recognised. */
const SUPERVISED_ENV = 'ALLOQUY_SUPERVISED';

interface ComponentState {
  spec: ComponentSpec;
  child: ChildProcess | undefined;
  pid: number | undefined;
  startedAt: number;
  restarts: number;
  /** Quick crashes in a row, which drives the backoff. */
  attempt: number;
  restartTimer: NodeJS.Timeout | undefined;
  log: WriteStream | undefined;
  output: LineRing;
  /** The current process's output from its start, capped, for ready checks. */
  startupOutput: string;
  lastQuotedOutput: string;
  exited: Promise<void> | undefined;
  readyAbort: AbortController | undefined;
  pidFileWritten: Promise<void>;
}

/**
 * Runs long-lived processes, keeps them running and stops them in order.
 *
 * Children run in their own process group, so a Ctrl-C in the terminal
 * reaches only the supervisor, which then stops them in reverse start order
 * instead of everything dying at once and crashes being mistaken for
 * failures.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly components: ComponentState[];
  private readonly console: NodeJS.WritableStream | null;
  private readonly backoff: Required<BackoffOptions>;
  private stopping: Promise<void> | undefined;
  /** Aborted when stop() begins, so start() stops waiting for readiness. */
  private readonly stopRequested = new AbortController();
  private started = false;

  constructor(
    specs: readonly ComponentSpec[],
    private readonly options: SupervisorOptions,
  ) {
    super();
    const names = new Set<string>();
    for (const spec of specs) {
      if (!/^[a-z0-9][a-z0-9-]*$/.test(spec.name)) throw new Error(`invalid component name ${JSON.stringify(spec.name)}`);
      if (names.has(spec.name)) throw new Error(`component ${spec.name} is listed twice`);
      names.add(spec.name);
    }
    this.components = specs.map((spec) => ({
      spec,
      child: undefined,
      pid: undefined,
      startedAt: 0,
      restarts: 0,
      attempt: 0,
      restartTimer: undefined,
      log: undefined,
      output: new LineRing(20),
      startupOutput: '',
      lastQuotedOutput: '',
      exited: undefined,
      readyAbort: undefined,
      pidFileWritten: Promise.resolve(),
    }));
    this.console = options.console === undefined ? process.stdout : options.console;
    this.backoff = {
      initialMs: options.backoff?.initialMs ?? 250,
      maxMs: options.backoff?.maxMs ?? 15_000,
      stableAfterMs: options.backoff?.stableAfterMs ?? 30_000,
    };
  }

  /**
   * Starts every component in order, waiting for each one's `ready` check.
   * Rejects (leaving already started components running: call stop()) when a
   * component does not become ready in time.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('the supervisor was already started');
    this.started = true;
    await mkdir(this.options.logsDir, { recursive: true });
    await mkdir(this.options.runDir, { recursive: true });
    await this.reapLeftovers();
    for (const component of this.components) {
      if (this.stopping !== undefined) return;
      const ready = component.spec.ready === undefined ? undefined : this.nextReady(component);
      this.spawn(component);
      if (ready !== undefined) await ready;
    }
  }

  /**
   * Stops processes a previous supervisor of this run folder left behind
   * (start() does this too; call it first to check ports before starting).
   */
  async reapLeftovers(): Promise<void> {
    await mkdir(this.options.runDir, { recursive: true });
    for (const component of this.components) await this.reapLeftover(component);
  }

  /** The current pid of a running component. */
  pidOf(name: string): number | undefined {
    return this.components.find((component) => component.spec.name === name)?.pid;
  }

  pidFile(name: string): string {
    return join(this.options.runDir, `${name}.pid`);
  }

  logFile(name: string): string {
    return join(this.options.logsDir, `${name}.log`);
  }

  /** Stops every component, last started first; SIGKILLs those that outlive their stop timeout. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopRequested.abort();
      for (const component of this.components) {
        clearTimeout(component.restartTimer);
        component.restartTimer = undefined;
      }
      for (const component of [...this.components].reverse()) {
        await this.stopComponent(component);
      }
      await Promise.all(this.components.map((component) => closeStream(component.log)));
      this.emit('stopped');
    })();
    return this.stopping;
  }

  private nextReady(component: ComponentState): Promise<void> {
    const { name } = component.spec;
    const timeoutMs = component.spec.readyTimeoutMs ?? 30_000;
    return new Promise<void>((resolve, reject) => {
      const onReady = (event: ReadyEvent): void => {
        if (event.name !== name) return;
        cleanup();
        resolve();
      };
      const onStop = (): void => {
        cleanup();
        resolve();
      };
      const onNotReady = (event: NotReadyEvent): void => {
        if (event.name !== name) return;
        cleanup();
        reject(new Error(`${name} failed its readiness check: ${event.error.message} (log: ${this.logFile(name)})`));
      };
      const timer = setTimeout(() => {
        cleanup();
        const output = component.output.text();
        reject(
          new Error(
            `${name} did not become ready within ${timeoutMs} ms (log: ${this.logFile(name)})` +
              (output === '' ? '' : `\n--- last output of ${name} ---\n${output}`),
          ),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('ready', onReady);
        this.off('not-ready', onNotReady);
        this.stopRequested.signal.removeEventListener('abort', onStop);
      };
      this.on('ready', onReady);
      this.on('not-ready', onNotReady);
      this.stopRequested.signal.addEventListener('abort', onStop);
    });
  }

  private spawn(component: ComponentState): void {
    const { spec } = component;
    component.restartTimer = undefined;
    if (component.log === undefined) {
      component.log = createWriteStream(this.logFile(spec.name), { flags: 'a', mode: 0o640 });
      // A full disk must not take the supervisor down with every component.
      component.log.once('error', (error) => this.say(spec.name, `cannot write its log: ${error.message}`));
      component.log.on('error', () => undefined);
    }
    const commandLine = [spec.command, ...(spec.args ?? [])].join(' ');
    component.log.write(`\n===== ${new Date().toISOString()} starting ${spec.name}: ${commandLine}\n`);

    const child = spawn(spec.command, spec.args ?? [], {
      cwd: spec.cwd,
      env: { ...(spec.env ?? process.env), [SUPERVISED_ENV]: supervisedTag(this.options.runDir, spec.name) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    component.child = child;
    component.pid = child.pid;
    component.startedAt = Date.now();
    component.startupOutput = '';
    const forward = (chunk: Buffer): void => {
      component.log?.write(chunk);
      const text = chunk.toString('utf8');
      component.output.push(text);
      if (component.child === child && component.startupOutput.length < STARTUP_OUTPUT_LIMIT) component.startupOutput += text;
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);

    component.exited = new Promise<void>((resolve) => {
      let settled = false;
      const settle = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
        if (settled) return;
        settled = true;
        void this.onExit(component, child, code, signal, error).finally(resolve);
      };
      child.once('exit', (code, signal) => settle(code, signal));
      // Spawning itself failed (e.g. the command does not exist): there will be no exit event.
      // Later errors (a failed kill) change nothing, but must not go unhandled.
      child.on('error', (error) => {
        if (child.pid === undefined) settle(null, null, error);
      });
    });

    if (child.pid === undefined) return;
    const pid = child.pid;
    component.pidFileWritten = writeFile(this.pidFile(spec.name), `${pid}\n`).catch((error: unknown) =>
      this.say(spec.name, `could not write its pid file: ${(error as Error).message}`),
    );
    this.say(spec.name, `started (pid ${pid})`);
    this.emit('started', { name: spec.name, pid, restarts: component.restarts });

    if (spec.ready !== undefined) {
      const abort = new AbortController();
      component.readyAbort = abort;
      spec.ready({ pid, signal: abort.signal, output: () => component.startupOutput }).then(
        () => {
          if (abort.signal.aborted) return;
          this.say(spec.name, 'ready');
          this.emit('ready', { name: spec.name, pid });
        },
        (error: unknown) => {
          if (abort.signal.aborted) return;
          this.say(spec.name, `readiness check failed: ${(error as Error).message}`);
          this.emit('not-ready', { name: spec.name, pid, error: error as Error });
        },
      );
    }
  }

  private async onExit(component: ComponentState, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, error?: Error): Promise<void> {
    const { spec } = component;
    component.readyAbort?.abort();
    component.readyAbort = undefined;
    const uptimeMs = Date.now() - component.startedAt;
    const stopSignal = spec.stopSignal ?? 'SIGTERM';
    const clean =
      error === undefined && (signal === null ? (spec.cleanExitCodes ?? [0]).includes(code ?? -1) : (spec.cleanExitSignals ?? [stopSignal]).includes(signal));
    if (component.child === child) {
      component.child = undefined;
      component.pid = undefined;
    }
    const how = error !== undefined ? `could not be started (${error.message})` : describeExit(code, signal);
    component.log?.write(`===== ${new Date().toISOString()} ${spec.name} ${how} after ${formatMs(uptimeMs)}\n`);
    // A process that dies at once could otherwise have its pid file written after this removal.
    await component.pidFileWritten;
    await rm(this.pidFile(spec.name), { force: true });
    const expected = this.stopping !== undefined;
    this.emit('exited', { name: spec.name, pid: child.pid, code, signal, clean, expected, uptimeMs });

    if (expected) {
      this.say(spec.name, clean ? 'stopped' : `stopped (${how})`);
      return;
    }
    if (clean && spec.restart === 'on-failure') {
      this.say(spec.name, `finished (${how})`);
      return;
    }

    if (uptimeMs >= this.backoff.stableAfterMs) component.attempt = 0;
    const delayMs = Math.min(this.backoff.initialMs * 2 ** component.attempt, this.backoff.maxMs);
    component.attempt += 1;
    // A crash loop repeats the same last words: quote them only when they change.
    const recent = component.output.text();
    const quote = recent !== '' && recent !== component.lastQuotedOutput;
    component.lastQuotedOutput = recent;
    this.say(
      spec.name,
      `${how} after ${formatMs(uptimeMs)}; restarting in ${formatMs(delayMs)}` + (quote ? `\n${recent.replace(/^/gm, `  ${spec.name} | `)}` : ''),
    );
    this.emit('restarting', { name: spec.name, delayMs, attempt: component.attempt });
    component.restartTimer = setTimeout(() => {
      if (this.stopping !== undefined) return;
      component.restarts += 1;
      this.spawn(component);
    }, delayMs);
  }

  private async stopComponent(component: ComponentState): Promise<void> {
    const { child, spec } = component;
    if (child === undefined || child.pid === undefined || component.exited === undefined) return;
    const exited = component.exited;
    if (child.exitCode !== null || child.signalCode !== null) {
      await exited;
      return;
    }
    signalGroup(child, spec.stopSignal ?? 'SIGTERM');
    const timeoutMs = spec.stopTimeoutMs ?? 10_000;
    const timedOut = await Promise.race([exited.then(() => false), sleep(timeoutMs).then(() => true)]);
    if (timedOut) {
      this.say(spec.name, `did not stop within ${formatMs(timeoutMs)}; killing it`);
      signalGroup(child, 'SIGKILL');
      await exited;
    }
  }

  /**
   * A supervisor that was SIGKILLed leaves its children running (they are in
   * their own process group) and holding their ports. Their pid files remain,
   * and their environment names this data folder and component, so they can
   * be told apart from an unrelated process that reused the pid.
   */
  private async reapLeftover(component: ComponentState): Promise<void> {
    const { name } = component.spec;
    const pidFile = this.pidFile(name);
    let pid: number;
    try {
      pid = Number.parseInt(await readFile(pidFile, 'utf8'), 10);
    } catch {
      return;
    }
    if (Number.isInteger(pid) && (await isSupervisedProcess(pid, this.options.runDir, name))) {
      this.say(name, `stopping a leftover process from an earlier run (pid ${pid})`);
      const stopSignal = component.spec.stopSignal ?? 'SIGTERM';
      sendSignal(pid, stopSignal);
      const deadline = Date.now() + (component.spec.stopTimeoutMs ?? 10_000);
      while ((await isRunning(pid)) && Date.now() < deadline) await sleep(50);
      if (await isRunning(pid)) {
        sendSignal(pid, 'SIGKILL');
        const killDeadline = Date.now() + 5000;
        while ((await isRunning(pid)) && Date.now() < killDeadline) await sleep(20);
      }
    }
    await rm(pidFile, { force: true });
  }

  private say(name: string, message: string): void {
    this.console?.write(`[${name}] ${message}\n`);
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    // The whole group, so helpers the component spawned go too.
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function supervisedTag(runDir: string, name: string): string {
  return `${runDir}#${name}`;
}

/**
 * Whether `pid` is a process this data folder's supervisor started as
 * component `name` (and not an unrelated process that got the pid later).
 */
export async function isSupervisedProcess(pid: number, runDir: string, name: string): Promise<boolean> {
  if (pid <= 1) return false;
  return environContains(pid, `${SUPERVISED_ENV}=${supervisedTag(runDir, name)}`);
}

/** Alive and not a zombie (an orphan's zombie lingers where nothing reaps it, e.g. in containers). */
export async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name, which may itself contain ") ".
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function environContains(pid: number, entry: string): Promise<boolean> {
  try {
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
    return environ.split('\0').includes(entry);
  } catch {
    return false;
  }
}

function closeStream(stream: WriteStream | undefined): Promise<void> {
  if (stream === undefined || stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.end(() => resolve()));
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
