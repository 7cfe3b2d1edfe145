import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Supervisor, type ComponentSpec, type ExitedEvent, type RestartingEvent, type StartedEvent, type SupervisorOptions } from './supervisor.js';

let dir: string;
let supervisors: Supervisor[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alloquy-supervisor-'));
  supervisors = [];
});
afterEach(async () => {
  await Promise.all(supervisors.map((supervisor) => supervisor.stop()));
  await rm(dir, { recursive: true, force: true });
});

/** A component that runs `script` with node. */
function nodeComponent(name: string, script: string, extra: Partial<ComponentSpec> = {}): ComponentSpec {
  return { name, command: process.execPath, args: ['-e', script], ...extra };
}

const RUN_FOREVER = 'setInterval(() => {}, 1000);';

function supervise(specs: ComponentSpec[], options: Partial<SupervisorOptions> = {}): Supervisor {
  const supervisor = new Supervisor(specs, {
    logsDir: join(dir, 'logs'),
    runDir: join(dir, 'run'),
    console: null,
    ...options,
  });
  supervisors.push(supervisor);
  return supervisor;
}

function collect<K extends 'started' | 'exited' | 'restarting'>(
  supervisor: Supervisor,
  event: K,
): (K extends 'started' ? StartedEvent : K extends 'exited' ? ExitedEvent : RestartingEvent)[] {
  const events: unknown[] = [];
  supervisor.on(event, ((payload: unknown) => events.push(payload)) as never);
  return events as never;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

async function readPidFile(name: string): Promise<number | undefined> {
  try {
    return Number.parseInt(await readFile(join(dir, 'run', `${name}.pid`), 'utf8'), 10);
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Supervisor', () => {
  it('restarts a crashing component with doubling delays up to the cap', async () => {
    const supervisor = supervise([nodeComponent('crashy', 'process.exit(3)')], {
      backoff: { initialMs: 20, maxMs: 100, stableAfterMs: 60_000 },
    });
    const restarting = collect(supervisor, 'restarting');
    const exited = collect(supervisor, 'exited');
    const started = collect(supervisor, 'started');
    await supervisor.start();
    await until(() => restarting.length >= 6);
    await supervisor.stop();

    expect(restarting.slice(0, 6).map((event) => event.delayMs)).toEqual([20, 40, 80, 100, 100, 100]);
    expect(restarting.slice(0, 6).map((event) => event.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(exited[0]).toMatchObject({ name: 'crashy', code: 3, signal: null, clean: false, expected: false });
    // Each start is a new process, and the restart count is reported with it.
    expect(new Set(started.map((event) => event.pid)).size).toBe(started.length);
    expect(started.slice(0, 3).map((event) => event.restarts)).toEqual([0, 1, 2]);
  });

  it('goes back to the shortest delay after a stable run', async () => {
    const counter = join(dir, 'runs');
    await writeFile(counter, '0');
    // Runs 1-3 crash at once, run 4 stays up past stableAfterMs, then crashes.
    const script = `
      const fs = require('node:fs');
      const runs = Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8')) + 1;
      fs.writeFileSync(${JSON.stringify(counter)}, String(runs));
      if (runs === 4) setTimeout(() => process.exit(1), 400); else process.exit(1);
    `;
    const supervisor = supervise([nodeComponent('flappy', script)], {
      backoff: { initialMs: 20, maxMs: 10_000, stableAfterMs: 300 },
    });
    const restarting = collect(supervisor, 'restarting');
    await supervisor.start();
    await until(() => restarting.length >= 5);
    await supervisor.stop();
    expect(restarting.slice(0, 5).map((event) => event.delayMs)).toEqual([20, 40, 80, 20, 40]);
  });

  it('keeps a pid file per component and restarts one that is killed with SIGKILL', async () => {
    const supervisor = supervise([nodeComponent('control', RUN_FOREVER)], {
      backoff: { initialMs: 50, maxMs: 1000, stableAfterMs: 30_000 },
    });
    const started = collect(supervisor, 'started');
    const exited = collect(supervisor, 'exited');
    await supervisor.start();
    await until(async () => (await readPidFile('control')) !== undefined);
    const first = (await readPidFile('control'))!;
    expect(first).toBe(started[0]!.pid);
    expect(supervisor.pidOf('control')).toBe(first);

    process.kill(first, 'SIGKILL');
    await until(async () => started.length === 2 && (await readPidFile('control')) === started[1]!.pid);
    const second = started[1]!.pid;
    expect(second).not.toBe(first);
    expect(alive(second)).toBe(true);
    expect(supervisor.pidOf('control')).toBe(second);
    expect(exited[0]).toMatchObject({ pid: first, signal: 'SIGKILL', expected: false, clean: false });
  });

  it('stops components in reverse order, cleanly, and removes their pid files', async () => {
    const order: string[] = [];
    const supervisor = supervise([nodeComponent('first', RUN_FOREVER), nodeComponent('second', RUN_FOREVER)]);
    const exited = collect(supervisor, 'exited');
    supervisor.on('exited', (event) => order.push(event.name));
    await supervisor.start();
    await until(async () => (await readPidFile('first')) !== undefined && (await readPidFile('second')) !== undefined);
    const pids = [supervisor.pidOf('first')!, supervisor.pidOf('second')!];
    await supervisor.stop();

    expect(order).toEqual(['second', 'first']);
    for (const event of exited) expect(event).toMatchObject({ signal: 'SIGTERM', clean: true, expected: true });
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(await readPidFile('first')).toBeUndefined();
    expect(await readPidFile('second')).toBeUndefined();
  });

  it('counts configured exit codes and signals as a clean stop', async () => {
    const supervisor = supervise([
      nodeComponent('graceful', `process.on('SIGTERM', () => process.exit(0)); ${RUN_FOREVER}`),
      // Stands in for InspIRCd, which may crash while shutting down.
      nodeComponent('crashes-on-stop', `process.on('SIGTERM', () => process.kill(process.pid, 'SIGSEGV')); ${RUN_FOREVER}`, {
        cleanExitSignals: ['SIGTERM', 'SIGSEGV'],
      }),
    ]);
    const exited = collect(supervisor, 'exited');
    await supervisor.start();
    await until(async () => (await readPidFile('crashes-on-stop')) !== undefined);
    await sleep(200); // let the children install their signal handlers
    await supervisor.stop();
    expect(exited.find((event) => event.name === 'graceful')).toMatchObject({ code: 0, clean: true });
    expect(exited.find((event) => event.name === 'crashes-on-stop')).toMatchObject({ signal: 'SIGSEGV', clean: true });
  });

  it('SIGKILLs a component that ignores the stop signal', async () => {
    const supervisor = supervise([nodeComponent('stubborn', `process.on('SIGTERM', () => {}); ${RUN_FOREVER}`, { stopTimeoutMs: 300 })]);
    const exited = collect(supervisor, 'exited');
    await supervisor.start();
    await sleep(200);
    const started = Date.now();
    await supervisor.stop();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(exited[0]).toMatchObject({ signal: 'SIGKILL', clean: false, expected: true });
  });

  it('appends output to the component log with a marker per start', async () => {
    const supervisor = supervise([nodeComponent('talker', "console.log('to stdout'); console.error('to stderr'); process.exit(1)")], {
      backoff: { initialMs: 10, maxMs: 10, stableAfterMs: 60_000 },
    });
    const restarting = collect(supervisor, 'restarting');
    await supervisor.start();
    await until(() => restarting.length >= 2);
    await supervisor.stop();
    const log = await readFile(join(dir, 'logs', 'talker.log'), 'utf8');
    expect(log.match(/===== \S+ starting talker: /g)?.length).toBeGreaterThanOrEqual(2);
    expect(log.match(/to stdout/g)?.length).toBeGreaterThanOrEqual(2);
    expect(log).toContain('to stderr');
    expect(log).toMatch(/talker exited with code 1 after/);
    expect((await stat(join(dir, 'logs', 'talker.log'))).isFile()).toBe(true);
  });

  it('starts components in order, each after the previous one is ready', async () => {
    const flag = join(dir, 'db-ready');
    const events: string[] = [];
    const supervisor = supervise([
      nodeComponent('db', `setTimeout(() => require('node:fs').writeFileSync(${JSON.stringify(flag)}, 'y'), 300); ${RUN_FOREVER}`, {
        async ready({ signal }) {
          while (!signal.aborted) {
            if (
              await stat(flag).then(
                () => true,
                () => false,
              )
            )
              return;
            await sleep(20);
          }
        },
      }),
      nodeComponent('app', RUN_FOREVER),
    ]);
    supervisor.on('started', (event) => events.push(`started ${event.name}`));
    supervisor.on('ready', (event) => events.push(`ready ${event.name}`));
    await supervisor.start();
    expect(events).toEqual(['started db', 'ready db', 'started app']);
  });

  it('fails start() when a component never becomes ready, quoting its output', async () => {
    const supervisor = supervise([
      nodeComponent('stuck', `console.log('waiting for a database'); ${RUN_FOREVER}`, {
        ready: () => new Promise(() => {}),
        readyTimeoutMs: 400,
      }),
    ]);
    await expect(supervisor.start()).rejects.toThrow(/stuck did not become ready within 400 ms[\s\S]*waiting for a database/);
  });

  it('fails start() at once when a ready check fails, without starting later components', async () => {
    const started: string[] = [];
    const supervisor = supervise([
      nodeComponent('ircd', RUN_FOREVER, {
        ready: async () => {
          throw new Error('could not listen on 127.0.0.1:6667');
        },
      }),
      nodeComponent('app', RUN_FOREVER),
    ]);
    supervisor.on('started', (event) => started.push(event.name));
    const begun = Date.now();
    await expect(supervisor.start()).rejects.toThrow(/ircd failed its readiness check: could not listen on 127\.0\.0\.1:6667/);
    expect(Date.now() - begun).toBeLessThan(5000);
    expect(started).toEqual(['ircd']);
  });

  it('lets an on-failure component finish when it exits cleanly', async () => {
    const supervisor = supervise([nodeComponent('migrate', 'process.exit(0)', { restart: 'on-failure' })]);
    const exited = collect(supervisor, 'exited');
    const restarting = collect(supervisor, 'restarting');
    await supervisor.start();
    await until(() => exited.length === 1);
    await sleep(100);
    expect(exited[0]).toMatchObject({ code: 0, clean: true, expected: false });
    expect(restarting).toEqual([]);
  });

  it('retries a command that cannot be spawned', async () => {
    const supervisor = supervise([{ name: 'missing', command: join(dir, 'no-such-program') }], {
      backoff: { initialMs: 10, maxMs: 20, stableAfterMs: 60_000 },
    });
    const exited = collect(supervisor, 'exited');
    await supervisor.start();
    await until(() => exited.length >= 2);
    expect(exited[0]).toMatchObject({ name: 'missing', pid: undefined, clean: false });
    expect(await readFile(join(dir, 'logs', 'missing.log'), 'utf8')).toMatch(/could not be started \(spawn .*ENOENT\)/);
  });

  it('rejects bad or duplicate component names', () => {
    expect(() => supervise([nodeComponent('Bad Name', '')])).toThrow(/invalid component name/);
    expect(() => supervise([nodeComponent('a', ''), nodeComponent('a', '')])).toThrow(/listed twice/);
  });
});
