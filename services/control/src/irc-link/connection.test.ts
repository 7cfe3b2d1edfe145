/**
 * HubConnection against a plain local TCP server: framing into lines, what it reports, its
 * deadlines (handshake, PONG), its backoff, and how it closes. No IRC is spoken here.
 */
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { HubConnection, reconnectDelay, type ConnectionHandler, type HubConnectionOptions } from './connection.js';
import type { LinkLogger } from './logger.js';

/** A TCP server that records what each connection receives and lets the test write to it. */
class Peer {
  readonly received: string[] = [];
  readonly sockets: net.Socket[] = [];
  private readonly server = net.createServer((socket) => {
    this.sockets.push(socket);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.received.push(chunk));
    socket.on('error', () => undefined);
  });
  port = 0;

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  get last(): net.Socket {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error('no connection yet');
    return socket;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Recorder extends ConnectionHandler {
  readonly events: string[];
  readonly lines: string[];
  pings: number;
  answerPing: boolean;
  onLine?: (raw: string) => void;
}

function recorder(): Recorder {
  const r: Recorder = {
    events: [],
    lines: [],
    pings: 0,
    answerPing: true,
    connecting: () => r.events.push('connecting'),
    opened: () => r.events.push('opened'),
    line: (raw) => {
      r.lines.push(raw);
      r.onLine?.(raw);
    },
    ping: () => {
      r.pings++;
      return r.answerPing;
    },
    closed: (reason) => r.events.push(`closed: ${reason}`),
  };
  return r;
}

function collectingLogger(): LinkLogger & { warnings: string[] } {
  const warnings: string[] = [];
  const ignore = (): void => undefined;
  return { warnings, debug: ignore, info: ignore, error: ignore, warn: (_obj, msg) => warnings.push(msg ?? '') };
}

const peers: Peer[] = [];
const connections: HubConnection[] = [];

afterEach(async () => {
  for (const connection of connections.splice(0)) {
    connection.cancelReconnect();
    await connection.end();
  }
  for (const peer of peers.splice(0)) await peer.close();
});

async function setup(options: Partial<HubConnectionOptions> = {}) {
  const peer = new Peer();
  peers.push(peer);
  await peer.listen();
  const handler = recorder();
  const log = collectingLogger();
  const connection = new HubConnection({ host: '127.0.0.1', port: peer.port, log, random: () => 1, ...options }, handler);
  connections.push(connection);
  return { peer, handler, log, connection };
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('reconnectDelay', () => {
  it('backs off exponentially with jitter up to the maximum', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => reconnectDelay(n, 500, 10_000, () => 1))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(reconnectDelay(0, 500, 10_000, () => 0)).toBe(250);
    expect(reconnectDelay(100, 500, 10_000, () => 0.5)).toBe(7500);
  });
});

describe('HubConnection', () => {
  it('reports the attempt and the open socket, frames lines and writes CRLF lines', async () => {
    const { peer, handler, connection } = await setup();
    expect(connection.isOpen).toBe(false);
    connection.open();
    expect(handler.events).toEqual(['connecting']);
    expect(connection.isOpen).toBe(true);
    await waitUntil(() => handler.events.includes('opened'), 'the connection');
    expect(connection.write('CAPAB START 1205')).toBe(true);
    peer.last.write('CAPAB START 1205\r\n\r\nCAPAB EN');
    peer.last.write('D\n');
    await waitUntil(() => handler.lines.length === 2 && peer.received.length > 0, 'the exchange');
    expect(handler.lines).toEqual(['CAPAB START 1205', 'CAPAB END']);
    expect(peer.received.join('')).toBe('CAPAB START 1205\r\n');
    expect(connection.counters()).toEqual({ linesOut: 1, droppedOut: 0, connectAttempts: 1, oversizedLines: 0 });
  });

  it('counts a write without a connection as dropped', async () => {
    const { connection } = await setup();
    expect(connection.write('PING x')).toBe(false);
    expect(connection.counters()).toMatchObject({ linesOut: 0, droppedOut: 1 });
  });

  it('reports a refused connection with the socket error as the reason', async () => {
    const { peer, handler, connection } = await setup();
    await peer.close();
    peers.splice(0);
    connection.open();
    await waitUntil(() => handler.events.some((event) => event.startsWith('closed')), 'the close');
    expect(handler.events.at(-1)).toMatch(/^closed: connect ECONNREFUSED/);
    expect(connection.lastError).toMatch(/ECONNREFUSED/);
    expect(connection.isOpen).toBe(false);
  });

  it('reports a close by the peer, and a drop or failure with its reason (only failures are logged)', async () => {
    const { peer, handler, log, connection } = await setup();
    connection.open();
    await waitUntil(() => peer.sockets.length === 1, 'the connection');
    peer.last.destroy();
    await waitUntil(() => handler.events.includes('closed: connection closed'), 'the close');

    connection.open();
    await waitUntil(() => handler.events.filter((event) => event === 'opened').length === 2, 'the second connection');
    connection.drop('relink requested');
    await waitUntil(() => handler.events.includes('closed: relink requested'), 'the drop');
    expect(log.warnings).toEqual([]);

    connection.open();
    await waitUntil(() => handler.events.filter((event) => event === 'opened').length === 3, 'the third connection');
    connection.fail('hub sent ERROR: bye');
    await waitUntil(() => handler.events.includes('closed: hub sent ERROR: bye'), 'the failure');
    expect(log.warnings).toEqual(['closing IRC services link']);
  });

  it('stops reading a chunk once a line closed the connection', async () => {
    const { peer, handler, connection } = await setup();
    handler.onLine = (raw) => {
      if (raw.startsWith('ERROR')) connection.fail('hub sent ERROR');
    };
    connection.open();
    await waitUntil(() => peer.sockets.length === 1, 'the connection');
    peer.last.write('PING a\r\nERROR :bye\r\nPING b\r\n');
    await waitUntil(() => handler.events.includes('closed: hub sent ERROR'), 'the close');
    expect(handler.lines).toEqual(['PING a', 'ERROR :bye']);
  });

  it('throws away an oversized line, logs and counts it, and carries on', async () => {
    const { peer, handler, log, connection } = await setup();
    connection.open();
    await waitUntil(() => peer.sockets.length === 1, 'the connection');
    peer.last.write('x'.repeat(140_000));
    await waitUntil(() => connection.counters().oversizedLines === 1, 'the overflow');
    peer.last.write('rest of it\r\nPING a\r\n');
    await waitUntil(() => handler.lines.length > 0, 'the next line');
    expect(handler.lines).toEqual(['PING a']);
    expect(log.warnings).toEqual(['oversized line from hub discarded']);
  });

  it('gives up on a connection not established in time', async () => {
    const { handler, connection } = await setup({ handshakeTimeoutMs: 50 });
    connection.open();
    await waitUntil(() => handler.events.some((event) => event.startsWith('closed')), 'the timeout');
    expect(handler.events.at(-1)).toBe('closed: handshake timed out');
  });

  it('once established: no handshake deadline, no last error, and PINGs whose PONGs give the round trip', async () => {
    const { handler, connection } = await setup({ handshakeTimeoutMs: 50, pingIntervalMs: 20, pingTimeoutMs: 1000 });
    connection.open();
    await waitUntil(() => handler.events.includes('opened'), 'the connection');
    connection.established();
    await waitUntil(() => handler.pings === 1, 'a PING');
    // An unanswered PING is not repeated.
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(handler.pings).toBe(1);
    connection.pongReceived();
    expect(connection.pingRttMs).toBeGreaterThanOrEqual(60);
    expect(connection.lastPongAt).not.toBeNull();
    await waitUntil(() => handler.pings === 2, 'the next PING');
    expect(handler.events).toEqual(['connecting', 'opened']);
    expect(connection.lastError).toBeNull();
  });

  it('drops the connection when a PONG does not come, but awaits none when nobody was pinged', async () => {
    const { handler, connection } = await setup({ pingIntervalMs: 20, pingTimeoutMs: 60 });
    handler.answerPing = false;
    connection.open();
    await waitUntil(() => handler.events.includes('opened'), 'the connection');
    connection.established();
    await waitUntil(() => handler.pings >= 4, 'several PING attempts');
    expect(handler.events).toEqual(['connecting', 'opened']);
    handler.answerPing = true;
    await waitUntil(() => handler.events.includes('closed: ping timeout'), 'the ping timeout');
    // A PONG after the close is not a round trip.
    connection.pongReceived();
    expect(connection.pingRttMs).toBeNull();
  });

  it('retries after a backoff that doubles per attempt and resets once established', async () => {
    const { connection } = await setup({ reconnectInitialDelayMs: 40, reconnectMaxDelayMs: 1000 });
    const waited: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      await new Promise<void>((resolve) => connection.reconnectLater(resolve));
      waited.push(Date.now() - started);
    }
    expect(waited[0]).toBeGreaterThanOrEqual(35);
    expect(waited[1]).toBeGreaterThanOrEqual(75);
    expect(waited[2]).toBeGreaterThanOrEqual(155);
    connection.established();
    const started = Date.now();
    await new Promise<void>((resolve) => connection.reconnectLater(resolve));
    // Back to the first delay (40 ms), well short of the next doubling (320 ms).
    expect(Date.now() - started).toBeLessThan(300);
  });

  it('does not retry once the retry is cancelled', async () => {
    const { connection } = await setup({ reconnectInitialDelayMs: 20 });
    let retried = false;
    connection.reconnectLater(() => {
      retried = true;
    });
    connection.cancelReconnect();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(retried).toBe(false);
  });

  it('ends gracefully: what was written arrives, then it reports the close', async () => {
    const { peer, handler, connection } = await setup();
    peer.sockets.length = 0;
    connection.open();
    await waitUntil(() => handler.events.includes('opened') && peer.sockets.length === 1, 'the connection');
    peer.last.on('end', () => peer.last.end());
    connection.write('SQUIT services.test.local :bye');
    await connection.end();
    expect(handler.events.at(-1)).toBe('closed: connection closed');
    expect(peer.received.join('')).toBe('SQUIT services.test.local :bye\r\n');
    await connection.end();
  });

  it('ignores an abandoned socket when a new attempt replaced it', async () => {
    const { peer, handler, connection } = await setup();
    connection.open();
    connection.open();
    await waitUntil(() => peer.sockets.length === 2 && handler.events.includes('opened'), 'both connections');
    peer.sockets[0]!.write('PING old\r\n');
    peer.sockets[0]!.destroy();
    peer.sockets[1]!.write('PING new\r\n');
    await waitUntil(() => handler.lines.length === 1, 'a line');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(handler.lines).toEqual(['PING new']);
    expect(handler.events).toEqual(['connecting', 'connecting', 'opened']);
    expect(connection.isOpen).toBe(true);
  });
});
