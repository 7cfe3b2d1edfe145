/**
 * Fuzzing the inbound side: tens of thousands of seeded hostile lines into the parser and
 * into the link's inbound path (both the public entry point and the real socket), asserting
 * nothing throws, nothing crashes, and nothing malformed ever goes back out.
 * Change SEED to explore; a failing seed reproduces exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FakeHub } from '../../test/irc-link/fake-hub.js';
import { FuzzLineGenerator } from '../../test/irc-link/fuzz-lines.js';
import { seededRandom } from '@alloquy/protocol/testing';
import { TestAuthenticator } from '../../test/irc-link/test-authenticator.js';
import { parseLine, serializeMessage, type ParseErrorCode } from '@alloquy/protocol/irc';
import { ServicesLink } from './link.js';

const SEED = 20_26_11_21;
const PARSE_ERRORS: ReadonlySet<ParseErrorCode> = new Set([
  'empty',
  'nul-byte',
  'line-break',
  'tags-too-long',
  'body-too-long',
  'bad-tags',
  'bad-source',
  'no-command',
  'bad-command',
]);
/** Everything the link may ever send on its own or in reply to hub input. */
const COMMANDS_WE_SEND = new Set(['CAPAB', 'SERVER', 'BURST', 'UID', 'METADATA', 'ENDBURST', 'PING', 'PONG', 'ENCAP', 'IDLE', 'KILL', 'SQUIT']);

const context = {
  hubSid: '1HB',
  hubName: 'irc.test.local',
  ourSid: '0AS',
  ourName: 'services.test.local',
  agentUid: '0ASAAAAAA',
  knownUids: ['1HBAAAAAA', '1HBAAAAAB'],
};

describe('parser fuzz', () => {
  it('classifies 25,000 hostile lines without throwing, and everything it accepts round-trips', () => {
    const lines = new FuzzLineGenerator(SEED, context).lines(25_000);
    let accepted = 0;
    for (const line of lines) {
      const result = parseLine(line);
      if (!result.ok) {
        expect(PARSE_ERRORS.has(result.error), `${result.error} for ${JSON.stringify(line.slice(0, 80))}`).toBe(true);
        continue;
      }
      accepted++;
      const { message } = result;
      expect(message.command).toMatch(/^(?:[A-Z]+|[0-9]{3})$/);
      // Anything we accepted can be written back as one line that parses to the same message.
      const again = parseLine(serializeMessage(message, { maxBodyBytes: 1 << 20, maxTagsBytes: 1 << 20 }), { maxBodyBytes: 1 << 20, maxTagsBytes: 1 << 20 });
      expect(again.ok && again.message).toEqual(message);
    }
    expect(accepted).toBeGreaterThan(5000);
    expect(lines.length - accepted).toBeGreaterThan(5000);
  });

  it('survives pure random strings of every length', () => {
    const random = seededRandom(SEED + 1);
    for (let i = 0; i < 5000; i++) {
      const length = Math.floor(random() * 12_000);
      let text = '';
      for (let j = 0; j < length; j++) text += String.fromCharCode(Math.floor(random() * 0x10000));
      expect(() => parseLine(text)).not.toThrow();
    }
  });
});

describe('link inbound fuzz', () => {
  let hub: FakeHub;
  let link: ServicesLink;

  beforeAll(async () => {
    hub = new FakeHub({
      password: 'pw',
      burst: [
        `:1HB UID 1HBAAAAAA 1700000000 alice h h alice 10.0.0.1 1700000000 + :Alice`,
        `:1HB METADATA 1HBAAAAAA accountname :alice`,
        `:1HB UID 1HBAAAAAB 1700000000 bob h h bob 10.0.0.2 1700000000 + :Bob`,
      ],
    });
    await hub.listen();
    link = new ServicesLink({
      host: '127.0.0.1',
      port: hub.port,
      password: 'pw',
      serverName: context.ourName,
      sid: context.ourSid,
      authenticator: new TestAuthenticator(new Map([['alice', { password: 'pw' }]])),
      saslSessionTimeoutMs: 200,
      reconnectInitialDelayMs: 10,
      reconnectMaxDelayMs: 50,
    });
    const up = new Promise((resolve) => link.once('up', resolve));
    link.start();
    await up;
  });

  afterAll(async () => {
    await link.stop();
    await hub.close();
  });

  function everythingWeSentIsWellFormed(): void {
    for (const connection of hub.connections) {
      for (const line of connection) {
        const parsed = parseLine(line);
        expect(parsed.ok, `we sent an unparseable line: ${JSON.stringify(line)}`).toBe(true);
        if (parsed.ok) expect(COMMANDS_WE_SEND.has(parsed.message.command), `we sent ${line}`).toBe(true);
      }
    }
  }

  it('takes 25,000 hostile lines through handleInboundLine without throwing or erroring', async () => {
    const lines = new FuzzLineGenerator(SEED + 2, context).lines(25_000);
    const before = link.counters();
    for (let i = 0; i < lines.length; i++) {
      expect(() => link.handleInboundLine(lines[i]!)).not.toThrow();
      if (i % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const after = link.counters();
    expect(after.linesIn - before.linesIn).toBe(25_000);
    expect(after.handlerErrors).toBe(0);
    expect(after.parseErrors + after.unknownCommands + after.ignoredLines).toBeGreaterThan(before.parseErrors + 5000);
    // Untruthful input may have ended the link (ERROR, SQUIT of us); it must come back by itself.
    await waitForUp(link);
    everythingWeSentIsWellFormed();
  });

  it('takes random bytes, broken framing and hostile lines through the real socket', async () => {
    const random = seededRandom(SEED + 3);
    const generator = new FuzzLineGenerator(SEED + 4, { ...context, truthfulAboutUs: true });
    const before = link.counters();
    for (let i = 0; i < 5000; i++) {
      const roll = random();
      if (roll < 0.4) {
        hub.write(Buffer.from(Array.from({ length: Math.floor(random() * 800) }, () => Math.floor(random() * 256))));
      } else if (roll < 0.5) {
        hub.write(random() < 0.5 ? '\n' : '\r\n\r\n\n');
      } else {
        hub.write(`${generator.next()}${random() < 0.9 ? '\r\n' : '\n'}`);
      }
    }
    // A unique marker after the noise: once the link reports it, everything before it was read.
    const marker = new Promise<void>((resolve) => {
      const onMessage = (message: { text: string }): void => {
        if (message.text !== 'end-of-fuzz') return;
        link.off('message', onMessage);
        resolve();
      };
      link.on('message', onMessage);
    });
    hub.write('\r\n:1HBAAAAAA PRIVMSG #room :end-of-fuzz\r\n');
    await marker;
    const after = link.counters();
    expect(after.linesIn - before.linesIn).toBeGreaterThan(3000);
    expect(after.handlerErrors).toBe(0);
    expect(link.status().state).toBe('up');
    expect(after.relinks).toBe(before.relinks);
    everythingWeSentIsWellFormed();
  });
});

async function waitForUp(link: ServicesLink): Promise<void> {
  const deadline = Date.now() + 5000;
  while (link.status().state !== 'up') {
    if (Date.now() > deadline) throw new Error(`link did not come back: ${JSON.stringify(link.status())}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
