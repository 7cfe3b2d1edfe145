import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { completePorts, spawnDaemon, type DaemonExit } from '../daemon-process.js';
import { writePrivateFile } from '../home.js';
import { waitForTcpPorts } from '../net-wait.js';
import { localAddressFor } from '../settings.js';
import { ensureCertificate } from '../tls.js';
import { MURMUR_AUTOBAN_OFF, readMurmurTemplate, renderMurmurConfig, type MurmurAutoban, type MurmurConfigOptions, type MurmurPorts } from './config.js';
import { mumbleUdpPing } from './mumble-probe.js';

const run = promisify(execFile);

export const DEFAULT_MURMUR_BINARY = '/usr/sbin/murmurd';
/** The user Debian's mumble-server package creates; Murmur switches to it when started as root. */
export const MURMUR_USER = 'mumble-server';
/** The database's name inside Murmur's data folder. */
export const MURMUR_DATABASE_FILE = 'murmur.sqlite';

export interface MurmurCommand {
  command: string;
  args: string[];
}

/** How to run Murmur in the foreground (it logs to stdout when the config's logfile is empty). */
export function murmurCommand(configPath: string, binary = DEFAULT_MURMUR_BINARY): MurmurCommand {
  return { command: binary, args: ['-fg', '-ini', configPath] };
}

/** Murmur 1.3 catches SIGTERM, shuts its servers and Ice down and exits with code 0 (in ~25 ms). */
export const MURMUR_CLEAN_EXIT_CODES: readonly number[] = [0];

export interface MurmurRunUser {
  name: string;
  uid: number;
  gid: number;
}

/**
 * The user Murmur will switch to: `mumble-server` when this process is root
 * (Murmur refuses nothing as root, it drops privileges itself), null
 * otherwise (Murmur then runs as this user and `uname` is left out).
 */
export async function murmurRunUser(name = MURMUR_USER): Promise<MurmurRunUser | null> {
  if (process.getuid?.() !== 0) return null;
  let entry: string;
  try {
    entry = (await run('getent', ['passwd', name])).stdout.trim();
  } catch {
    throw new Error(`there is no ${name} user for Murmur to run as; install the mumble-server Debian package (scripts/up does)`);
  }
  const [, , uid, gid] = entry.split(':');
  return { name, uid: Number(uid), gid: Number(gid) };
}

export interface PrepareMurmurOptions extends Omit<MurmurConfigOptions, 'runAsUser' | 'databasePath' | 'pidPath'> {
  /** Where murmur.ini goes. Keep it out of `dataDir`: Murmur's user must not be able to rewrite it. */
  configPath: string;
  /** Murmur's database folder, made writable by the user Murmur runs as. */
  dataDir: string;
  /**
   * A folder of ours above `dataDir` (the data folder, a test's work folder):
   * folders from here down may be made searchable (o+x) for Murmur's user.
   */
  ownedRoot: string;
  /** Written into the database on every start, so a first start never logs a generated one. */
  superUserPassword: string;
  binary?: string;
  /** The template text (default: infra/murmur/murmur.ini.template). */
  template?: string;
}

export interface PreparedMurmur {
  configPath: string;
  dataDir: string;
  databasePath: string;
  user: MurmurRunUser | null;
}

/**
 * Everything before murmurd can start: the data folder (owned by Murmur's
 * user and reachable by it), murmur.ini (mode 0600, root's when root) and the
 * SuperUser password. Murmur reads the ini file, certificate and key before
 * it drops privileges, so those stay private; only the database folder is
 * handed over.
 */
export async function prepareMurmur(options: PrepareMurmurOptions): Promise<PreparedMurmur> {
  const { configPath, dataDir, ownedRoot, superUserPassword, binary, template, ...config } = options;
  if (isInside(dataDir, configPath)) throw new Error(`murmur.ini (${configPath}) must not be inside Murmur's data folder ${dataDir}`);
  const user = await murmurRunUser();
  const databasePath = join(dataDir, MURMUR_DATABASE_FILE);
  await mkdir(dataDir, { recursive: true, mode: 0o750 });
  if (user !== null) {
    await handOver(dataDir, user);
    await makeReachable(dataDir, ownedRoot, user);
  }
  const rendered = renderMurmurConfig(template ?? (await readMurmurTemplate()), {
    ...config,
    databasePath,
    pidPath: join(dataDir, 'murmur.pid'),
    runAsUser: user?.name ?? null,
  });
  await writePrivateFile(configPath, rendered);
  await setSuperUserPassword(configPath, superUserPassword, binary);
  return { configPath, dataDir, databasePath, user };
}

/**
 * Sets the SuperUser password (creating the database on a first start).
 * Without this, Murmur's first start generates one and prints it in its log.
 * Takes ~0.1 s (~1 s on a new database: Murmur benchmarks PBKDF2 once).
 */
export async function setSuperUserPassword(configPath: string, password: string, binary = DEFAULT_MURMUR_BINARY): Promise<void> {
  if (password === '' || /[\r\n]/.test(password)) throw new Error('the SuperUser password must be one non-empty line');
  const output = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; text: string }>((resolvePromise, reject) => {
    const child = spawn(binary, ['-ini', configPath, '-readsupw'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${binary}: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, text });
    });
    // A murmurd that exits early (or never starts) closes stdin: that is reported by the exit.
    child.stdin.on('error', () => undefined);
    child.stdin.end(password);
  });
  if (output.code !== 0) {
    const how = output.signal === null ? `exit code ${output.code}` : `signal ${output.signal}`;
    throw new Error(`${binary} -ini ${configPath} -readsupw failed (${how}):\n${output.text.trim()}`);
  }
}

/**
 * Gives Murmur's user the data folder and its database files (a restored
 * backup may be root's). Only plain files with one link: the folder is that
 * user's, so anything else in it may be a trap for a chown run as root.
 */
async function handOver(dataDir: string, user: MurmurRunUser): Promise<void> {
  await chown(dataDir, user.uid, user.gid);
  await chmod(dataDir, 0o750);
  for (const name of await readdir(dataDir)) {
    if (!name.startsWith('murmur.')) continue;
    const path = join(dataDir, name);
    const info = await lstat(path);
    if (info.isFile() && info.nlink === 1 && info.uid !== user.uid) await chown(path, user.uid, user.gid);
  }
}

/**
 * Murmur's user must be able to reach `dataDir`: folders from `ownedRoot`
 * down that others cannot search (mkdtemp makes 0700 ones) get o+x, which
 * lets it pass through without listing anything. Folders above `ownedRoot`
 * are not ours to open to everyone, yet a clone in /root (0700) is common:
 * those that block Murmur's user get an ACL entry letting that one user pass
 * through (setfacl u:USER:x), and each such change is reported. If it is
 * still unreachable the error says what to do.
 */
async function makeReachable(dataDir: string, ownedRoot: string, user: MurmurRunUser): Promise<void> {
  const target = resolve(dataDir);
  const root = resolve(ownedRoot);
  const parent = dirname(target);
  if (target !== root && isInside(root, parent)) {
    let dir = root;
    await searchableByOthers(dir);
    for (const part of relative(root, parent)
      .split(sep)
      .filter((piece) => piece !== '')) {
      dir = join(dir, part);
      await searchableByOthers(dir);
    }
  }
  for (const ancestor of ancestorsOf(root)) {
    if (await canSearch(ancestor, user)) continue;
    try {
      await run('setfacl', ['-m', `u:${user.name}:x`, ancestor]);
      console.log(`Let ${user.name} (Murmur) pass through ${ancestor} to reach its data folder (ACL u:${user.name}:x; nothing else changes)`);
    } catch {
      break; // No setfacl or no ACL support here: the check below explains.
    }
  }
  try {
    await run('test', ['-w', target, '-a', '-x', target], { uid: user.uid, gid: user.gid });
  } catch {
    throw new Error(
      `Murmur runs as ${user.name} and cannot write ${target}; make every folder above it searchable by that user ` +
        '(chmod o+x, or setfacl -m u:USER:x from the acl package) or move ALLOQUY_HOME',
    );
  }
}

/** `/a/b/c` → `/`, `/a`, `/a/b` (the folders one passes through to reach it). */
function ancestorsOf(dir: string): string[] {
  const out: string[] = [];
  for (let cur = dirname(resolve(dir)); ; cur = dirname(cur)) {
    out.unshift(cur);
    if (dirname(cur) === cur) return out;
  }
}

async function canSearch(dir: string, user: MurmurRunUser): Promise<boolean> {
  try {
    await run('test', ['-x', dir], { uid: user.uid, gid: user.gid });
    return true;
  } catch {
    return false;
  }
}

async function searchableByOthers(dir: string): Promise<void> {
  const info = await lstat(dir);
  if (info.isDirectory() && (info.mode & 0o001) === 0) await chmod(dir, (info.mode & 0o7777) | 0o001);
}

function isInside(parent: string, path: string): boolean {
  const rel = relative(resolve(parent), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep));
}

export interface MurmurStartupReport {
  /** The virtual server reported its TCP listener. */
  listening: boolean;
  /** The Ice endpoint is up (Murmur starts it before the voice server). */
  iceRunning: boolean;
  /** What Murmur could not open. It keeps running without it, so this is the only sign. */
  failures: string[];
}

/**
 * What Murmur printed while starting. Murmur 1.3 does not exit when a port is
 * taken: it logs the failure and runs without that server or Ice, and a TCP
 * probe would then succeed against whoever holds the port.
 */
export function parseMurmurStartup(output: string): MurmurStartupReport {
  const failures: string[] = [];
  for (const line of output.split('\n')) {
    let match: RegExpExecArray | null;
    if ((match = /Server: TCP Listen on (\S+) failed: (.+?)\s*$/.exec(line)) !== null) {
      failures.push(`TCP ${match[1]} (${match[2]})`);
    } else if ((match = /Failed to bind UDP Socket to (\S+)/.exec(line)) !== null) {
      failures.push(`UDP ${match[1]}`);
    } else if ((match = /MurmurIce: Initialization failed: (.+?)\s*$/.exec(line)) !== null) {
      failures.push(`the Ice endpoint (${match[1]})`);
    } else if ((match = /^<F>\S+ \S+ (.+?)\s*$/.exec(line)) !== null) {
      failures.push(match[1]!);
    }
  }
  return {
    listening: /=> Server listening on /.test(output),
    iceRunning: /MurmurIce: Endpoint "[^"]*" running/.test(output),
    failures,
  };
}

export interface MurmurEndpoints {
  /** The Mumble host as configured ('' for every interface). */
  host: string;
  ports: MurmurPorts;
  /** Default 127.0.0.1. */
  iceHost?: string;
}

/**
 * Resolves once Murmur reports its voice server and Ice endpoint up without
 * failures, both ports accept TCP and the voice port answers a UDP ping
 * (the config allows pings); rejects at once on a port it could not open.
 * `output` returns everything the process printed so far.
 */
export async function waitForMurmurStartup(
  output: () => string,
  endpoints: MurmurEndpoints,
  options: { timeoutMs: number; abortIf?: () => Error | undefined },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const check = (): boolean => {
    const report = parseMurmurStartup(output());
    if (report.failures.length > 0) throw new Error(`Murmur could not open ${report.failures.join(', ')}`);
    return report.listening && report.iceRunning;
  };
  for (;;) {
    if (check()) break;
    const aborted = options.abortIf?.();
    if (aborted !== undefined) throw aborted;
    if (Date.now() >= deadline) throw new Error(`Murmur did not report its server listening within ${options.timeoutMs} ms`);
    await sleep(25);
  }
  const wait = { timeoutMs: Math.max(deadline - Date.now(), 1000), ...(options.abortIf === undefined ? {} : { abortIf: options.abortIf }) };
  const address = localAddressFor(endpoints.host);
  await waitForTcpPorts(address, [endpoints.ports.mumble], wait);
  await waitForTcpPorts(localAddressFor(endpoints.iceHost ?? '127.0.0.1'), [endpoints.ports.mumbleIce], wait);
  // The UDP voice port answers Mumble's ping only if Murmur itself holds it (a
  // failed bind is logged just after the TCP listener, possibly not read yet).
  for (;;) {
    check();
    if ((await mumbleUdpPing(address, endpoints.ports.mumble, 250)) !== undefined) return;
    const aborted = options.abortIf?.();
    if (aborted !== undefined) throw aborted;
    if (Date.now() >= deadline) {
      check();
      throw new Error(`Murmur's UDP port ${address}:${endpoints.ports.mumble} did not answer a Mumble ping within ${options.timeoutMs} ms`);
    }
  }
}

export interface StartMurmurOptions {
  /** Holds murmur.ini, data/ (the database), murmur.log and (unless `tls` is given) a self-signed certificate. */
  workDir: string;
  /** Ports left out are picked free on 127.0.0.1. */
  ports?: Partial<MurmurPorts>;
  /** Where the Mumble port listens. Default 127.0.0.1 ('' is every interface). */
  host?: string;
  /** Default: random per start. */
  iceSecret?: string;
  /** Default: random per start. */
  serverPassword?: string;
  /** Default: random per start. */
  superUserPassword?: string;
  tls?: { certPath: string; keyPath: string };
  /** Names the root channel. Default Alloquy. */
  registerName?: string;
  welcomeText?: string;
  users?: number;
  bandwidth?: number;
  /** Default MURMUR_AUTOBAN_OFF: tests connect many clients from loopback. */
  autoban?: MurmurAutoban;
  /**
   * Folders from here down to the database may be made searchable (o+x) for
   * Murmur's user. Default: the folder directly in the system temporary folder
   * that holds `workDir` (a test's mkdtemp, mode 0700), else `workDir`.
   */
  ownedRoot?: string;
  binary?: string;
  /** How long to wait for both ports. Default 20 s. */
  startTimeoutMs?: number;
  /** How long after SIGTERM before SIGKILL. Default 5 s. */
  stopTimeoutMs?: number;
}

export type MurmurExit = DaemonExit;

export interface MurmurHandle {
  ports: MurmurPorts;
  /** Where the Mumble port listens ('' for every interface). */
  host: string;
  /** An address to connect to from this machine. */
  address: string;
  pid: number;
  workDir: string;
  configPath: string;
  dataDir: string;
  databasePath: string;
  /** Send as the Ice context's `secret` on every call. */
  iceSecret: string;
  /** e.g. "Meta:tcp -h 127.0.0.1 -p 6502", for Ice's stringToProxy. */
  iceProxy: string;
  serverPassword: string;
  superUserPassword: string;
  certPath: string;
  /** Everything Murmur printed (it logs to stdout). */
  logPath: string;
  /** Settles when the process exits, for whatever reason. */
  exited: Promise<MurmurExit>;
  /** SIGTERM, then SIGKILL after the stop timeout. Resolves once the process is gone. */
  stop(): Promise<void>;
}

/**
 * Starts a real Murmur for tests and benchmarks, configured as the stack
 * configures it, and resolves once the Mumble and Ice ports accept TCP.
 * Starting again on the same `workDir` keeps the database.
 */
export async function startMurmur(options: StartMurmurOptions): Promise<MurmurHandle> {
  const workDir = resolve(options.workDir);
  await mkdir(workDir, { recursive: true });
  const ports = await completePorts(['mumble', 'mumbleIce'], options.ports ?? {});
  const host = options.host ?? '127.0.0.1';
  const iceSecret = options.iceSecret ?? randomBytes(24).toString('hex');
  const serverPassword = options.serverPassword ?? randomBytes(24).toString('hex');
  const superUserPassword = options.superUserPassword ?? randomBytes(24).toString('hex');
  const tls = options.tls ?? (await ensureCertificate(join(workDir, 'tls'), ['localhost']));
  const binary = options.binary ?? DEFAULT_MURMUR_BINARY;
  const logPath = join(workDir, 'murmur.log');

  const prepared = await prepareMurmur({
    configPath: join(workDir, 'murmur.ini'),
    dataDir: join(workDir, 'data'),
    ownedRoot: options.ownedRoot ?? temporaryRoot(workDir) ?? workDir,
    superUserPassword,
    binary,
    host,
    ports,
    iceSecret,
    serverPassword,
    tls: { certPath: tls.certPath, keyPath: tls.keyPath },
    registerName: options.registerName ?? 'Alloquy',
    autoban: options.autoban ?? MURMUR_AUTOBAN_OFF,
    ...(options.welcomeText === undefined ? {} : { welcomeText: options.welcomeText }),
    ...(options.users === undefined ? {} : { users: options.users }),
    ...(options.bandwidth === undefined ? {} : { bandwidth: options.bandwidth }),
  });

  const { command, args } = murmurCommand(prepared.configPath, binary);
  const log = createWriteStream(logPath, { flags: 'a', mode: 0o640 });
  reapOnExit();
  log.on('error', () => undefined);
  const daemon = spawnDaemon({
    command,
    args,
    cwd: workDir,
    stopTimeoutMs: options.stopTimeoutMs ?? 5000,
    onOutput: (chunk) => log.write(chunk),
  });
  const { child } = daemon;
  if (child.pid !== undefined) {
    const pid = child.pid;
    unstopped.add(pid);
    child.once('exit', () => unstopped.delete(pid));
  }
  // After the exit and the last of its output.
  child.once('close', () => log.end());

  try {
    await waitForMurmurStartup(
      daemon.startupOutput,
      { host, ports },
      {
        timeoutMs: options.startTimeoutMs ?? 20_000,
        abortIf: daemon.startupFailure,
      },
    );
  } catch (error) {
    await daemon.stop();
    throw new Error(
      `Murmur (${binary}, config ${prepared.configPath}) did not become ready: ${(error as Error).message}\n` +
        `--- its output ---\n${daemon.output.text() || '(none)'}`,
    );
  }

  // Whatever Murmur printed while starting is in logPath once this resolves.
  await new Promise<void>((resolveWrite) => log.write('', () => resolveWrite()));

  return {
    ports,
    host,
    address: localAddressFor(host),
    pid: child.pid!,
    workDir,
    configPath: prepared.configPath,
    dataDir: prepared.dataDir,
    databasePath: prepared.databasePath,
    iceSecret,
    iceProxy: `Meta:tcp -h 127.0.0.1 -p ${ports.mumbleIce}`,
    serverPassword,
    superUserPassword,
    certPath: tls.certPath,
    logPath,
    exited: daemon.exited,
    stop: daemon.stop,
  };
}

/** Test Murmurs still running; a test process that ends without stopping one must not leave it behind. */
const unstopped = new Set<number>();
let reaping = false;

function reapOnExit(): void {
  if (reaping) return;
  reaping = true;
  process.once('exit', () => {
    for (const pid of unstopped) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });
}

/** The folder directly inside the system temporary folder that holds `path`, if any. */
function temporaryRoot(path: string): string | undefined {
  const temporary = resolve(tmpdir());
  const rel = relative(temporary, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return join(temporary, rel.split(sep)[0]!);
}
