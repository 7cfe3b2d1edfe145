/**
 * A deliberately small IRC client for benchmarks: one TCP socket, IRCv3 tag
 * parsing, and "wait for a line matching X" with a timeout. Every received
 * line carries the performance.now() time at which its TCP chunk reached the
 * process, taken before any parsing, so parsing cost never counts as latency.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface IrcMessage {
  tags: Map<string, string>;
  source: string | null;
  command: string;
  params: string[];
}

/** Parses one IRC line (without CR LF). Returns null for a line without a command. */
export function parseIrcLine(line: string): IrcMessage | null {
  let rest = line;
  const tags = new Map<string, string>();
  if (rest.startsWith('@')) {
    const space = rest.indexOf(' ');
    if (space < 0) return null;
    for (const item of rest.slice(1, space).split(';')) {
      if (item === '') continue;
      const eq = item.indexOf('=');
      if (eq < 0) tags.set(item, '');
      else tags.set(item.slice(0, eq), unescapeTagValue(item.slice(eq + 1)));
    }
    rest = rest.slice(space + 1).trimStart();
  }
  let source: string | null = null;
  if (rest.startsWith(':')) {
    const space = rest.indexOf(' ');
    if (space < 0) return null;
    source = rest.slice(1, space);
    rest = rest.slice(space + 1).trimStart();
  }
  const params: string[] = [];
  let command = '';
  while (rest.length > 0) {
    if (command !== '' && rest.startsWith(':')) {
      params.push(rest.slice(1));
      break;
    }
    const space = rest.indexOf(' ');
    const word = space < 0 ? rest : rest.slice(0, space);
    if (command === '') command = word.toUpperCase();
    else params.push(word);
    rest = space < 0 ? '' : rest.slice(space + 1).trimStart();
  }
  return command === '' ? null : { tags, source, command, params };
}

function unescapeTagValue(value: string): string {
  if (!value.includes('\\')) return value;
  return value.replace(/\\(.?)/g, (_, c: string) => {
    switch (c) {
      case ':':
        return ';';
      case 's':
        return ' ';
      case 'r':
        return '\r';
      case 'n':
        return '\n';
      default:
        return c;
    }
  });
}

/** Nick of a `nick!user@host` source. */
export function sourceNick(source: string | null): string {
  if (source === null) return '';
  const bang = source.indexOf('!');
  return bang < 0 ? source : source.slice(0, bang);
}

type Waiter = {
  match: (message: IrcMessage) => boolean;
  resolve: (value: { message: IrcMessage; at: number }) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
};

export interface IrcClientOptions {
  host: string;
  port: number;
  /** For error messages. */
  label: string;
  connectTimeoutMs: number;
}

export class BenchIrcClient {
  readonly label: string;
  /** performance.now() when the TCP connection was established. */
  connectedAt = Number.NaN;
  /** Called for every line before waiters see it (hot path: keep it cheap). */
  onRawLine: ((line: string, at: number) => boolean) | undefined;
  private socket: Socket | undefined;
  private buffer = '';
  private waiters: Waiter[] = [];
  private closedError: Error | undefined;
  private readonly recent: string[] = [];

  constructor(private readonly options: IrcClientOptions) {
    this.label = options.label;
  }

  /** Opens the TCP connection; resolves once it is established. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.options.host, port: this.options.port, noDelay: true });
      this.socket = socket;
      socket.setEncoding('utf8');
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`${this.label}: TCP connect timed out after ${this.options.connectTimeoutMs} ms`));
      }, this.options.connectTimeoutMs);
      socket.once('connect', () => {
        this.connectedAt = performance.now();
        clearTimeout(timer);
        resolve();
      });
      socket.on('data', (chunk: string) => this.onData(chunk, performance.now()));
      socket.on('error', (error) => {
        clearTimeout(timer);
        this.fail(new Error(`${this.label}: socket error: ${error.message}`));
        reject(error);
      });
      socket.on('close', () => this.fail(new Error(`${this.label}: connection closed by the server`)));
    });
  }

  send(line: string): void {
    if (this.socket === undefined || this.closedError !== undefined) throw this.closedError ?? new Error(`${this.label}: not connected`);
    this.socket.write(`${line}\r\n`);
  }

  /** Waits for the first line (from now on) that `match` accepts. */
  waitFor(match: (message: IrcMessage) => boolean, timeoutMs: number, what: string): Promise<{ message: IrcMessage; at: number }> {
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`${this.label}: no ${what} within ${timeoutMs} ms; last lines:\n    ${this.recent.join('\n    ')}`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends QUIT and closes the socket. */
  close(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    this.fail(new Error(`${this.label}: closed`));
    if (!socket.destroyed) {
      socket.end('QUIT :bench done\r\n');
      // Do not wait for the server to close its side.
      setTimeout(() => socket.destroy(), 200).unref();
    }
  }

  destroy(): void {
    this.fail(new Error(`${this.label}: destroyed`));
    this.socket?.destroy();
  }

  private onData(chunk: string, at: number): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n')) >= 0) {
      let line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') continue;
      this.onLine(line, at);
    }
  }

  private onLine(line: string, at: number): void {
    if (this.onRawLine?.(line, at) === true) return;
    if (this.recent.length >= 8) this.recent.shift();
    this.recent.push(line.length > 300 ? `${line.slice(0, 300)}...` : line);
    const message = parseIrcLine(line);
    if (message === null) return;
    if (message.command === 'PING') {
      if (this.closedError === undefined) this.send(`PONG :${message.params[0] ?? ''}`);
      return;
    }
    if (message.command === 'ERROR') {
      this.fail(new Error(`${this.label}: server sent ERROR: ${message.params.join(' ')}`));
      return;
    }
    if (this.waiters.length === 0) return;
    const remaining: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.match(message)) {
        clearTimeout(waiter.timer);
        waiter.resolve({ message, at });
      } else {
        remaining.push(waiter);
      }
    }
    this.waiters = remaining;
  }

  private fail(error: Error): void {
    if (this.closedError !== undefined) return;
    this.closedError = error;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }
}
