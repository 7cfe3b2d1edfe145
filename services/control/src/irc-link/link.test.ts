/**
 * Unit tests of ServicesLink's own logic against a scripted hub (test/irc-link/fake-hub.ts).
 * The same behaviour against the real InspIRCd is covered by link.integration.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { FakeHub } from '../../test/irc-link/fake-hub.js';
import { TestAuthenticator } from '../../test/irc-link/test-authenticator.js';
import { IrcSerializeError } from '@alloquy/protocol/irc';
import { ServicesLink } from './link.js';
import type { ServicesLinkOptions } from './link-types.js';

const PASSWORD = 'link-secret';
const NAME = 'services.test.local';
const TS = Math.floor(Date.now() / 1000);
const BURST = [
  `:1HB SERVER leaf.test.local 2LF :Leaf server`,
  `:1HB UID 1HBAAAAAA ${TS} alice 10.0.0.1 cloak.a alice 10.0.0.1 ${TS} +ix :Alice A`,
  `:1HB METADATA 1HBAAAAAA accountname :alice`,
  `:1HB UID 1HBAAAAAB ${TS} bob 10.0.0.2 cloak.b bob 10.0.0.2 ${TS} +i :Bob B`,
  `:2LF UID 2LFAAAAAA ${TS} carol 10.0.0.3 cloak.c carol 10.0.0.3 ${TS} +s +cC :Carol C`,
  `:2LF METADATA 2LFAAAAAA accountname :alice`,
  `:1HB FJOIN #room ${TS} +nt :o,1HBAAAAAA:0 ,1HBAAAAAB:3 v,2LFAAAAAA:1`,
];

const links: ServicesLink[] = [];
const hubs: FakeHub[] = [];

afterEach(async () => {
  for (const link of links.splice(0)) await link.stop();
  for (const hub of hubs.splice(0)) await hub.close();
});

async function startHub(options: Partial<ConstructorParameters<typeof FakeHub>[0]> = {}): Promise<FakeHub> {
  const hub = new FakeHub({ password: PASSWORD, burst: BURST, ...options });
  hubs.push(hub);
  await hub.listen();
  return hub;
}

function createLink(hub: FakeHub, overrides: Partial<ServicesLinkOptions> = {}): ServicesLink {
  const link = new ServicesLink({
    host: '127.0.0.1',
    port: hub.port,
    password: PASSWORD,
    serverName: NAME,
    sid: '0AS',
    authenticator: new TestAuthenticator(new Map([['alice', { password: 'pw' }]])),
    reconnectInitialDelayMs: 20,
    reconnectMaxDelayMs: 100,
    random: () => 1,
    ...overrides,
  });
  links.push(link);
  return link;
}

function once(link: ServicesLink, event: 'up' | 'down', timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event: ${JSON.stringify(link.status())}`)), timeoutMs);
    link.once(event, (value: unknown) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function upLink(hubOptions: Parameters<typeof startHub>[0] = {}, linkOptions: Partial<ServicesLinkOptions> = {}) {
  const hub = await startHub(hubOptions);
  const link = createLink(hub, linkOptions);
  const up = once(link, 'up');
  link.start();
  await up;
  return { hub, link };
}

describe('ServicesLink handshake', () => {
  it("negotiates CAPAB, authenticates, bursts its agent and goes up on the hub's ENDBURST", async () => {
    const { hub, link } = await upLink();
    const sent = hub.lastConnection;
    expect(sent[0]).toBe('CAPAB START 1205');
    expect(sent[1]).toMatch(/^CAPAB CAPABILITIES :CASEMAPPING=ascii CHALLENGE=[A-Za-z0-9]+$/);
    expect(sent.slice(2, 4)).toEqual(['CAPAB END', `SERVER ${NAME} ${PASSWORD} 0 0AS :Alloquy services`]);
    expect(sent[4]).toMatch(/^:0AS BURST [0-9]+$/);
    // Usermodes by name from the hub's CAPAB: servprotect=k, bot=B.
    expect(sent[5]).toMatch(new RegExp(`^:0AS UID 0ASAAAAAA 946684800 Alloquy ${NAME} ${NAME} alloquy 0\\.0\\.0\\.0 [0-9]+ \\+kB :Alloquy services$`));
    expect(sent.slice(6, 8)).toEqual([':0AS METADATA * saslmechlist PLAIN', ':0AS ENDBURST']);

    const status = link.status();
    expect(status).toMatchObject({ state: 'up', phase: 'up', hub: { name: 'irc.test.local', sid: '1HB' }, lastError: null });
    expect(status.usersKnown).toBe(3);
    expect(status.serversKnown).toBe(2);
    expect(link.capabilities?.channelModeLetter('op')).toBe('o');
    expect(link.agentClient).toEqual({ uid: '0ASAAAAAA', nick: 'Alloquy' });
  });

  it("uses HMAC challenge-response when the hub offers a challenge, and checks the hub's answer", async () => {
    const { hub, link } = await upLink({ challenge: 'hub-challenge-123' });
    const server = hub.lastConnection.find((line) => line.startsWith('SERVER '))!;
    expect(server.split(' ')[2]).toMatch(/^AUTH:[A-Za-z0-9+/]+$/);
    expect(link.status().state).toBe('up');
  });

  it('refuses a hub that answers with the wrong password and keeps retrying', async () => {
    const hub = await startHub({ challenge: 'c1', wrongPassword: true });
    const link = createLink(hub);
    link.start();
    await waitUntil(() => link.counters().connectAttempts > 2, 'several attempts');
    expect(link.status().state).toBe('down');
    expect(link.status().lastError).toBe('hub sent the wrong link password');
    expect(link.counters().connectAttempts).toBeGreaterThan(1);
  });

  it('refuses a hub with an unexpected name', async () => {
    const hub = await startHub();
    const link = createLink(hub, { expectedHubName: 'other.test.local' });
    link.start();
    await hub.waitForLine((line) => line.startsWith('SERVER '));
    await waitUntil(() => link.status().lastError !== null, 'the refusal');
    expect(link.status().lastError).toMatch(/expected other\.test\.local/);
    expect(link.status().state).toBe('down');
  });

  it('gives up on a hub speaking an older protocol', async () => {
    const hub = await startHub();
    const link = createLink(hub);
    link.start();
    await hub.waitForLine((line) => line === 'CAPAB START 1205');
    link.handleInboundLine('CAPAB START 1202');
    expect(link.status().lastError).toBe('hub speaks protocol 1202, need 1205');
  });
});

describe('ServicesLink network state', () => {
  it('tracks servers, users, accounts and channels from the burst and later changes', async () => {
    const { link } = await upLink();
    const net = link.network;
    expect(net.users.get('1HBAAAAAA')).toMatchObject({
      nick: 'alice',
      ident: 'alice',
      host: '10.0.0.1',
      displayedHost: 'cloak.a',
      ip: '10.0.0.1',
      account: 'alice',
      realname: 'Alice A',
    });
    expect(net.users.get('2LFAAAAAA')).toMatchObject({ nick: 'carol', realname: 'Carol C', server: '2LF' });
    expect(
      net
        .usersByAccount('ALICE')
        .map((u) => u.uid)
        .sort(),
    ).toEqual(['1HBAAAAAA', '2LFAAAAAA']);
    expect([...net.findChannel('#ROOM')!.members]).toEqual([
      ['1HBAAAAAA', 'o'],
      ['1HBAAAAAB', ''],
      ['2LFAAAAAA', 'v'],
    ]);

    link.handleInboundLine(':1HBAAAAAB NICK robert 1795292300');
    link.handleInboundLine(':1HBAAAAAB FHOST new.host');
    link.handleInboundLine(':1HB METADATA 1HBAAAAAA accountname :');
    link.handleInboundLine(':1HBAAAAAA PART #room :bye');
    expect(net.users.get('1HBAAAAAB')).toMatchObject({ nick: 'robert', displayedHost: 'new.host' });
    expect(net.findUserByNick('ROBERT')?.uid).toBe('1HBAAAAAB');
    expect(net.users.get('1HBAAAAAA')?.account).toBeNull();
    expect(net.findChannel('#room')!.members.has('1HBAAAAAA')).toBe(false);

    link.handleInboundLine('@time=2026-01-01T00:00:00.000Z :1HBAAAAAB QUIT :gone');
    expect(net.users.has('1HBAAAAAB')).toBe(false);
    link.handleInboundLine(':1HB SQUIT leaf.test.local :split');
    expect(net.servers.has('2LF')).toBe(false);
    expect(net.users.has('2LFAAAAAA')).toBe(false);
    expect(net.channels.size).toBe(0);
    expect(link.status().state).toBe('up');
  });

  it('counts what it cannot use instead of acting on it', async () => {
    const { link } = await upLink();
    const before = link.counters();
    link.handleInboundLine(':1HB UID 9ZZAAAAAA 1 x h h i 1.2.3.4 1 + :wrong server');
    link.handleInboundLine(':1HB UID 1HBAAAAAZ abc x h h i 1.2.3.4 1 + :bad ts');
    link.handleInboundLine(':1HBAAAAAZ QUIT :unknown user');
    link.handleInboundLine(':1HB FROBNICATE x');
    link.handleInboundLine('@bad;;key PING');
    const after = link.counters();
    expect(after.ignoredLines - before.ignoredLines).toBe(3);
    expect(after.unknownCommands - before.unknownCommands).toBe(1);
    expect(after.parseErrors - before.parseErrors).toBe(1);
    expect(link.network.users.has('9ZZAAAAAA')).toBe(false);
  });
});

describe('ServicesLink protocol duties', () => {
  it('answers PING from known servers only', async () => {
    const { hub, link } = await upLink();
    const pong = hub.waitForLine((line) => line === ':0AS PONG 1HB');
    hub.sendLine(':1HB PING 0AS');
    await pong;
    const sentBefore = link.counters().linesOut;
    link.handleInboundLine(':7XX PING 0AS');
    link.handleInboundLine(':1HB PING 5ZZ');
    expect(link.counters().linesOut).toBe(sentBefore);
  });

  it('pings the hub and records the round trip', async () => {
    const { link } = await upLink({}, { pingIntervalMs: 30 });
    await waitUntil(() => link.status().pingRttMs !== null, 'a PONG');
    expect(link.status().pingRttMs).toBeGreaterThanOrEqual(0);
    expect(link.status().lastPongAt).not.toBeNull();
  });

  it('declares the link dead when PINGs go unanswered, then reconnects', async () => {
    const { link } = await upLink({ answerPings: false }, { pingIntervalMs: 30, pingTimeoutMs: 80 });
    const down = (await once(link, 'down')) as { reason: string };
    expect(down.reason).toBe('ping timeout');
    await once(link, 'up');
    expect(link.counters().relinks).toBe(1);
  });

  it('reconnects after the hub drops the connection or sends ERROR', async () => {
    const { hub, link } = await upLink();
    hub.dropConnection();
    await once(link, 'down');
    await once(link, 'up');
    hub.sendLine('ERROR :Closing link: test');
    const down = (await once(link, 'down')) as { reason: string };
    expect(down.reason).toBe('hub sent ERROR: Closing link: test');
    await once(link, 'up');
    expect(link.counters().relinks).toBe(2);
  });

  it('leaves when the hub SQUITs us, and comes back', async () => {
    const { hub, link } = await upLink();
    hub.sendLine(':1HB SQUIT services.test.local :go away');
    const down = (await once(link, 'down')) as { reason: string };
    expect(down.reason).toBe('hub removed us: go away');
    await once(link, 'up');
  });

  it('keeps trying while the hub is down and links once it is back', async () => {
    const hub = await startHub();
    const port = hub.port;
    await hub.close();
    hubs.splice(hubs.indexOf(hub), 1);
    const link = createLink(hub);
    link.start();
    await waitUntil(() => link.counters().connectAttempts >= 3, 'three attempts');
    expect(link.status().lastError).toMatch(/ECONNREFUSED/);
    const revived = new FakeHub({ password: PASSWORD, burst: BURST });
    hubs.push(revived);
    await revived.listen(port);
    await once(link, 'up');
  });

  it('reintroduces its agent when it is killed, and answers IDLE for it', async () => {
    const { hub } = await upLink();
    const reintroduced = hub.waitForLine((line) => line.startsWith(':0AS UID 0ASAAAAAA '));
    hub.sendLine(':1HBAAAAAA KILL 0ASAAAAAA :oops');
    await reintroduced;
    const idle = hub.waitForLine((line) => line.startsWith(':0ASAAAAAA IDLE '));
    hub.sendLine(':1HBAAAAAA IDLE 0ASAAAAAA');
    const reply = await idle;
    expect(reply).toMatch(/^:0ASAAAAAA IDLE 1HBAAAAAA [0-9]+ 0$/);
  });

  it('emits chat messages routed to us', async () => {
    const { hub, link } = await upLink();
    const received = new Promise((resolve) => link.once('message', resolve));
    hub.sendLine('@msgid=abc;account=alice :1HBAAAAAA PRIVMSG #room :hello there');
    expect(await received).toEqual({
      command: 'PRIVMSG',
      source: '1HBAAAAAA',
      target: '#room',
      text: 'hello there',
      tags: new Map([
        ['msgid', 'abc'],
        ['account', 'alice'],
      ]),
    });
  });

  it('skips an oversized line without a newline and carries on', async () => {
    const { hub, link } = await upLink();
    const pong = hub.waitForLine((line) => line === ':0AS PONG 1HB');
    hub.write('x'.repeat(70_000));
    hub.write('still the same line\r\n:1HB PING 0AS\r\n');
    await pong;
    expect(link.status().state).toBe('up');
    expect(link.counters().parseErrors).toBe(1);
  });

  it("SASL: relays the exchange through ENCAP to the client's server", async () => {
    const { hub } = await upLink();
    const challenge = hub.waitForLine((line) => line === ':0AS ENCAP 1HB SASL 0ASAAAAAA 1HBAAAAAQ C +');
    hub.sendLine(':1HB ENCAP 0AS SASL 1HBAAAAAQ * H 10.0.0.9 10.0.0.9 P');
    hub.sendLine(':1HB ENCAP 0AS SASL 1HBAAAAAQ * S PLAIN');
    await challenge;
    const account = hub.waitForLine((line) => line === ':0AS METADATA 1HBAAAAAQ accountname alice');
    const done = hub.waitForLine((line) => line === ':0AS ENCAP 1HB SASL 0ASAAAAAA 1HBAAAAAQ D S');
    hub.sendLine(`:1HB ENCAP 0AS SASL 1HBAAAAAQ 0ASAAAAAA C ${Buffer.from('\0alice\0pw').toString('base64')}`);
    await Promise.all([account, done]);
    const sent = hub.lastConnection;
    expect(sent.indexOf(':0AS METADATA 1HBAAAAAQ accountname alice')).toBeLessThan(sent.indexOf(':0AS ENCAP 1HB SASL 0ASAAAAAA 1HBAAAAAQ D S'));
  });
});

describe('ServicesLink account control', () => {
  it('disconnectAccount clears the account and kills every session of it', async () => {
    const { hub, link } = await upLink();
    const lastKill = hub.waitForLine((line) => line === ':0ASAAAAAA KILL 2LFAAAAAA :Account disabled');
    expect(link.disconnectAccount('Alice', 'Account disabled')).toBe(2);
    await lastKill;
    const sent = hub.lastConnection.slice(-4);
    expect(sent).toEqual([
      ':0AS METADATA 1HBAAAAAA accountname :',
      ':0ASAAAAAA KILL 1HBAAAAAA :Account disabled',
      ':0AS METADATA 2LFAAAAAA accountname :',
      ':0ASAAAAAA KILL 2LFAAAAAA :Account disabled',
    ]);
    expect(link.network.usersByAccount('alice')).toEqual([]);
    expect(link.network.users.has('1HBAAAAAA')).toBe(false);
  });

  it('logout clears the account but leaves users connected', async () => {
    const { hub, link } = await upLink();
    const cleared = hub.waitForLine((line) => line === ':0AS METADATA 2LFAAAAAA accountname :');
    expect(link.logout('alice')).toBe(2);
    await cleared;
    expect(link.network.users.get('1HBAAAAAA')?.account).toBeNull();
    expect(link.network.users.has('1HBAAAAAA')).toBe(true);
  });

  it('does nothing while down', () => {
    const link = new ServicesLink({
      host: '127.0.0.1',
      port: 1,
      password: PASSWORD,
      serverName: NAME,
      sid: '0AS',
      authenticator: new TestAuthenticator(new Map()),
    });
    expect(link.disconnectAccount('alice', 'x')).toBe(0);
    expect(link.logout('alice')).toBe(0);
    expect(link.status()).toMatchObject({ state: 'down', phase: 'idle', hub: null });
  });

  it('refuses to send malformed lines', async () => {
    const { link } = await upLink();
    expect(() => link.send({ source: '0AS', command: 'PRIVMSG', params: ['#x', 'a\r\nQUIT'] })).toThrow(IrcSerializeError);
  });
});

describe('ServicesLink lifecycle', () => {
  it('stop() says goodbye with SQUIT and does not reconnect', async () => {
    const { hub, link } = await upLink();
    const attempts = link.counters().connectAttempts;
    const down = once(link, 'down');
    await link.stop('maintenance');
    await down;
    expect(hub.lastConnection.at(-1)).toBe(`:0AS SQUIT ${NAME} maintenance`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(link.counters().connectAttempts).toBe(attempts);
    expect(link.status().phase).toBe('stopped');
  });

  it('rejects invalid identities at construction', () => {
    const base = { host: '127.0.0.1', port: 1, password: 'pw', serverName: NAME, sid: '0AS', authenticator: new TestAuthenticator(new Map()) };
    expect(() => new ServicesLink({ ...base, sid: 'ABC' })).toThrow(/server id/);
    expect(() => new ServicesLink({ ...base, serverName: 'nodot' })).toThrow(/server name/);
    expect(() => new ServicesLink({ ...base, password: 'has space' })).toThrow(/password/);
    // The agent is a pseudo-client like any other: its nick and ident go into UID as middle parameters.
    expect(() => new ServicesLink({ ...base, agent: { nick: 'has space' } })).toThrow(/nick/);
    expect(() => new ServicesLink({ ...base, agent: { ident: 'bad ident' } })).toThrow(/ident/);
  });
});
