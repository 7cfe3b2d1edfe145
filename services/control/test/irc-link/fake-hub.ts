/**
 * A scripted stand-in for InspIRCd's side of the server-link handshake, for unit tests of
 * the link's own logic (timers, backoff, framing, fuzzing through the socket). It replays
 * the exchange observed with the real InspIRCd 3.15; the integration tests use the real daemon.
 */
import { createHmac } from 'node:crypto';
import net from 'node:net';

import { parseLine, type IrcMessage } from '@alloquy/protocol/irc';

export interface FakeHubOptions {
  readonly password: string;
  readonly name?: string;
  readonly sid?: string;
  /** Send a CHALLENGE and expect HMAC passwords, as InspIRCd does with m_sha256 loaded. */
  readonly challenge?: string;
  /** Answer our PINGs. Default true. */
  readonly answerPings?: boolean;
  /** Lines sent between the hub's BURST and ENDBURST. */
  readonly burst?: readonly string[];
  /** Send this password in the hub's SERVER line instead of the right one. */
  readonly wrongPassword?: boolean;
  /** CAPAB CHANMODES to advertise instead of FAKE_HUB_CHANMODES. */
  readonly chanmodes?: string;
}

export const FAKE_HUB_USERMODES =
  'param-set:snomask=s simple:bot=B simple:hidechans=I simple:invisible=i simple:oper=o simple:regdeaf=R simple:servprotect=k simple:u_registered=r simple:wallops=w';
export const FAKE_HUB_CHANMODES =
  'list:ban=b param-set:limit=l param:key=k prefix:10000:voice=+v prefix:30000:op=@o simple:inviteonly=i simple:moderated=m simple:noextmsg=n simple:secret=s simple:topiclock=t';

function hmacPassword(password: string, challenge: string): string {
  return `AUTH:${createHmac('sha256', password).update(challenge).digest('base64').replace(/=+$/, '')}`;
}

export class FakeHub {
  readonly name: string;
  readonly sid: string;
  /** Every line received, per connection, raw (without CRLF). */
  readonly connections: string[][] = [];
  private readonly server: net.Server;
  private current: net.Socket | null = null;
  private readonly sockets = new Set<net.Socket>();
  private lineListeners: Array<(line: string, message: IrcMessage | null) => void> = [];
  port = 0;

  constructor(private readonly options: FakeHubOptions) {
    this.name = options.name ?? 'irc.test.local';
    this.sid = options.sid ?? '1HB';
    this.server = net.createServer((socket) => this.accept(socket));
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Stop accepting and drop every connection. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Drop the current connection but keep listening. */
  dropConnection(): void {
    this.current?.destroy();
  }

  /** Write raw text (lines must carry their own terminators) to the current connection. */
  write(data: string | Buffer): void {
    this.current?.write(data);
  }

  sendLine(line: string): void {
    this.write(`${line}\r\n`);
  }

  get lastConnection(): string[] {
    return this.connections[this.connections.length - 1] ?? [];
  }

  /** Resolve with the first line from the link (on any connection, from now on) matching. */
  waitForLine(predicate: (line: string, message: IrcMessage | null) => boolean, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lineListeners = this.lineListeners.filter((listener) => listener !== onLine);
        reject(new Error(`fake hub: no matching line within ${timeoutMs} ms`));
      }, timeoutMs);
      const onLine = (line: string, message: IrcMessage | null): void => {
        if (!predicate(line, message)) return;
        clearTimeout(timer);
        this.lineListeners = this.lineListeners.filter((listener) => listener !== onLine);
        resolve(line);
      };
      this.lineListeners.push(onLine);
    });
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    this.current = socket;
    const lines: string[] = [];
    this.connections.push(lines);
    socket.setEncoding('utf8');
    let buffer = '';
    let ourChallengeSeen: string | undefined;
    socket.write(`CAPAB START 1205\r\n`);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        lines.push(line);
        const parsed = parseLine(line);
        const message = parsed.ok ? parsed.message : null;
        if (message) ourChallengeSeen = this.react(socket, message, ourChallengeSeen);
        for (const listener of [...this.lineListeners]) listener(line, message);
      }
    });
  }

  /** The hub's half of the handshake and its PONGs. Returns the link's CHALLENGE once seen. */
  private react(socket: net.Socket, message: IrcMessage, linkChallenge: string | undefined): string | undefined {
    const send = (line: string): void => {
      socket.write(`${line}\r\n`);
    };
    const [first, second] = message.params;
    if (message.command === 'CAPAB' && first === 'START') {
      send(`CAPAB CHANMODES :${this.options.chanmodes ?? FAKE_HUB_CHANMODES}`);
      send(`CAPAB USERMODES :${FAKE_HUB_USERMODES}`);
      const challenge = this.options.challenge ? ` CHALLENGE=${this.options.challenge}` : '';
      send(`CAPAB CAPABILITIES :NICKMAX=30 MAXQUIT=255 CASEMAPPING=ascii${challenge}`);
      send('CAPAB END');
    } else if (message.command === 'CAPAB' && first === 'CAPABILITIES') {
      return /CHALLENGE=(\S+)/.exec(second ?? '')?.[1];
    } else if (message.command === 'SERVER' && message.source === null) {
      const expected = this.options.challenge ? hmacPassword(this.options.password, this.options.challenge) : this.options.password;
      if (second !== expected) {
        send('ERROR :Invalid credentials');
        socket.end();
        return linkChallenge;
      }
      const password = this.options.wrongPassword
        ? 'not-the-password'
        : this.options.challenge && linkChallenge
          ? hmacPassword(this.options.password, linkChallenge)
          : this.options.password;
      send(`SERVER ${this.name} ${password} 0 ${this.sid} :Fake hub`);
    } else if (message.command === 'ENDBURST') {
      send(`:${this.sid} BURST ${Math.floor(Date.now() / 1000)}`);
      for (const line of this.options.burst ?? []) send(line);
      send(`:${this.sid} ENDBURST`);
    } else if (message.command === 'PING' && (this.options.answerPings ?? true)) {
      send(`:${this.sid} PONG ${message.source ?? ''}`);
    }
    return linkChallenge;
  }
}
