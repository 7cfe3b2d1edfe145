/**
 * The services link against a real InspIRCd 3 (started by @alloquy/stack's startInspircd
 * from the project's own config template, on free ports in a temp dir). The authenticator is
 * an in-memory stand-in for the accounts module; everything IRC is the real daemon.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startInspircd, type InspircdHandle } from '@alloquy/stack';
import { FuzzLineGenerator } from '../../test/irc-link/fuzz-lines.js';
import { RawIrcClient, connectWithSasl, type SaslOutcome } from '../../test/irc-link/raw-client.js';
import { TestAuthenticator } from '../../test/irc-link/test-authenticator.js';
import { ServicesLink } from './link.js';

const SERVICES_NAME = 'services.alloquy.local';
const SERVICES_SID = '0AS';
// base64 of "\0longpw\0" + 501 chars is 680 characters: one full chunk and a partial one.
const LONG_PASSWORD = 'p'.repeat(500) + '!';
// base64 of "\0longpw\0" + 292 chars is exactly 400 characters: the client must end with "AUTHENTICATE +".
const EXACT_CHUNK_PASSWORD = 'q'.repeat(292);

function waitForEvent(link: ServicesLink, event: 'up' | 'down', timeoutMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${timeoutMs} ms: ${JSON.stringify(link.status())}`)), timeoutMs);
    link.once(event, () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

let nickCounter = 0;
/** Unique nicks: a quitting client's nick may not be free yet when the next test connects. */
function nick(base: string): string {
  return `${base}${++nickCounter}`;
}

async function waitUntil(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('ServicesLink against a real InspIRCd', () => {
  let workDir: string;
  let ircd: InspircdHandle;
  let link: ServicesLink;
  const password = randomBytes(24).toString('hex');
  const authenticator = new TestAuthenticator(
    new Map([
      ['alice', { password: 'correct horse' }],
      ['carol', { password: 'carol-pw' }],
      ['dave', { password: 'dave-pw', disabled: true }],
      ['longpw', { password: LONG_PASSWORD }],
      ['exact', { password: EXACT_CHUNK_PASSWORD }],
      ['erin', { password: 'erin-pw' }],
    ]),
  );
  const clients: RawIrcClient[] = [];
  const track = (outcome: SaslOutcome): SaslOutcome => {
    clients.push(outcome.client);
    return outcome;
  };

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'alloquy-irc-link-'));
    ircd = await startInspircd({ workDir, services: { name: SERVICES_NAME, password } });
    link = new ServicesLink({
      host: '127.0.0.1',
      port: ircd.ports.ircLink,
      password,
      serverName: SERVICES_NAME,
      sid: SERVICES_SID,
      expectedHubName: ircd.serverName,
      authenticator,
      pingIntervalMs: 1000,
      pingTimeoutMs: 5000,
      reconnectInitialDelayMs: 200,
      reconnectMaxDelayMs: 2000,
    });
    const up = waitForEvent(link, 'up', 15_000);
    link.start();
    await up;
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await link?.stop();
    await ircd?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('links up, learns the hub and its modes from CAPAB', () => {
    const status = link.status();
    expect(status.state).toBe('up');
    expect(status.hub).toEqual({ name: 'irc.alloquy.local', sid: '1AL' });
    expect(status.lastError).toBeNull();
    expect(link.capabilities?.protocol).toBe(1205);
    expect(link.capabilities?.userModeLetter('servprotect')).toBe('k');
    expect(link.capabilities?.channelModes.get('op')).toMatchObject({ type: 'prefix', symbol: '@', letter: 'o' });
  });

  it('logs a client in with SASL PLAIN: 900 then 903, and the account is known network-wide', async () => {
    const { client, numerics, success } = track(await connectWithSasl(ircd.ports.irc, nick('alice'), { authcid: 'alice', password: 'correct horse' }));
    expect(success).toBe(true);
    expect(numerics).toEqual(['900', '903']);
    const loggedIn = client.received.find((m) => m.command === '900')!;
    expect(loggedIn.params[2]).toBe('alice');
    expect(authenticator.calls.at(-1)).toEqual({ authcid: 'alice', ip: '127.0.0.1' });
    await waitUntil(() => link.network.usersByAccount('alice').length === 1, 5000, 'alice in network state');
    client.quit();
  });

  it.each([
    ['wrong password', { authcid: 'alice', password: 'wrong' }],
    ['unknown account', { authcid: 'nobody', password: 'x' }],
    ['disabled account', { authcid: 'dave', password: 'dave-pw' }],
    ['authzid of another account', { authzid: 'carol', authcid: 'alice', password: 'correct horse' }],
  ])('refuses %s with 904', async (_label, credentials) => {
    const { client, numerics, success } = track(await connectWithSasl(ircd.ports.irc, nick('u'), credentials));
    expect(success).toBe(false);
    expect(numerics).toEqual(['904']);
    client.quit();
  });

  it('answers an unsupported mechanism with 908 (mechanism list) and 904', async () => {
    const { client, numerics } = track(await connectWithSasl(ircd.ports.irc, nick('mech'), { mechanism: 'EXTERNAL' }));
    expect(numerics).toEqual(['908', '904']);
    expect(client.received.find((m) => m.command === '908')!.params[1]).toBe('PLAIN');
    client.quit();
  });

  it('reassembles PLAIN responses sent in 400-byte chunks, including the "+" terminator', async () => {
    const long = track(await connectWithSasl(ircd.ports.irc, nick('longpw'), { authcid: 'longpw', password: LONG_PASSWORD }));
    expect(long.success).toBe(true);
    const exact = track(await connectWithSasl(ircd.ports.irc, nick('exact'), { authcid: 'exact', password: EXACT_CHUNK_PASSWORD }));
    expect(Buffer.from(`\0exact\0${EXACT_CHUNK_PASSWORD}`).toString('base64')).toHaveLength(400);
    expect(exact.success).toBe(true);
    long.client.quit();
    exact.client.quit();
  });

  it("lets another client see the account tag on a logged-in user's channel message", async () => {
    const alice = track(await connectWithSasl(ircd.ports.irc, nick('alice'), { authcid: 'alice', password: 'correct horse' })).client;
    const carol = track(await connectWithSasl(ircd.ports.irc, nick('carol'), { authcid: 'carol', password: 'carol-pw' })).client;
    alice.send('JOIN #room');
    await alice.waitFor((m) => m.command === '366');
    carol.send('JOIN #room');
    const join = await alice.waitFor((m) => m.command === 'JOIN' && m.params[1] === 'carol');
    expect(join.params[0]).toBe('#room'); // extended-join: JOIN <channel> <account> :<realname>
    alice.send('PRIVMSG #room :hello from alice');
    const seen = await carol.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'hello from alice');
    expect(seen.tags.get('account')).toBe('alice');
    alice.quit();
    carol.quit();
  });

  it('disconnectAccount logs out and kills every online session of the account', async () => {
    const first = track(await connectWithSasl(ircd.ports.irc, nick('erin1'), { authcid: 'erin', password: 'erin-pw' })).client;
    const second = track(await connectWithSasl(ircd.ports.irc, nick('erin2'), { authcid: 'erin', password: 'erin-pw' })).client;
    const bystander = track(await connectWithSasl(ircd.ports.irc, nick('carol'), { authcid: 'carol', password: 'carol-pw' })).client;
    await waitUntil(() => link.network.usersByAccount('erin').length === 2, 5000, 'both erin sessions known');

    expect(link.disconnectAccount('erin', 'Account disabled')).toBe(2);

    for (const client of [first, second]) {
      const error = await client.waitFor((m) => m.command === 'ERROR');
      expect(error.params[0]).toMatch(/Account disabled/);
      await client.closed;
    }
    expect(link.network.usersByAccount('erin')).toHaveLength(0);
    bystander.send('PING :still-here');
    await bystander.waitFor((m) => m.command === 'PONG' && m.params.includes('still-here'));
    expect(link.disconnectAccount('erin', 'again')).toBe(0);
    bystander.quit();
  });

  it('survives 20,000 hostile lines on its inbound path, stays linked and still logs clients in', async () => {
    const witness = track(await connectWithSasl(ircd.ports.irc, nick('witness'), { authcid: 'carol', password: 'carol-pw' })).client;
    await waitUntil(() => link.network.usersByAccount('carol').length === 1, 5000, 'witness known');
    let downs = 0;
    const onDown = (): void => {
      downs++;
    };
    link.on('down', onDown);
    const before = link.counters();
    const generator = new FuzzLineGenerator(0xa110c0, {
      hubSid: '1AL',
      hubName: 'irc.alloquy.local',
      ourSid: SERVICES_SID,
      ourName: SERVICES_NAME,
      agentUid: link.agentClient.uid,
      knownUids: [...link.network.users.keys()],
      truthfulAboutUs: true,
    });
    const lines = generator.lines(20_000);
    for (let i = 0; i < lines.length; i++) {
      link.handleInboundLine(lines[i]!);
      // Let the socket breathe so the hub's reaction to anything we sent arrives meanwhile.
      if (i % 2000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const after = link.counters();
    expect(after.linesIn - before.linesIn).toBeGreaterThanOrEqual(20_000);
    expect(after.parseErrors).toBeGreaterThan(before.parseErrors);
    expect(after.handlerErrors).toBe(before.handlerErrors);

    // Give InspIRCd time to act on whatever we answered, then prove the link is alive:
    // two fresh PING/PONG round trips and a full SASL login.
    const fuzzEnded = Date.now();
    await waitUntil(() => Date.parse(link.status().lastPongAt ?? '0') > fuzzEnded + 1000, 8000, 'PONGs after the fuzz');
    expect(link.status().state).toBe('up');
    expect(downs).toBe(0);
    const probe = track(await connectWithSasl(ircd.ports.irc, nick('probe'), { authcid: 'alice', password: 'correct horse' }));
    expect(probe.numerics).toEqual(['900', '903']);
    witness.send('PING :alive');
    await witness.waitFor((m) => m.command === 'PONG' && m.params.includes('alive'));
    link.off('down', onDown);
    probe.client.quit();
    witness.quit();
  });

  it('keeps clients connected when our link drops, and relinks', async () => {
    const alice = track(await connectWithSasl(ircd.ports.irc, nick('alice'), { authcid: 'alice', password: 'correct horse' })).client;
    alice.send('JOIN #stay');
    await alice.waitFor((m) => m.command === '366');
    const down = waitForEvent(link, 'down', 5000);
    const up = waitForEvent(link, 'up', 10_000);
    link.relink('test: socket destroyed');
    await down;
    await up;
    expect(link.counters().relinks).toBeGreaterThanOrEqual(1);
    alice.send('PING :after-relink');
    await alice.waitFor((m) => m.command === 'PONG' && m.params.includes('after-relink'));
    expect(alice.isClosed).toBe(false);
    // The hub re-bursts alice with her account.
    await waitUntil(() => link.network.usersByAccount('alice').length >= 1, 5000, 'alice re-burst with account');
    const again = track(await connectWithSasl(ircd.ports.irc, nick('again'), { authcid: 'carol', password: 'carol-pw' }));
    expect(again.success).toBe(true);
    again.client.quit();
    alice.quit();
  });

  it('comes back within seconds after InspIRCd restarts on the same ports, and SASL works again', async () => {
    const down = waitForEvent(link, 'down', 10_000);
    await ircd.stop();
    await down;
    expect(link.status().state).toBe('down');
    // Listen before restarting: under load the link can be back before startInspircd returns.
    const listeningAt = Date.now();
    const up = waitForEvent(link, 'up', 30_000);
    ircd = await startInspircd({ workDir, ports: ircd.ports, services: { name: SERVICES_NAME, password } });
    const restartedAt = Date.now();
    // From InspIRCd being up again to the link being up (negative when it beat startInspircd back).
    const took = listeningAt + (await up) - restartedAt;
    expect(took).toBeLessThan(5000);
    const { client, numerics } = track(await connectWithSasl(ircd.ports.irc, nick('alice'), { authcid: 'alice', password: 'correct horse' }));
    expect(numerics).toEqual(['900', '903']);
    client.quit();
  });
});
