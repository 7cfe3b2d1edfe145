/**
 * Integration tests against the real /usr/sbin/inspircd: the rendered config
 * must load, every listener must work and the IRCv3 capabilities clients rely
 * on must be offered.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptsTcp } from '../net-wait.js';
import { parseInspircdStartup, startInspircd, type InspircdHandle } from './process.js';

const SERVICES = { name: 'services.alloquy.test', password: randomBytes(16).toString('hex') };

/** A line-based IRC client over TCP, TLS or WebSocket. */
class IrcClient {
  readonly lines: string[] = [];
  private waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  private closedWith: Error | undefined;

  constructor(
    private readonly write: (line: string) => void,
    private readonly end: () => void,
  ) {}

  static async overSocket(socket: Socket): Promise<IrcClient> {
    const client = new IrcClient(
      (line) => socket.write(`${line}\r\n`),
      () => socket.destroy(),
    );
    let buffer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let index: number;
      while ((index = buffer.indexOf('\n')) >= 0) {
        client.receive(buffer.slice(0, index).replace(/\r$/, ''));
        buffer = buffer.slice(index + 1);
      }
    });
    socket.on('close', () => client.closed(new Error('connection closed')));
    socket.on('error', (error) => client.closed(error));
    return client;
  }

  static plain(port: number): Promise<IrcClient> {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(IrcClient.overSocket(socket)));
      socket.once('error', reject);
    });
  }

  static tls(port: number): Promise<IrcClient> {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    return new Promise((resolve, reject) => {
      socket.once('secureConnect', () => resolve(IrcClient.overSocket(socket)));
      socket.once('error', reject);
    });
  }

  send(line: string): void {
    this.write(line);
  }

  waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const seen = this.lines.find((line) => pattern.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; got:\n${this.lines.join('\n')}`));
      }, timeoutMs);
      this.waiters.push({
        test: (line) => pattern.test(line),
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  close(): void {
    this.end();
  }

  receive(line: string): void {
    this.lines.push(line);
    const ping = /^PING (.*)$/.exec(line);
    if (ping !== null) this.write(`PONG ${ping[1]}`);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.test(line)) return true;
      waiter.resolve(line);
      return false;
    });
  }

  closed(error: Error): void {
    this.closedWith ??= error;
  }
}

/** Registers with CAP LS 302 / NICK / USER / CAP END; resolves with the offered capabilities once 001 arrives. */
async function register(client: IrcClient, nick: string): Promise<{ caps: string[]; welcome: string }> {
  client.send('CAP LS 302');
  client.send(`NICK ${nick}`);
  client.send(`USER ${nick} 0 * :${nick}`);
  // The last (or only) CAP LS line has no "*" before the list.
  await client.waitFor(/ CAP \S+ LS :/);
  const caps = client.lines
    .filter((line) => / CAP \S+ LS /.test(line))
    .flatMap((line) =>
      line
        .slice(line.indexOf(' :') + 2)
        .trim()
        .split(' '),
    )
    .map((cap) => cap.split('=')[0]!);
  client.send('CAP END');
  const welcome = await client.waitFor(/^(?:@\S+ )?:\S+ 001 /);
  return { caps, welcome };
}

/** Just enough of RFC 6455 for a client: a handshake, masked text frames out, unmasked frames in. */
async function webSocket(
  port: number,
  headers: Record<string, string>,
): Promise<{ status: number; responseHeaders: Record<string, string>; client?: IrcClient; accept: string }> {
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  const socket = tcpConnect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const request = [
    'GET / HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    '',
    '',
  ].join('\r\n');
  socket.write(request);

  let buffer = Buffer.alloc(0);
  const head = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const text = buffer.subarray(0, end).toString('latin1');
      buffer = buffer.subarray(end + 4);
      resolve(text);
    };
    socket.on('data', onData);
    socket.once('close', () => resolve(buffer.toString('latin1')));
    socket.once('error', reject);
    setTimeout(() => reject(new Error('no WebSocket handshake response')), 5000);
  });
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const responseHeaders = Object.fromEntries(
    headerLines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
  if (status !== 101) {
    socket.destroy();
    return { status, responseHeaders, accept };
  }

  const client = new IrcClient(
    (line) => {
      const payload = Buffer.from(line, 'utf8');
      const mask = randomBytes(4);
      const header =
        payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
      const masked = Buffer.from(payload.map((byte, index) => byte ^ mask[index % 4]!));
      socket.write(Buffer.concat([header, mask, masked]));
    },
    () => socket.destroy(),
  );
  const readFrames = (): void => {
    for (;;) {
      if (buffer.length < 2) return;
      const opcode = buffer[0]! & 0x0f;
      let length = buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + length) return;
      const payload = buffer.subarray(offset, offset + length);
      buffer = buffer.subarray(offset + length);
      // Each text frame carries one IRC line; close (8) and ping/pong frames carry none.
      if (opcode === 1 || opcode === 2) client.receive(payload.toString('utf8').replace(/\r?\n$/, ''));
      if (opcode === 8) client.closed(new Error('WebSocket closed by the server'));
    }
  };
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    readFrames();
  });
  socket.on('close', () => client.closed(new Error('connection closed')));
  readFrames();
  return { status, responseHeaders, client, accept };
}

/** Plays the control server's part of the link far enough for InspIRCd to count services as online. */
async function linkFakeServices(port: number, password: string): Promise<{ socket: Socket; lines: string[]; result: Promise<'linked' | string> }> {
  const socket = tcpConnect({ host: '127.0.0.1', port });
  const lines: string[] = [];
  const result = new Promise<'linked' | string>((resolve) => {
    let buffer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let index: number;
      while ((index = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, index).replace(/\r$/, '');
        buffer = buffer.slice(index + 1);
        lines.push(line);
        if (line.startsWith('SERVER ')) {
          // Like Anope and Atheme, announce the SASL mechanisms: that is what makes
          // InspIRCd tell connected clients about SASL (CAP NEW).
          socket.write(`:0AT BURST ${Math.floor(Date.now() / 1000)}\r\n:0AT METADATA * saslmechlist :PLAIN\r\n:0AT ENDBURST\r\n`);
        } else if (/^:\S+ ENDBURST$/.test(line)) {
          resolve('linked');
        } else if (line.startsWith('ERROR')) {
          resolve(line);
        }
        const ping = /^:(\S+) PING (\S+)$/.exec(line);
        if (ping !== null) socket.write(`:0AT PONG 0AT ${ping[1]}\r\n`);
      }
    });
    socket.on('close', () => resolve('closed'));
  });
  socket.on('error', () => undefined);
  socket.write(
    'CAPAB START 1205\r\nCAPAB CAPABILITIES :CASEMAPPING=ascii\r\nCAPAB END\r\n' + `SERVER ${SERVICES.name} ${password} 0 0AT :Alloquy test services\r\n`,
  );
  return { socket, lines, result };
}

const workDirs: string[] = [];
async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'alloquy-inspircd-'));
  workDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(workDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('InspIRCd linked for the control server', () => {
  let ircd: InspircdHandle;
  const clients: IrcClient[] = [];
  const track = (client: IrcClient): IrcClient => {
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    ircd = await startInspircd({ workDir: await workDir(), services: SERVICES });
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await ircd?.stop();
  });

  it('registers TLS clients and offers the IRCv3 capabilities', async () => {
    const client = track(await IrcClient.tls(ircd.ports.ircTls));
    const { caps, welcome } = await register(client, 'tlsuser');
    expect(welcome).toMatch(/^:irc\.alloquy\.local 001 tlsuser /);
    for (const cap of [
      'message-tags',
      'server-time',
      'account-tag',
      'extended-join',
      'account-notify',
      'away-notify',
      'batch',
      'cap-notify',
      'chghost',
      'echo-message',
      'invite-notify',
      'labeled-response',
      'multi-prefix',
      'setname',
      'userhost-in-names',
    ]) {
      expect(caps).toContain(cap);
    }
    expect(caps).not.toContain('sts');
    await client.waitFor(/NOTICE tlsuser :\*\*\* You are connected to \S+ using TLS/);
  });

  it('registers plaintext clients on loopback and hides their address behind a cloak', async () => {
    const client = track(await IrcClient.plain(ircd.ports.irc));
    await register(client, 'plainuser');
    const host = await client.waitFor(/ 396 plainuser /);
    expect(host).toMatch(/ 396 plainuser alloquy-\S+ :is now your displayed host/);
    expect(host).not.toContain('127.0.0.1');
  });

  it('accepts WebSocket clients speaking text.inspircd.org', async () => {
    const { status, responseHeaders, client, accept } = await webSocket(ircd.ports.ircWs, {
      'Sec-WebSocket-Protocol': 'text.inspircd.org',
      Origin: 'https://app.alloquy.test',
    });
    expect(status).toBe(101);
    expect(responseHeaders['sec-websocket-accept']).toBe(accept);
    expect(responseHeaders['sec-websocket-protocol']).toBe('text.inspircd.org');
    track(client!);
    const { caps, welcome } = await register(client!, 'wsuser');
    expect(welcome).toMatch(/ 001 wsuser /);
    expect(caps).toContain('message-tags');
  });

  it('refuses WebSocket upgrades without an Origin header', async () => {
    const { status } = await webSocket(ircd.ports.ircWs, { 'Sec-WebSocket-Protocol': 'text.inspircd.org' });
    expect(status).toBe(400);
  });

  it('offers SASL once the services server has linked, and only with the right password', async () => {
    const before = track(await IrcClient.plain(ircd.ports.irc));
    expect((await register(before, 'early')).caps).not.toContain('sasl');

    const intruder = await linkFakeServices(ircd.ports.ircLink, 'wrong-password');
    expect(await intruder.result).toMatch(/^ERROR :.*(credentials|password|authori[sz])/i);
    intruder.socket.destroy();

    const services = await linkFakeServices(ircd.ports.ircLink, SERVICES.password);
    try {
      expect(await services.result).toBe('linked');
      // InspIRCd announces itself with its server id and protocol 1205 capabilities.
      expect(services.lines).toContain('CAPAB START 1205');
      expect(services.lines.some((line) => /^SERVER irc\.alloquy\.local \S+ 0 1AL :/.test(line))).toBe(true);
      expect(services.lines.some((line) => /^CAPAB CAPABILITIES .*CASEMAPPING=ascii/.test(line))).toBe(true);

      const after = track(await IrcClient.tls(ircd.ports.ircTls));
      expect((await register(after, 'late')).caps).toContain('sasl');
      // Clients already connected are told through cap-notify.
      await before.waitFor(/ CAP early NEW :sasl=PLAIN$/);
    } finally {
      services.socket.destroy();
    }
  });

  it('replays recent channel messages with server-time to a client that joins later', async () => {
    const speaker = track(await IrcClient.plain(ircd.ports.irc));
    await register(speaker, 'speaker');
    speaker.send('JOIN #history');
    await speaker.waitFor(/ 366 speaker #history /);
    speaker.send('PRIVMSG #history :remember this');

    const listener = track(await IrcClient.plain(ircd.ports.irc));
    listener.send('CAP REQ :server-time batch message-tags');
    await register(listener, 'listener');
    listener.send('JOIN #history');
    const replayed = await listener.waitFor(/PRIVMSG #history :remember this/);
    expect(replayed).toMatch(/^@\S*time=\d{4}-\d\d-\d\dT/);
  });

  it('lets 250 clients connect from loopback at once', async () => {
    const crowd = await Promise.all(Array.from({ length: 250 }, () => IrcClient.plain(ircd.ports.irc)));
    crowd.forEach(track);
    const started = Date.now();
    const results = await Promise.all(crowd.map((client, index) => register(client, `crowd${index}`)));
    expect(results).toHaveLength(250);
    // Registration completes on InspIRCd's once-a-second tick, not one client per tick.
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const client of crowd) client.close();
  });
});

describe('bare InspIRCd (no services link)', () => {
  let ircd: InspircdHandle;
  let dir: string;

  beforeAll(async () => {
    dir = await workDir();
    ircd = await startInspircd({ workDir: dir, limits: { fakelag: false, commandsPerSecond: 1000 } });
  });
  afterAll(async () => {
    await ircd?.stop();
  });

  it('serves clients without SASL and without a link listener', async () => {
    expect(ircd.linked).toBe(false);
    const client = await IrcClient.tls(ircd.ports.ircTls);
    try {
      const { caps } = await register(client, 'bareuser');
      expect(caps).not.toContain('sasl');
      expect(caps).toContain('server-time');
    } finally {
      client.close();
    }
    expect(await acceptsTcp('127.0.0.1', ircd.ports.ircLink)).toBe(false);
    const config = await readFile(ircd.configPath, 'utf8');
    expect(config).not.toMatch(/<link\b/);
  });

  it('stops cleanly and leaves no core file behind', async () => {
    const { pid } = ircd;
    await ircd.stop();
    const exit = await ircd.exited;
    // Debian's build may segfault while shutting down; that still counts as stopped.
    expect(exit.signal === 'SIGTERM' || exit.signal === 'SIGSEGV' || exit.code === 0).toBe(true);
    expect(() => process.kill(pid, 0)).toThrow();
    expect((await readdir(dir)).filter((file) => file.startsWith('core'))).toEqual([]);
    expect(await acceptsTcp('127.0.0.1', ircd.ports.irc)).toBe(false);
  });
});

describe('parseInspircdStartup', () => {
  it('finds listeners InspIRCd could not open (it keeps running without them)', () => {
    const output = [
      'InspIRCd Process ID: 23469',
      '',
      'Warning! Some of your listeners failed to bind:',
      '',
      '  127.0.0.1:38561: Address already in use.',
      '  Created from <bind> tag at /tmp/w6/inspircd.conf:56',
      '  [::]:6697: Permission denied.',
      '  Created from <bind> tag at /tmp/w6/inspircd.conf:54',
      '',
      'Hints:',
      '- For TCP/IP listeners try using a public IP address in <bind:address> instead',
      'Loading core modules ....................',
      "InspIRCd is now running as 'irc.alloquy.local'[1AL] with 20000 max open sockets",
    ].join('\n');
    expect(parseInspircdStartup(output)).toEqual({
      complete: true,
      listenFailures: ['127.0.0.1:38561 (Address already in use)', '[::]:6697 (Permission denied)'],
    });
    expect(parseInspircdStartup('Loading core modules ....')).toEqual({ complete: false, listenFailures: [] });
    // With several failures InspIRCd 3.15 says "listener" (its plural is backwards).
    expect(parseInspircdStartup('Warning! Some of your listener failed to bind:\n\n  [::]:6697: Address already in use.\n').listenFailures).toEqual([
      '[::]:6697 (Address already in use)',
    ]);
  });
});

describe('startInspircd failures', () => {
  it('reports a port that is taken, with the tail of the log', async () => {
    const blocker = await startInspircd({ workDir: await workDir() });
    try {
      await expect(startInspircd({ workDir: await workDir(), ports: { irc: blocker.ports.irc }, startTimeoutMs: 5000 })).rejects.toThrow(
        /did not become ready: InspIRCd could not listen on 127\.0\.0\.1:\d+ \(Address already in use\)[\s\S]*--- its output ---/,
      );
    } finally {
      await blocker.stop();
    }
  });
});
