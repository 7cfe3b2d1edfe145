/**
 * m_alloquy_fastconnect (infra/inspircd/modules) against real InspIRCd 3 daemons started by
 * @alloquy/stack's startInspircd, with the real ServicesLink as SASL agent.
 *
 * InspIRCd 3 on its own sends 001 only from its background pass over users, which runs on the
 * first main-loop iteration after the wall-clock second changes. The module completes a
 * registration as soon as the client's last command makes it ready. These tests check that it
 * does (logins no longer wait for the pass) and that it never completes one that the core would
 * not: no 001 without NICK or USER, with CAP negotiation open or while SASL is in progress,
 * never twice, and never past the connect-class limits. Clients that quit halfway through
 * registration must not crash the server.
 *
 * Daemons: `fast` (the module, linked to our ServicesLink), `stock` (no module), `limited`
 * (the module, one connection per address) and `waitpong` (the module plus conn_waitpong).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePorts, startInspircd, type InspircdHandle, type InspircdPorts, type StartInspircdOptions } from '@alloquy/stack';
import { ServicesLink, type IrcMessage, type SaslAuthenticator, type SaslVerdict } from '../../src/irc-link/index.js';
import { RawIrcClient, chunkSaslResponse, connectWithSasl, describe as describeMessage } from './raw-client.js';
import { TestAuthenticator } from './test-authenticator.js';

const SERVICES_NAME = 'services.alloquy.local';
const SERVICES_SID = '0AS';
/** Longer than two of InspIRCd's background passes (they are at most about a second apart). */
const HOLD_MS = 2500;
/** Generous limit for anything the server should answer: a failure, not a measurement. */
const REPLY_MS = 5000;

/** The TestAuthenticator, with a per-account delay so a SASL exchange can be held open. */
class DelayingAuthenticator implements SaslAuthenticator {
  constructor(
    private readonly inner: TestAuthenticator,
    private readonly delays: ReadonlyMap<string, number>,
  ) {}

  async authenticate(authcid: string, password: string, ctx: { ip?: string }): Promise<SaslVerdict> {
    const delay = this.delays.get(authcid) ?? 0;
    if (delay > 0) await sleep(delay);
    return this.inner.authenticate(authcid, password, ctx);
  }
}

const authenticator = new DelayingAuthenticator(
  new TestAuthenticator(
    new Map([
      ['alice', { password: 'correct horse' }],
      ['slow', { password: 'slow-pw' }],
      ['pipelined', { password: 'pipelined-pw' }],
    ]),
  ),
  new Map([
    // Far longer than a background pass: the exchange stays open across several.
    ['slow', 1500],
    // Short, so the SASL result lands well inside the second the test aligns to.
    ['pipelined', 100],
  ]),
);

interface Daemon {
  ircd: InspircdHandle;
  workDir: string;
  /** The process has not exited. */
  alive(): boolean;
}

const daemons: Daemon[] = [];
const clients: RawIrcClient[] = [];
const sockets: net.Socket[] = [];

async function startDaemon(label: string, options: Omit<StartInspircdOptions, 'workDir' | 'ports'>, ports: InspircdPorts): Promise<Daemon> {
  for (let attempt = 1; ; attempt++) {
    const workDir = await mkdtemp(join(tmpdir(), `alloquy-fastconnect-${label}-`));
    let ircd: InspircdHandle;
    try {
      ircd = await startInspircd({ workDir, ...options, ...(attempt === 1 ? { ports } : {}) });
    } catch (error) {
      await rm(workDir, { recursive: true, force: true });
      // Another process (other test files run alongside) may have taken a port between
      // freePorts and InspIRCd's bind: try once more on ports picked afresh.
      if (attempt === 1 && /could not listen/.test(String(error))) continue;
      throw error;
    }
    let exited = false;
    void ircd.exited.then(() => {
      exited = true;
    });
    const daemon: Daemon = {
      ircd,
      workDir,
      alive: () => {
        if (exited) return false;
        try {
          process.kill(ircd.pid, 0);
          return true;
        } catch {
          return false;
        }
      },
    };
    daemons.push(daemon);
    return daemon;
  }
}

let nickCounter = 0;
/** Unique nicks: a quitting client's nick may not be free yet when the next one registers. */
function nick(base = 'fc'): string {
  return `${base}${++nickCounter}`;
}

async function connect(port: number): Promise<RawIrcClient> {
  const client = await RawIrcClient.connect(port);
  clients.push(client);
  return client;
}

const count = (client: RawIrcClient, command: string): number => client.received.filter((m) => m.command === command).length;
const commands = (client: RawIrcClient, wanted: readonly string[]): string[] =>
  client.received.map((m) => m.command).filter((command) => wanted.includes(command));
const transcript = (client: RawIrcClient): string => client.received.map(describeMessage).join('\n  ');
const isCap = (sub: string) => (m: IrcMessage) => m.command === 'CAP' && m.params[1] === sub;
const SASL_DONE = new Set(['903', '904', '905', '906', '907']);

/**
 * Sends `lines` in one write. RawIrcClient leaves Nagle's algorithm on, so a second write
 * sent before the server has acknowledged the first (it has nothing to answer to NICK) can
 * wait out a delayed ACK of 40 ms or more; real clients pipeline the same way.
 */
function sendLines(client: RawIrcClient, ...lines: string[]): void {
  client.send(lines.join('\r\n'));
}

/** NICK and USER, then wait for 001. */
async function plainLogin(port: number): Promise<RawIrcClient> {
  const client = await connect(port);
  const name = nick();
  sendLines(client, `NICK ${name}`, `USER ${name} 0 * :fast-connect test`);
  await client.waitForNumeric('001', REPLY_MS);
  return client;
}

/** CAP LS 302, NICK, USER, CAP REQ :`caps` and its ACK; CAP negotiation stays open. */
async function negotiateCaps(client: RawIrcClient, caps: string): Promise<void> {
  const name = nick();
  sendLines(client, 'CAP LS 302', `NICK ${name}`, `USER ${name} 0 * :fast-connect test`);
  await client.waitFor(isCap('LS'), REPLY_MS);
  client.send(`CAP REQ :${caps}`);
  const answer = await client.waitFor((m) => isCap('ACK')(m) || isCap('NAK')(m), REPLY_MS);
  if (answer.params[1] !== 'ACK') throw new Error(`CAP REQ :${caps} refused: ${describeMessage(answer)}`);
}

/** CAP negotiation with sasl, AUTHENTICATE PLAIN and its `+`: ready for the response. */
async function startSasl(port: number): Promise<RawIrcClient> {
  const client = await connect(port);
  await negotiateCaps(client, 'sasl');
  client.send('AUTHENTICATE PLAIN');
  await client.waitFor((m) => m.command === 'AUTHENTICATE' && m.params[0] === '+', REPLY_MS);
  return client;
}

/** The AUTHENTICATE lines carrying a PLAIN response. */
function plainResponse(authcid: string, password: string): string[] {
  const base64 = Buffer.from(`\0${authcid}\0${password}`, 'utf8').toString('base64');
  return chunkSaslResponse(base64).map((chunk) => `AUTHENTICATE ${chunk}`);
}

/** A whole SASL PLAIN login, CAP END once SASL has finished, up to 001. */
async function saslLogin(port: number, authcid: string, password: string): Promise<RawIrcClient> {
  const client = await startSasl(port);
  sendLines(client, ...plainResponse(authcid, password));
  await client.waitFor((m) => SASL_DONE.has(m.command), REPLY_MS);
  client.send('CAP END');
  await client.waitForNumeric('001', REPLY_MS);
  return client;
}

/** Milliseconds for `n` logins, one after the other, each quitting once it has its 001. */
async function sequentialLogins(n: number, login: () => Promise<RawIrcClient>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < n; i++) (await login()).quit();
  return performance.now() - started;
}

describe('m_alloquy_fastconnect against a real InspIRCd', () => {
  let fast: Daemon;
  let stock: Daemon;
  let limited: Daemon;
  let waitpong: Daemon;
  let link: ServicesLink;
  let linkDowns = 0;
  const linkPassword = randomBytes(24).toString('hex');

  beforeAll(async () => {
    // Start all four at once, on ports picked in one go so that they cannot collide with each
    // other. A failure still leaves the others in `daemons` for afterAll.
    const free = await freePorts(16);
    const ports = (i: number): InspircdPorts => ({
      irc: free[4 * i]!,
      ircTls: free[4 * i + 1]!,
      ircWs: free[4 * i + 2]!,
      ircLink: free[4 * i + 3]!,
    });
    const started = await Promise.allSettled([
      startDaemon('fast', { services: { name: SERVICES_NAME, password: linkPassword } }, ports(0)),
      startDaemon('stock', { fastConnect: false }, ports(1)),
      // The loopback class and the fallback class both allow one connection per address.
      startDaemon('limited', { limits: { loopbackMaxClients: 1, maxClientsPerIp: 1 } }, ports(2)),
      startDaemon('waitpong', { extraModules: ['conn_waitpong'] }, ports(3)),
    ]);
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    [fast, stock, limited, waitpong] = started.map((result) => (result as PromiseFulfilledResult<Daemon>).value) as [Daemon, Daemon, Daemon, Daemon];

    link = new ServicesLink({
      host: '127.0.0.1',
      port: fast.ircd.ports.ircLink,
      password: linkPassword,
      serverName: SERVICES_NAME,
      sid: SERVICES_SID,
      expectedHubName: fast.ircd.serverName,
      authenticator,
      pingIntervalMs: 1000,
      pingTimeoutMs: 5000,
      reconnectInitialDelayMs: 200,
      reconnectMaxDelayMs: 2000,
    });
    const up = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`services link not up: ${JSON.stringify(link.status())}`)), 15_000);
      link.once('up', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    link.start();
    await up;
    link.on('down', () => {
      linkDowns++;
    });
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    for (const socket of sockets) socket.destroy();
    await link?.stop();
    await Promise.all(daemons.map((daemon) => daemon.ircd.stop()));
    await Promise.all(daemons.map((daemon) => rm(daemon.workDir, { recursive: true, force: true })));
  });

  // ------------------------------------------------------------ it is fast
  // Run one at a time, before anything else loads the server. The bound is behavioural: the
  // stock server can complete at most one of these per background pass, i.e. per second.

  it('completes 10 sequential NICK/USER registrations in under 1 s in total', async () => {
    const took = await sequentialLogins(10, () => plainLogin(fast.ircd.ports.irc));
    expect(took).toBeLessThan(1000);
  });

  it('completes 10 sequential CAP LS 302 / REQ / END registrations in under 1 s in total', async () => {
    const took = await sequentialLogins(10, async () => {
      const client = await connect(fast.ircd.ports.irc);
      await negotiateCaps(client, 'server-time');
      client.send('CAP END');
      await client.waitForNumeric('001', REPLY_MS);
      return client;
    });
    expect(took).toBeLessThan(1000);
  });

  it('completes 10 sequential SASL PLAIN logins through the ServicesLink in under 1 s in total, 900 and 903 before 001', async () => {
    const outcomes: string[][] = [];
    const took = await sequentialLogins(10, async () => {
      const client = await saslLogin(fast.ircd.ports.irc, 'alice', 'correct horse');
      outcomes.push(commands(client, ['900', '903', '904', '906', '001']));
      return client;
    });
    expect(outcomes).toEqual(Array.from({ length: 10 }, () => ['900', '903', '001']));
    expect(took).toBeLessThan(1000);
  });

  it('completes 10 sequential conn_waitpong registrations (001 after the PONG) in under 1 s in total', async () => {
    const orders: string[][] = [];
    const took = await sequentialLogins(10, async () => {
      // RawIrcClient answers the registration PING itself; the module must act on that PONG,
      // which conn_waitpong consumes (a blocked command, not an executed one).
      const client = await plainLogin(waitpong.ircd.ports.irc);
      orders.push(commands(client, ['PING', '001']));
      return client;
    });
    expect(orders).toEqual(Array.from({ length: 10 }, () => ['PING', '001']));
    expect(took).toBeLessThan(1000);
  });

  // ------------------------------------------------------------ it is never early or wrong
  // These wait across background passes, so they run side by side.

  it.concurrent('stock server (control): 3 sequential registrations take more than 2 background passes', async ({ expect }) => {
    // Each completes on the first pass after its USER, and the next USER is sent after that
    // 001, so the third 001 comes at least two wall-clock second changes after the first USER.
    const took = await sequentialLogins(3, () => plainLogin(stock.ircd.ports.irc));
    expect(took).toBeGreaterThan(1900);
  });

  it.concurrent('sends no 001 to a client that never sends USER, and 001 once it does', async ({ expect }) => {
    const client = await connect(fast.ircd.ports.irc);
    client.send(`NICK ${nick()}`);
    await sleep(HOLD_MS);
    expect(count(client, '001'), transcript(client)).toBe(0);
    client.send('USER u 0 * :late user');
    await client.waitForNumeric('001', REPLY_MS);
    client.quit();
  });

  it.concurrent('sends no 001 to a client that never sends NICK, and 001 once it does', async ({ expect }) => {
    const client = await connect(fast.ircd.ports.irc);
    sendLines(client, 'USER u 0 * :no nick', 'CAP LS 302', 'CAP END');
    await client.waitFor(isCap('LS'), REPLY_MS);
    await sleep(HOLD_MS);
    expect(count(client, '001'), transcript(client)).toBe(0);
    client.send(`NICK ${nick()}`);
    await client.waitForNumeric('001', REPLY_MS);
    client.quit();
  });

  it.concurrent('sends no 001 while CAP negotiation is open (CAP LS 302, no CAP END), and 001 after CAP END', async ({ expect }) => {
    const client = await connect(fast.ircd.ports.irc);
    await negotiateCaps(client, 'server-time');
    await sleep(HOLD_MS);
    expect(count(client, '001'), transcript(client)).toBe(0);
    client.send('CAP END');
    await client.waitForNumeric('001', REPLY_MS);
    client.quit();
  });

  it.concurrent('sends no 001 during a slow SASL exchange: 903 first, and 001 only after CAP END', async ({ expect }) => {
    const client = await startSasl(fast.ircd.ports.irc);
    sendLines(client, ...plainResponse('slow', 'slow-pw'));
    // The authenticator takes 1.5 s: at least one background pass runs meanwhile.
    const first = await client.waitFor((m) => m.command === '001' || SASL_DONE.has(m.command), HOLD_MS + REPLY_MS);
    expect(first.command, transcript(client)).toBe('903');
    // Logged in, CAP still open: still no welcome across another pass.
    await sleep(1200);
    expect(count(client, '001'), transcript(client)).toBe(0);
    client.send('CAP END');
    await client.waitForNumeric('001', REPLY_MS);
    expect(commands(client, ['900', '903', '904', '906', '001'])).toEqual(['900', '903', '001']);
    client.quit();
  });

  it.concurrent('pipelined CAP END before the SASL result (5 clients): 903 before 001, never 906', async ({ expect }) => {
    // The module leaves a client with an open SASL exchange to the core (m_sasl aborts the
    // exchange with 906 when the client connects). The core completes such a client on its
    // next pass, so the client wins only if its SASL result comes first. To make that certain
    // rather than likely, each client sends its response and CAP END just after the server
    // has run the pass for the current second: CAP LIST is sent once the wall-clock second has
    // changed, and the server runs that second's pass before the iteration that writes the
    // reply. The result (100 ms authenticator) then comes long before the next pass. A module
    // that completed the client at CAP END would fail every time.
    const results = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const client = await startSasl(fast.ircd.ports.irc);
        for (let attempt = 0; ; attempt++) {
          const ms = Date.now() % 1000;
          await sleep(ms < 20 ? 20 - ms : 1020 - ms);
          const second = Math.floor(Date.now() / 1000);
          const mark = client.mark();
          client.send('CAP LIST');
          await client.waitFor(isCap('LIST'), REPLY_MS, mark);
          // Retry if this process was too slow to leave the SASL result most of a second.
          if (Math.floor(Date.now() / 1000) === second && Date.now() % 1000 < 400) break;
          if (attempt === 5) throw new Error('could not align to the start of a second');
        }
        sendLines(client, ...plainResponse('pipelined', 'pipelined-pw'), 'CAP END');
        await client.waitForNumeric('001', REPLY_MS);
        client.quit();
        return commands(client, ['900', '903', '904', '906', '001']);
      }),
    );
    expect(results).toEqual(Array.from({ length: 5 }, () => ['900', '903', '001']));
  });

  it.concurrent('sends exactly one welcome (one 001, one end of MOTD) across a command and two background passes', async ({ expect }) => {
    const client = await plainLogin(fast.ircd.ports.irc);
    // A command after registration must not complete it again either.
    client.send('PING :registered');
    await client.waitFor((m) => m.command === 'PONG', REPLY_MS);
    await sleep(HOLD_MS);
    expect(count(client, '001'), transcript(client)).toBe(1);
    expect(count(client, '376') + count(client, '422'), transcript(client)).toBe(1);
    client.quit();
  });

  it.concurrent('a labeled CAP END: the welcome is not put inside the labeled-response batch', async ({ expect }) => {
    const client = await connect(fast.ircd.ports.irc);
    await negotiateCaps(client, 'labeled-response batch');
    client.send('@label=fc1 CAP END');
    const welcome = await client.waitForNumeric('001', REPLY_MS);
    expect(welcome.tags.has('batch'), transcript(client)).toBe(false);
    expect(welcome.tags.has('label'), transcript(client)).toBe(false);
    client.quit();
  });

  it.concurrent('still enforces connect-class limits (one connection per address)', async ({ expect }) => {
    const port = limited.ircd.ports.irc;
    const first = await plainLogin(port);
    const second = await connect(port);
    const isVerdict = (m: IrcMessage): boolean => m.command === '001' || m.command === 'ERROR';
    // Our config counts clones when a client connects (<performance clonesonconnect="yes">),
    // so the ERROR comes before any input; sending NICK/USER into a socket the server is
    // closing could turn its close into a reset and lose the ERROR. With clones counted at
    // registration instead (in FullConnect, on the module's path), it takes NICK and USER.
    let verdict = await second.waitFor(isVerdict, 1000).catch(() => null);
    if (verdict === null && !second.isClosed) {
      sendLines(second, `NICK ${nick()}`, 'USER u 0 * :second');
      verdict = await second.waitFor(isVerdict, REPLY_MS).catch(() => null);
    }
    expect(verdict?.command, transcript(second)).toBe('ERROR');
    expect(verdict?.params[0]).toMatch(/No more connections allowed/);
    await second.closed;
    expect(count(second, '001')).toBe(0);
    // The limit counts connections, so the slot is free again once the first has gone.
    first.quit();
    await first.closed;
    const third = await plainLogin(port);
    third.quit();
  });

  // ------------------------------------------------------------ quitting mid-registration

  it('survives clients that quit or vanish in the middle of registration, and still serves logins', async () => {
    const port = fast.ircd.ports.irc;
    const patterns: Array<(socket: net.Socket, name: string) => void> = [
      // QUIT before USER.
      (socket, name) => socket.write(`NICK ${name}\r\nQUIT :nick only\r\n`),
      // QUIT in the same packet as the USER that completes registration.
      (socket, name) => socket.write(`NICK ${name}\r\nUSER q 0 * :q\r\nQUIT :same packet\r\n`),
      (socket, name) => socket.write(`CAP LS 302\r\nNICK ${name}\r\nUSER q 0 * :q\r\nQUIT :cap open\r\n`),
      (socket, name) => socket.write(`CAP LS 302\r\nNICK ${name}\r\nUSER q 0 * :q\r\nCAP END\r\nQUIT :after cap end\r\n`),
      // Reset right after the registering lines.
      (socket, name) => {
        socket.write(`NICK ${name}\r\nUSER q 0 * :q\r\n`);
        socket.resetAndDestroy();
      },
      // Socket destroyed in the middle of a line.
      (socket, name) => {
        socket.write(`NICK ${name}\r\nUSER q 0 * :q\r\nPRIVMSG x :`);
        socket.destroy();
      },
    ];
    const run = async (pattern: (socket: net.Socket, name: string) => void): Promise<void> => {
      const socket = net.connect({ host: '127.0.0.1', port });
      sockets.push(socket);
      socket.on('error', () => undefined);
      // Read (and drop) what the server sends, or its close is never seen.
      socket.resume();
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      pattern(socket, nick('q'));
      await Promise.race([closed, sleep(REPLY_MS)]);
      socket.destroy();
    };
    for (let round = 0; round < 4; round++) {
      await Promise.all(Array.from({ length: 30 }, (_, i) => run(patterns[i % patterns.length]!)));
    }
    // Let at least one background pass run over whatever they left behind.
    await sleep(1500);
    expect(fast.alive()).toBe(true);
    const plain = await plainLogin(port);
    plain.quit();
    const sasl = await connectWithSasl(port, nick('alice'), { authcid: 'alice', password: 'correct horse' });
    clients.push(sasl.client);
    expect(sasl.numerics).toEqual(['900', '903']);
    sasl.client.quit();
    expect(fast.alive()).toBe(true);
  });

  it('kept every daemon running and the services link up throughout, with nothing alarming in the log', async () => {
    expect(daemons.map((daemon) => daemon.alive())).toEqual(daemons.map(() => true));
    expect(link.status().state).toBe('up');
    expect(linkDowns).toBe(0);
    // InspIRCd flushes its log in batches, so this sees what it has written so far.
    const log = await readFile(fast.ircd.logPath, 'utf8').catch(() => '');
    const alarming = log.split('\n').filter((line) => /quitting user|segmentation fault|\bexception\b|\bBUG\b/i.test(line));
    expect(alarming).toEqual([]);
  });
});
