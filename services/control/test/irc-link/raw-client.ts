/**
 * A raw IRC client for integration tests: plain TCP, every line parsed with our own parser,
 * and `waitFor` to await a line matching a predicate. Deliberately no IRC library, so the
 * tests see exactly what InspIRCd sends.
 */
import net from 'node:net';
import tls from 'node:tls';

import { parseLine, type IrcMessage } from '@alloquy/protocol/irc';

interface Waiter {
  readonly predicate: (message: IrcMessage) => boolean;
  readonly resolve: (message: IrcMessage) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
  /** Index in `received` from which this waiter looks. */
  readonly from: number;
}

export class RawIrcClient {
  readonly received: IrcMessage[] = [];
  private readonly socket: net.Socket;
  private buffer = '';
  private waiters: Waiter[] = [];
  private closedFlag = false;
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    // Like real clients; with Nagle on, a line written while one is unacknowledged waits ~40 ms.
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.closedFlag = true;
        for (const waiter of this.waiters.splice(0)) {
          clearTimeout(waiter.timer);
          waiter.reject(new Error('connection closed while waiting'));
        }
        resolve();
      });
    });
    socket.on('error', () => undefined);
  }

  /** Plain TCP, or TLS (`tls: true`; the stack's certificate is self-signed, so it is not verified). */
  static connect(port: number, host = '127.0.0.1', options: { tls?: boolean } = {}): Promise<RawIrcClient> {
    return new Promise((resolve, reject) => {
      const socket: net.Socket = options.tls ? tls.connect({ host, port, rejectUnauthorized: false, servername: 'localhost' }) : net.connect({ host, port });
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve(new RawIrcClient(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  /** Resolve with the first message (received from the mark on) that matches. */
  waitFor(predicate: (message: IrcMessage) => boolean, timeoutMs = 10_000, from = 0): Promise<IrcMessage> {
    const earlier = this.received.slice(from).find(predicate);
    if (earlier) return Promise.resolve(earlier);
    if (this.closedFlag) return Promise.reject(new Error('connection already closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.timer !== timer);
        const tail = this.received.slice(-15).map(describe).join('\n  ');
        reject(new Error(`timed out after ${timeoutMs} ms; last lines:\n  ${tail}`));
      }, timeoutMs);
      this.waiters.push({ predicate, resolve, reject, timer, from });
    });
  }

  /** Wait for a numeric reply, e.g. '903'. */
  waitForNumeric(numeric: string, timeoutMs?: number, from = 0): Promise<IrcMessage> {
    return this.waitFor((message) => message.command === numeric, timeoutMs, from);
  }

  /** Index to pass as `from` to only consider lines received after now. */
  mark(): number {
    return this.received.length;
  }

  quit(): void {
    if (!this.closedFlag) this.send('QUIT :bye');
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, '');
      this.buffer = this.buffer.slice(newline + 1);
      const parsed = parseLine(line, { maxBodyBytes: 16_384 });
      if (!parsed.ok) continue;
      const message = parsed.message;
      if (message.command === 'PING') this.send(`PONG :${message.params[0] ?? ''}`);
      this.received.push(message);
      const index = this.received.length - 1;
      for (const waiter of [...this.waiters]) {
        if (index >= waiter.from && waiter.predicate(message)) {
          clearTimeout(waiter.timer);
          this.waiters = this.waiters.filter((other) => other !== waiter);
          waiter.resolve(message);
        }
      }
    }
  }
}

export function describe(message: IrcMessage): string {
  const tags = [...message.tags].map(([key, value]) => `${key}=${value}`).join(';');
  return `${tags ? `@${tags} ` : ''}${message.source ? `:${message.source} ` : ''}${message.command} ${message.params.join(' | ')}`;
}

export interface SaslOutcome {
  readonly client: RawIrcClient;
  /** Numerics in arrival order among 900/903/904/905/906/908. */
  readonly numerics: string[];
  readonly success: boolean;
}

/** The IRCv3 capabilities the brief's clients request. */
export const CLIENT_CAPS = 'sasl message-tags server-time account-tag extended-join';

/**
 * Connect, negotiate caps, run AUTHENTICATE PLAIN with `response` chunked the way clients do
 * (400 characters per line, `+` after an exact multiple), end CAP and wait for 001.
 */
export async function connectWithSasl(
  port: number,
  nick: string,
  credentials: { authzid?: string; authcid: string; password: string } | { mechanism: string },
  options: { tls?: boolean; timeoutMs?: number } = {},
): Promise<SaslOutcome> {
  const client = await RawIrcClient.connect(port, '127.0.0.1', options);
  try {
    return await negotiateSasl(client, nick, credentials, options.timeoutMs);
  } catch (err) {
    client.destroy();
    throw err;
  }
}

async function negotiateSasl(
  client: RawIrcClient,
  nick: string,
  credentials: { authzid?: string; authcid: string; password: string } | { mechanism: string },
  timeoutMs?: number,
): Promise<SaslOutcome> {
  client.send('CAP LS 302');
  client.send(`NICK ${nick}`);
  client.send(`USER ${nick} 0 * :${nick} test`);
  await client.waitFor((m) => m.command === 'CAP' && m.params[1] === 'LS', timeoutMs);
  client.send(`CAP REQ :${CLIENT_CAPS}`);
  const ack = await client.waitFor((m) => m.command === 'CAP' && (m.params[1] === 'ACK' || m.params[1] === 'NAK'), timeoutMs);
  if (ack.params[1] !== 'ACK') throw new Error(`CAP REQ refused: ${describe(ack)}`);
  const mechanism = 'mechanism' in credentials ? credentials.mechanism : 'PLAIN';
  client.send(`AUTHENTICATE ${mechanism}`);
  const done = new Set(['903', '904', '905', '906']);
  if ('authcid' in credentials) {
    await client.waitFor((m) => m.command === 'AUTHENTICATE' && m.params[0] === '+', timeoutMs);
    const plain = `${credentials.authzid ?? ''}\0${credentials.authcid}\0${credentials.password}`;
    for (const chunk of chunkSaslResponse(Buffer.from(plain, 'utf8').toString('base64'))) client.send(`AUTHENTICATE ${chunk}`);
  }
  const result = await client.waitFor((m) => done.has(m.command), timeoutMs);
  client.send('CAP END');
  await client.waitForNumeric('001', timeoutMs);
  const numerics = client.received.map((m) => m.command).filter((command) => ['900', '903', '904', '905', '906', '908'].includes(command));
  return { client, numerics, success: result.command === '903' };
}

/** Split a base64 SASL response into AUTHENTICATE payloads (IRCv3 sasl-3.1). */
export function chunkSaslResponse(base64: string): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < base64.length; i += 400) chunks.push(base64.slice(i, i + 400));
  if (base64.length % 400 === 0) chunks.push('+');
  return chunks;
}
