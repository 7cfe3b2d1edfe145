import { afterEach, describe, expect, it, vi } from 'vitest';

import { TestAuthenticator } from '../../test/irc-link/test-authenticator.js';
import { SaslAgent, decodePlain, isPublishableAccountName, type SaslAuthenticator, type SaslTransport } from './sasl.js';

const CLIENT = '1ALAAAAAC';

type Sent = { kind: 'sasl'; uid: string; type: string; data: string } | { kind: 'account'; uid: string; account: string };

function recorder(): SaslTransport & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    sendSasl: (uid, type, data) => sent.push({ kind: 'sasl', uid, type, data }),
    setAccount: (uid, account) => sent.push({ kind: 'account', uid, account }),
  };
}

function plain(authzid: string, authcid: string, password: string): string {
  return Buffer.from(`${authzid}\0${authcid}\0${password}`, 'utf8').toString('base64');
}

function chunks(base64: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < base64.length; i += 400) out.push(base64.slice(i, i + 400));
  if (base64.length % 400 === 0) out.push('+');
  return out;
}

/** Lets the authenticator's promise settle. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(
  authenticator: SaslAuthenticator = new TestAuthenticator(
    new Map([
      ['alice', { password: 'pw' }],
      ['dave', { password: 'pw', disabled: true }],
      ['Mixed', { password: 'pw', account: 'mixed' }],
      ['long', { password: 'x'.repeat(700) }],
    ]),
  ),
  options: { sessionTimeoutMs?: number; maxSessions?: number } = {},
) {
  const transport = recorder();
  const agent = new SaslAgent({ authenticator, transport, ...options });
  const start = (uid = CLIENT, mechanism = 'PLAIN'): void => {
    agent.handle([uid, '*', 'H', '127.0.0.1', '127.0.0.1', 'P']);
    agent.handle([uid, '*', 'S', mechanism]);
  };
  const respond = (base64: string, uid = CLIENT): void => {
    for (const chunk of chunks(base64)) agent.handle([uid, '0ASAAAAAA', 'C', chunk]);
  };
  return { agent, transport, start, respond };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('SaslAgent', () => {
  it('runs a PLAIN login: C + then the account, then D S', async () => {
    const authenticator = new TestAuthenticator(new Map([['alice', { password: 'pw' }]]));
    const { agent, transport, start, respond } = setup(authenticator);
    start();
    expect(transport.sent).toEqual([{ kind: 'sasl', uid: CLIENT, type: 'C', data: '+' }]);
    respond(plain('', 'alice', 'pw'));
    await settle();
    expect(transport.sent.slice(1)).toEqual([
      { kind: 'account', uid: CLIENT, account: 'alice' },
      { kind: 'sasl', uid: CLIENT, type: 'D', data: 'S' },
    ]);
    expect(authenticator.calls).toEqual([{ authcid: 'alice', ip: '127.0.0.1' }]);
    expect(agent.activeSessions).toBe(0);
    expect(agent.counters).toMatchObject({ started: 1, succeeded: 1, failed: 0 });
  });

  it('uses the account name the authenticator returns, not the typed login', async () => {
    const { transport, start, respond } = setup();
    start();
    respond(plain('Mixed', 'Mixed', 'pw'));
    await settle();
    expect(transport.sent).toContainEqual({ kind: 'account', uid: CLIENT, account: 'mixed' });
  });

  it.each([
    ['a wrong password', plain('', 'alice', 'nope')],
    ['an unknown account', plain('', 'nobody', 'pw')],
    ['a disabled account', plain('', 'dave', 'pw')],
    ['an authzid of someone else', plain('dave', 'alice', 'pw')],
    ['an empty password', plain('', 'alice', '')],
    ['an empty authcid', plain('', '', 'pw')],
    ['too few fields', Buffer.from('alice\0pw').toString('base64')],
    ['too many fields', Buffer.from('\0alice\0pw\0x').toString('base64')],
    ['invalid base64', 'not*base64'],
    ['bad padding', 'AGFsaWNlAHB3='],
    ['invalid UTF-8', Buffer.from([0, 0x61, 0, 0xff, 0xfe]).toString('base64')],
  ])('fails %s with D F and sets no account', async (_label, response) => {
    const { transport, start, respond } = setup();
    start();
    respond(response);
    await settle();
    expect(transport.sent.filter((s) => s.kind === 'account')).toEqual([]);
    expect(transport.sent.at(-1)).toEqual({ kind: 'sasl', uid: CLIENT, type: 'D', data: 'F' });
  });

  it('accepts an authzid equal to the authcid', async () => {
    const { transport, start, respond } = setup();
    start();
    respond(plain('alice', 'alice', 'pw'));
    await settle();
    expect(transport.sent.at(-1)).toEqual({ kind: 'sasl', uid: CLIENT, type: 'D', data: 'S' });
  });

  it('reassembles 400-character chunks, ending on a short chunk or "+"', async () => {
    const { transport, start, respond, agent } = setup();
    const long = plain('', 'long', 'x'.repeat(700));
    expect(long.length).toBeGreaterThan(800);
    start();
    respond(long);
    await settle();
    expect(transport.sent.at(-1)).toEqual({ kind: 'sasl', uid: CLIENT, type: 'D', data: 'S' });

    // A response of exactly 400 characters needs the "+" terminator before it is verified.
    const exact = plain('', 'alice', 'p'.repeat(292));
    expect(exact).toHaveLength(400);
    const uid = '1ALAAAAAD';
    start(uid);
    agent.handle([uid, '0ASAAAAAA', 'C', exact]);
    await settle();
    expect(transport.sent.filter((s) => s.uid === uid)).toHaveLength(1); // only C +
    agent.handle([uid, '0ASAAAAAA', 'C', '+']);
    await settle();
    expect(transport.sent.at(-1)).toEqual({ kind: 'sasl', uid, type: 'D', data: 'F' }); // wrong password, but verified
  });

  it('answers unsupported mechanisms with M PLAIN and D F', () => {
    const { transport, start } = setup();
    start(CLIENT, 'EXTERNAL');
    expect(transport.sent).toEqual([
      { kind: 'sasl', uid: CLIENT, type: 'M', data: 'PLAIN' },
      { kind: 'sasl', uid: CLIENT, type: 'D', data: 'F' },
    ]);
  });

  it('treats the mechanism name case-insensitively', () => {
    const { transport, start } = setup();
    start(CLIENT, 'plain');
    expect(transport.sent).toEqual([{ kind: 'sasl', uid: CLIENT, type: 'C', data: '+' }]);
  });

  it('forgets a session the client aborted, without answering', async () => {
    const { transport, start, agent } = setup();
    start();
    agent.handle([CLIENT, '0ASAAAAAA', 'C', '*']);
    expect(agent.activeSessions).toBe(0);
    expect(agent.counters.aborted).toBe(1);
    agent.handle([CLIENT, '0ASAAAAAA', 'C', plain('', 'alice', 'pw')]);
    await settle();
    expect(transport.sent).toEqual([{ kind: 'sasl', uid: CLIENT, type: 'C', data: '+' }]);
  });

  it('drops a verdict that arrives after the client aborted or the link reset', async () => {
    const slow = new TestAuthenticator(new Map([['alice', { password: 'pw' }]]));
    slow.delayMs = 20;
    const { transport, start, respond, agent } = setup(slow);
    start();
    respond(plain('', 'alice', 'pw'));
    agent.handle([CLIENT, '0ASAAAAAA', 'C', '*']);
    start('1ALAAAAAE');
    respond(plain('', 'alice', 'pw'), '1ALAAAAAE');
    agent.reset();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(transport.sent.filter((s) => s.kind === 'account' || s.type === 'D')).toEqual([]);
  });

  it('fails and forgets sessions that exceed the timeout', () => {
    vi.useFakeTimers();
    const { transport, start, agent } = setup(undefined, { sessionTimeoutMs: 1000 });
    start();
    vi.advanceTimersByTime(999);
    expect(agent.activeSessions).toBe(1);
    vi.advanceTimersByTime(1);
    expect(agent.activeSessions).toBe(0);
    expect(transport.sent.at(-1)).toEqual({ kind: 'sasl', uid: CLIENT, type: 'D', data: 'F' });
    expect(agent.counters.timedOut).toBe(1);
  });

  it('refuses new sessions beyond the limit', () => {
    const { transport, start, agent } = setup(undefined, { maxSessions: 2 });
    start('1ALAAAAA1');
    start('1ALAAAAA2');
    start('1ALAAAAA3');
    expect(agent.activeSessions).toBe(2);
    expect(transport.sent.filter((s) => s.uid === '1ALAAAAA3')).toEqual([{ kind: 'sasl', uid: '1ALAAAAA3', type: 'D', data: 'F' }]);
  });

  it('fails oversized or malformed response chunks', () => {
    const { transport, start, agent } = setup();
    start();
    agent.handle([CLIENT, '0ASAAAAAA', 'C', 'A'.repeat(401)]);
    expect(transport.sent.at(-1)).toEqual({ kind: 'sasl', uid: CLIENT, type: 'D', data: 'F' });
    start();
    agent.handle([CLIENT, '0ASAAAAAA', 'C', 'ab cd']);
    expect(transport.sent.at(-1)).toEqual({ kind: 'sasl', uid: CLIENT, type: 'D', data: 'F' });
    start();
    for (let i = 0; i < 11; i++) agent.handle([CLIENT, '0ASAAAAAA', 'C', 'A'.repeat(400)]);
    expect(transport.sent.at(-1)).toEqual({ kind: 'sasl', uid: CLIENT, type: 'D', data: 'F' });
  });

  it('fails when the authenticator throws or returns an account unsafe for IRC', async () => {
    const throwing: SaslAuthenticator = { authenticate: () => Promise.reject(new Error('db down')) };
    const a = setup(throwing);
    a.start();
    a.respond(plain('', 'alice', 'pw'));
    await settle();
    expect(a.transport.sent.at(-1)).toEqual({ kind: 'sasl', uid: CLIENT, type: 'D', data: 'F' });

    const unsafe: SaslAuthenticator = { authenticate: async () => ({ ok: true, account: 'bad name' }) };
    const b = setup(unsafe);
    b.start();
    b.respond(plain('', 'alice', 'pw'));
    await settle();
    expect(b.transport.sent.filter((s) => s.kind === 'account')).toEqual([]);
    expect(b.transport.sent.at(-1)).toEqual({ kind: 'sasl', uid: CLIENT, type: 'D', data: 'F' });
  });

  it('ignores messages that fit no session, and D from the hub ends a session', () => {
    const { transport, start, agent } = setup();
    expect(agent.handle([CLIENT, '0ASAAAAAA', 'C', 'AAAA'])).toBe(false);
    expect(agent.handle([CLIENT])).toBe(false);
    expect(agent.handle([CLIENT, '*', 'Z', 'x'])).toBe(false);
    expect(agent.handle([CLIENT, '*', 'H'])).toBe(false);
    start();
    expect(agent.handle([CLIENT, '*', 'D', 'A'])).toBe(true);
    expect(agent.activeSessions).toBe(0);
    expect(transport.sent).toEqual([{ kind: 'sasl', uid: CLIENT, type: 'C', data: '+' }]);
  });
});

describe('decodePlain', () => {
  it('decodes UTF-8 credentials', () => {
    expect(decodePlain(plain('', 'zoë', 'pässwörd 🔑'))).toEqual({ authcid: 'zoë', password: 'pässwörd 🔑' });
  });
});

describe('isPublishableAccountName', () => {
  it.each([
    ['alice', true],
    ['zoë', true],
    ['a.b-c_d', true],
    ['', false],
    ['*', false],
    [':alice', false],
    ['two words', false],
    ['tab\there', false],
    ['x'.repeat(101), false],
  ])('%j → %s', (name, expected) => {
    expect(isPublishableAccountName(name)).toBe(expected);
  });
});
