import { Writable } from 'node:stream';

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import { TestAuthenticator } from '../../test/irc-link/test-authenticator.js';
import type { LinkLogger } from './logger.js';
import { SaslAgent } from './sasl.js';

describe('logging', () => {
  it('accepts a pino logger and never writes the password', async () => {
    const records: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        records.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const logger: LinkLogger = pino({ level: 'debug' }, sink).child({ component: 'irc-link' });
    const agent = new SaslAgent({
      authenticator: new TestAuthenticator(new Map([['alice', { password: 'hunter2' }]])),
      transport: { sendSasl: () => undefined, setAccount: () => undefined },
      logger,
    });
    for (const password of ['hunter2', 'wrong-secret']) {
      agent.handle(['1ALAAAAAC', '*', 'H', 'h', '10.1.2.3', 'P']);
      agent.handle(['1ALAAAAAC', '*', 'S', 'PLAIN']);
      agent.handle(['1ALAAAAAC', '0ASAAAAAA', 'C', Buffer.from(`\0alice\0${password}`).toString('base64')]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(records.map((r) => r.msg)).toEqual(['SASL login succeeded', 'SASL login failed']);
    expect(records[1]).toMatchObject({ component: 'irc-link', authcid: 'alice', ip: '10.1.2.3', reason: 'invalid' });
    const text = JSON.stringify(records);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('wrong-secret');
    expect(text).not.toContain(Buffer.from('\0alice\0hunter2').toString('base64'));
  });
});
