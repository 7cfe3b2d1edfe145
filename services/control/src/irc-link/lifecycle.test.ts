/**
 * LinkLifecycle's phase machine with the real parts (handshake, pseudo-clients, SASL agent,
 * network state) against the scripted hub. ServicesLink's own tests (link.test.ts) cover the
 * same paths through the public API.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { serializeMessage, type OutgoingMessage } from '@alloquy/protocol/irc';
import { FakeHub, type FakeHubOptions } from '../../test/irc-link/fake-hub.js';
import { TestAuthenticator } from '../../test/irc-link/test-authenticator.js';
import { Handshake } from './handshake.js';
import { LinkLifecycle } from './lifecycle.js';
import type { ServicesLinkStatus } from './link-types.js';
import { silentLogger } from './logger.js';
import { NetworkState } from './network-state.js';
import { PseudoClients } from './pseudo-clients.js';
import { SaslAgent } from './sasl.js';

const PASSWORD = 'link-secret';
const TS = 1_700_000_000;
const BURST = [`:1HB UID 1HBAAAAAA ${TS} alice 10.0.0.1 cloak.a alice 10.0.0.1 ${TS} +i :Alice`];

const lifecycles: LinkLifecycle[] = [];
const hubs: FakeHub[] = [];

afterEach(async () => {
  for (const lifecycle of lifecycles.splice(0)) await lifecycle.stop('test over');
  for (const hub of hubs.splice(0)) await hub.close();
});

async function setup(hubOptions: Partial<FakeHubOptions> = {}) {
  const hub = new FakeHub({ password: PASSWORD, burst: BURST, ...hubOptions });
  hubs.push(hub);
  await hub.listen();
  const network = new NetworkState();
  const events: string[] = [];
  // The parts send through the lifecycle's connection, which exists once it is constructed.
  const send = (message: OutgoingMessage): boolean => lifecycle.connection.write(serializeMessage(message));
  const identity = { sid: '0AS', serverName: 'services.test.local', password: PASSWORD };
  const handshake = new Handshake(identity, send);
  const clients = new PseudoClients({ ...identity, network, capabilities: () => handshake.capabilities, send });
  clients.register({ nick: 'Alloquy' });
  const sasl = new SaslAgent({ authenticator: new TestAuthenticator(new Map()), transport: { sendSasl: () => undefined, setAccount: () => undefined } });
  const status = (): ServicesLinkStatus => ({
    state: lifecycle.isUp ? 'up' : 'down',
    phase: lifecycle.phase,
    since: new Date(lifecycle.since).toISOString(),
    hub: lifecycle.hub,
    usersKnown: network.users.size,
    serversKnown: network.servers.size,
    channelsKnown: network.channels.size,
    lastError: lifecycle.connection.lastError,
    pingRttMs: null,
    lastPongAt: null,
  });
  const lifecycle: LinkLifecycle = new LinkLifecycle(
    { ...identity, host: '127.0.0.1', port: hub.port, log: silentLogger, reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100, random: () => 1 },
    {
      network,
      handshake,
      clients,
      sasl,
      send,
      emit: (event, ...args) => {
        if (event === 'state') events.push((args[0] as ServicesLinkStatus).phase);
        else if (event === 'down') events.push(`down: ${(args[0] as { reason: string }).reason}`);
        else events.push(event);
      },
      status,
    },
  );
  lifecycles.push(lifecycle);
  return { hub, lifecycle, network, events };
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('LinkLifecycle', () => {
  it("goes through every phase to up on the hub's ENDBURST, and only then", async () => {
    const { lifecycle, network, events } = await setup();
    expect(lifecycle.phase).toBe('idle');
    lifecycle.relink('too early');
    expect(lifecycle.phase).toBe('idle');
    lifecycle.start();
    await waitUntil(() => lifecycle.isUp, 'the link');
    expect(events).toEqual(['connecting', 'negotiating', 'bursting', 'up', 'up']);
    expect(lifecycle.hub).toEqual({ name: 'irc.test.local', sid: '1HB' });
    expect(lifecycle.connection.lastError).toBeNull();
    expect(network.users.has('1HBAAAAAA')).toBe(true);
    expect(network.users.has('0ASAAAAAA')).toBe(true);
    // Starting again while running does nothing.
    lifecycle.start();
    expect(lifecycle.connection.counters().connectAttempts).toBe(1);
  });

  it('after a drop: down, forgets the network, waits, and comes back as a relink', async () => {
    const { hub, lifecycle, network, events } = await setup();
    lifecycle.start();
    await waitUntil(() => lifecycle.isUp, 'the link');
    const upSince = lifecycle.since;
    events.length = 0;
    hub.dropConnection();
    await waitUntil(() => events.includes('waiting'), 'the backoff');
    expect(events).toEqual(['down: connection closed', 'waiting']);
    expect(lifecycle.isUp).toBe(false);
    expect(lifecycle.hub).toBeNull();
    expect(lifecycle.since).toBeGreaterThanOrEqual(upSince);
    expect(network.users.size).toBe(0);
    await waitUntil(() => lifecycle.isUp, 'the relink');
    expect(lifecycle.relinks).toBe(1);
  });

  it('closes on a refused handshake and keeps trying, never up, never down', async () => {
    const { lifecycle, events } = await setup({ wrongPassword: true });
    lifecycle.start();
    await waitUntil(() => lifecycle.connection.counters().connectAttempts >= 3, 'three attempts');
    expect(lifecycle.connection.lastError).toBe('hub sent the wrong link password');
    expect(events.slice(0, 5)).toEqual(['connecting', 'negotiating', 'waiting', 'connecting', 'negotiating']);
    expect(events).not.toContain('up');
    expect(events.some((event) => event.startsWith('down'))).toBe(false);
  });

  it('relink drops the connection with its reason and reconnects', async () => {
    const { lifecycle, events } = await setup();
    lifecycle.start();
    await waitUntil(() => lifecycle.isUp, 'the link');
    lifecycle.relink('operator asked');
    await waitUntil(() => events.includes('down: operator asked'), 'the drop');
    await waitUntil(() => lifecycle.relinks === 1 && lifecycle.isUp, 'the relink');
  });

  it('stop while still connecting closes the socket once it opens and never reconnects', async () => {
    const { hub, lifecycle, events } = await setup();
    lifecycle.start();
    expect(lifecycle.phase).toBe('connecting');
    await lifecycle.stop('changed my mind');
    expect(lifecycle.phase).toBe('stopped');
    // Long enough for the socket to open, and for several reconnects at 20-100 ms if one were scheduled.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(lifecycle.phase).toBe('stopped');
    expect(events).not.toContain('negotiating');
    expect(events).not.toContain('waiting');
    expect(lifecycle.connection.counters().connectAttempts).toBe(1);
    expect(lifecycle.connection.isOpen).toBe(false);
    expect(hub.connections.length).toBeLessThanOrEqual(1);
  });

  it('stop says SQUIT, ends the connection and does not come back; stopping again is harmless', async () => {
    const { hub, lifecycle, events } = await setup();
    lifecycle.start();
    await waitUntil(() => lifecycle.isUp, 'the link');
    await lifecycle.stop('maintenance');
    expect(hub.lastConnection.at(-1)).toBe(':0AS SQUIT services.test.local maintenance');
    expect(events.slice(-2)).toEqual(['stopped', 'down: connection closed']);
    await lifecycle.stop('again');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(lifecycle.phase).toBe('stopped');
    expect(lifecycle.connection.counters().connectAttempts).toBe(1);
  });

  it('stop while waiting cancels the next attempt', async () => {
    const { hub, lifecycle } = await setup();
    lifecycle.start();
    await waitUntil(() => lifecycle.isUp, 'the link');
    hub.dropConnection();
    await waitUntil(() => lifecycle.phase === 'waiting', 'the backoff');
    await lifecycle.stop('bye');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(lifecycle.phase).toBe('stopped');
    expect(lifecycle.connection.counters().connectAttempts).toBe(1);
  });
});
