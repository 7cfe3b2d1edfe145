/**
 * The inbound path on its own: parsing, routing by phase, the loop guard and the counts. What
 * each handler does with a line is covered through ServicesLink (link.test.ts, channels.test.ts).
 */
import { describe, expect, it } from 'vitest';

import { serializeMessage, type IrcMessage } from '@alloquy/protocol/irc';
import { TestAuthenticator } from '../../test/irc-link/test-authenticator.js';
import type { LinkContext } from './handlers.js';
import { InboundDispatcher } from './inbound.js';
import type { LinkPhase } from './link-types.js';
import { silentLogger } from './logger.js';
import { NetworkState } from './network-state.js';
import { SaslAgent } from './sasl.js';

function setup(phase: LinkPhase) {
  const state = new NetworkState();
  state.addServer({ sid: '1HB', name: 'irc.test.local', description: 'hub', uplink: null });
  const sent: string[] = [];
  const negotiated: IrcMessage[] = [];
  const hubErrors: string[] = [];
  const routes = { phase, negotiateResult: true, sendThrows: false };
  const context: LinkContext = {
    state,
    ourSid: '0AS',
    ourName: 'services.test.local',
    hubSid: () => '1HB',
    sasl: new SaslAgent({ authenticator: new TestAuthenticator(new Map()), transport: { sendSasl: () => undefined, setAccount: () => undefined } }),
    log: silentLogger,
    capabilities: () => null,
    send: (message) => {
      if (routes.sendThrows) throw new Error('bug');
      sent.push(serializeMessage(message));
    },
    ourClient: () => undefined,
    onOurClientKilled: () => undefined,
    onOurClientSaved: () => undefined,
    onHubEndBurst: () => undefined,
    onPong: () => undefined,
    onSquitUs: () => undefined,
    onChatMessage: () => undefined,
    onChannelEvent: () => undefined,
    onAccountChange: () => undefined,
  };
  const inbound = new InboundDispatcher(
    {
      phase: () => routes.phase,
      hubSid: () => '1HB',
      ourSid: '0AS',
      isOurClient: (uid) => uid === '0ASAAAAAA',
      context,
      negotiate: (message) => (negotiated.push(message), routes.negotiateResult),
      onHubError: (text) => hubErrors.push(text),
    },
    silentLogger,
  );
  return { inbound, routes, sent, negotiated, hubErrors };
}

describe('InboundDispatcher', () => {
  it('hands ERROR to the link in any phase', () => {
    for (const phase of ['connecting', 'negotiating', 'up'] as const) {
      const { inbound, hubErrors, negotiated } = setup(phase);
      inbound.handle('ERROR :Closing link: bad password');
      expect(hubErrors).toEqual(['Closing link: bad password']);
      expect(negotiated).toEqual([]);
    }
  });

  it('routes every line to the handshake while negotiating, counting what it could not use', () => {
    const { inbound, routes, negotiated, sent } = setup('negotiating');
    inbound.handle('CAPAB START 1205');
    routes.negotiateResult = false;
    inbound.handle(':1HB PING 0AS');
    expect(negotiated.map((message) => message.command)).toEqual(['CAPAB', 'PING']);
    expect(sent).toEqual([]);
    expect(inbound.counters()).toMatchObject({ linesIn: 2, ignoredLines: 1 });
  });

  it.each(['idle', 'connecting', 'waiting', 'stopped'] as const)('ignores lines while %s', (phase) => {
    const { inbound, negotiated, sent } = setup(phase);
    inbound.handle(':1HB PING 0AS');
    expect(negotiated).toEqual([]);
    expect(sent).toEqual([]);
    expect(inbound.counters()).toMatchObject({ linesIn: 1, ignoredLines: 1 });
  });

  it.each(['bursting', 'up'] as const)("hands lines to their handler while %s; a line without source is the hub's", (phase) => {
    const { inbound, sent } = setup(phase);
    inbound.handle(':1HB PING 0AS');
    inbound.handle('PING 0AS');
    expect(sent).toEqual([':0AS PONG 1HB', ':0AS PONG 1HB']);
    expect(inbound.counters()).toEqual({ linesIn: 2, parseErrors: 0, unknownCommands: 0, ignoredLines: 0, handlerErrors: 0 });
  });

  it('never acts on a line claiming to come from us or one of our clients', () => {
    const { inbound, sent } = setup('up');
    inbound.handle(':0AS PING 0AS');
    inbound.handle(':0ASAAAAAA PRIVMSG #room :loop');
    expect(sent).toEqual([]);
    expect(inbound.counters().ignoredLines).toBe(2);
  });

  it('counts unknown commands, unusable lines, unparseable lines and handler bugs, and never throws', () => {
    const { inbound, routes } = setup('up');
    inbound.handle(':1HB FROBNICATE x');
    inbound.handle(':7XX PING 0AS');
    inbound.handle('@bad;;key PING');
    inbound.handle(':1HB ' + 'x'.repeat(20_000));
    routes.sendThrows = true;
    expect(() => inbound.handle(':1HB PING 0AS')).not.toThrow();
    expect(inbound.counters()).toEqual({ linesIn: 5, parseErrors: 2, unknownCommands: 1, ignoredLines: 1, handlerErrors: 1 });
  });
});
