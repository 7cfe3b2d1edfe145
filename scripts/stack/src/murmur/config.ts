import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../home.js';
import type { StackPorts } from '../ports.js';
import { renderTemplate } from '../template.js';

export type MurmurPorts = Pick<StackPorts, 'mumble' | 'mumbleIce'>;

/**
 * Murmur 1.3 bans a whole address for `banSeconds` after `attempts` connections
 * from it within `timeframeSeconds`, counting successful connections too.
 */
export interface MurmurAutoban {
  /** 0 turns the ban off. */
  attempts: number;
  timeframeSeconds: number;
  banSeconds: number;
}

/**
 * What the stack uses: a thousand connections a minute from one address (an
 * office, a NAT, a WebSocket bridge on this host) before a one-minute ban.
 */
export const DEFAULT_MURMUR_AUTOBAN: Readonly<MurmurAutoban> = Object.freeze({
  attempts: 1000,
  timeframeSeconds: 60,
  banSeconds: 60,
});

/** No ban at all: for tests and benchmarks that connect many clients from loopback. */
export const MURMUR_AUTOBAN_OFF: Readonly<MurmurAutoban> = Object.freeze({ attempts: 0, timeframeSeconds: 0, banSeconds: 0 });

/**
 * Murmur's default username pattern plus `\`, `^` and backquote, so every
 * Alloquy username (an IRC nick) is a valid Mumble name.
 */
export const MURMUR_USERNAME_PATTERN = '[-=\\w\\[\\]\\{\\}\\(\\)\\@\\|\\.\\\\^`]+';
/** Any channel name without control characters or "/" (QRegExp syntax: \xhhhh). */
export const MURMUR_CHANNEL_NAME_PATTERN = '[^\\x0000-\\x001f\\x007f/]+';

export interface MurmurConfigOptions {
  /** Where the Mumble port listens; '' for every interface (ALLOQUY_MUMBLE_HOST). */
  host: string;
  ports: MurmurPorts;
  /** The Ice endpoint's address. Default 127.0.0.1: Ice has no encryption and only a shared secret. */
  iceHost?: string;
  /** Needed for every modifying Ice call (ALLOQUY_MURMUR_ICE_SECRET_PATH holds it). */
  iceSecret: string;
  /** Keeps out names that are not registered accounts; never given to users. */
  serverPassword: string;
  databasePath: string;
  /** Only written when murmurd runs as a daemon (without -fg). */
  pidPath: string;
  /** Murmur's own log file; '' (default) logs to standard output. */
  logPath?: string;
  tls: { certPath: string; keyPath: string };
  /** Names the root channel (ALLOQUY_IRC_NETWORK). */
  registerName: string;
  /** HTML shown to clients on connect. Default: a line naming the network. */
  welcomeText?: string;
  /** The user Murmur switches to when started as root; null to leave `uname` out. */
  runAsUser: string | null;
  /** Users on the server at once. Default 1000. */
  users?: number;
  /** Bits per second each client may send speech at. Default 72000. */
  bandwidth?: number;
  /** Default DEFAULT_MURMUR_AUTOBAN. */
  autoban?: MurmurAutoban;
}

export const MURMUR_TEMPLATE_PATH = join(repoRoot(), 'infra', 'murmur', 'murmur.ini.template');

export function readMurmurTemplate(path: string = MURMUR_TEMPLATE_PATH): Promise<string> {
  return readFile(path, 'utf8');
}

/** Values written without quotes (Murmur reads them as numbers). */
const NUMERIC = new Set(['port', 'users', 'bandwidth', 'autobanAttempts', 'autobanTimeframe', 'autobanTime']);

/** Renders murmur.ini. Throws, listing every problem, on settings Murmur would reject or misread. */
export function renderMurmurConfig(template: string, options: MurmurConfigOptions): string {
  validate(options);
  const autoban = options.autoban ?? DEFAULT_MURMUR_AUTOBAN;
  const values: Record<string, string | number> = {
    databasePath: options.databasePath,
    logPath: options.logPath ?? '',
    pidPath: options.pidPath,
    iceEndpoint: `tcp -h ${options.iceHost ?? '127.0.0.1'} -p ${options.ports.mumbleIce}`,
    iceSecret: options.iceSecret,
    host: options.host,
    port: options.ports.mumble,
    serverPassword: options.serverPassword,
    certPath: options.tls.certPath,
    keyPath: options.tls.keyPath,
    registerName: options.registerName,
    welcomeText: options.welcomeText ?? defaultWelcomeText(options.registerName),
    users: options.users ?? 1000,
    bandwidth: options.bandwidth ?? 72000,
    userNamePattern: MURMUR_USERNAME_PATTERN,
    channelNamePattern: MURMUR_CHANNEL_NAME_PATTERN,
    autobanAttempts: autoban.attempts,
    autobanTimeframe: autoban.timeframeSeconds,
    autobanTime: autoban.banSeconds,
  };
  if (options.runAsUser !== null) values.runAsUser = options.runAsUser;
  return renderTemplate(template, {
    values,
    flags: { runAsUser: options.runAsUser !== null },
    escape: (value, name) => (NUMERIC.has(name) ? value : escapeIniValue(value, name)),
  });
}

/**
 * Quotes a value for Murmur's ini file (Qt's QSettings, read as UTF-8).
 * Unquoted, a `;` starts a comment and a `,` makes a list; inside quotes `\`
 * and `"` are escaped with a backslash; a leading `@` marks a typed value
 * (`@ByteArray(...)`) unless doubled. Control characters cannot be written.
 */
export function escapeIniValue(value: string, name = 'value'): string {
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point.
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new Error(`${name} contains a control character and cannot be written to murmur.ini`);
  }
  const unmarked = value.startsWith('@') ? `@${value}` : value;
  return `"${unmarked.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}

function defaultWelcomeText(network: string): string {
  const html = network.replace(/[&<>"]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char]!);
  return `<br />Welcome to <b>${html}</b> voice. Log in with your ${html} username and password.<br />`;
}

function validate(options: MurmurConfigOptions): void {
  const problems: string[] = [];
  for (const [name, port] of Object.entries(options.ports) as [string, number][]) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`port ${name}=${port} is not a port number`);
  }
  if (options.ports.mumble === options.ports.mumbleIce) {
    problems.push(`the Mumble port and the Ice port must differ (both ${options.ports.mumble})`);
  }
  if (/\s/.test(options.host)) problems.push(`host ${JSON.stringify(options.host)} must be one address or host name`);
  const iceHost = options.iceHost ?? '127.0.0.1';
  if (iceHost === '' || /[\s"]/.test(iceHost)) problems.push(`Ice host ${JSON.stringify(iceHost)} must be one address`);
  // Murmur compares these with what clients send; an empty one would switch the check off or refuse every call.
  if (options.iceSecret.trim() === '') problems.push('the Ice write secret must not be empty');
  if (options.serverPassword.trim() === '') {
    problems.push('the server password must not be empty (without it Murmur lets in any name that is not registered)');
  }
  if (options.registerName.trim() === '') problems.push('the register name (network name) must not be empty');
  if (options.runAsUser !== null && !/^[a-z_][a-z0-9_-]*\$?$/.test(options.runAsUser)) {
    problems.push(`user ${JSON.stringify(options.runAsUser)} is not a Unix user name`);
  }
  const autoban = options.autoban ?? DEFAULT_MURMUR_AUTOBAN;
  const numbers: [string, number | undefined, number][] = [
    ['users', options.users, 1],
    ['bandwidth', options.bandwidth, 8000],
    ['autoban attempts', autoban.attempts, 0],
    ['autoban timeframe', autoban.timeframeSeconds, 0],
    ['autoban time', autoban.banSeconds, 0],
  ];
  for (const [name, value, minimum] of numbers) {
    if (value !== undefined && !(Number.isInteger(value) && value >= minimum && value <= 2 ** 31 - 1)) {
      problems.push(`${name}=${value} must be a whole number of at least ${minimum}`);
    }
  }
  if (problems.length > 0) throw new Error(`Invalid Murmur configuration:\n  ${problems.join('\n  ')}`);
}
