import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { parseLine, serializeMessage, type IrcMessage, type OutgoingMessage } from '@alloquy/protocol/irc';
import { FAKE_HUB_CHANMODES, FAKE_HUB_USERMODES } from '../../test/irc-link/fake-hub.js';
import { Handshake, type HandshakeIdentity } from './handshake.js';
import { NetworkState } from './network-state.js';
import { PseudoClients } from './pseudo-clients.js';

const IDENTITY: HandshakeIdentity = { serverName: 'services.test.local', sid: '0AS', password: 'link-secret' };

function line(raw: string): IrcMessage {
  const parsed = parseLine(raw);
  if (!parsed.ok) throw new Error(`bad test line ${raw}`);
  return parsed.message;
}

function hmac(password: string, challenge: string): string {
  return `AUTH:${createHmac('sha256', password).update(challenge).digest('base64').replace(/=+$/, '')}`;
}

function setup(identity: HandshakeIdentity = IDENTITY) {
  const sent: string[] = [];
  const handshake = new Handshake(identity, (message: OutgoingMessage) => {
    sent.push(serializeMessage(message));
  });
  handshake.reset();
  return { handshake, sent };
}

/** The hub's CAPAB as InspIRCd 3.15 sends it (shortened), optionally with a challenge. */
function capab(handshake: Handshake, challenge?: string): void {
  const caps = `NICKMAX=30 CASEMAPPING=ascii${challenge ? ` CHALLENGE=${challenge}` : ''}`;
  for (const raw of [
    'CAPAB START 1205',
    `CAPAB CHANMODES :${FAKE_HUB_CHANMODES}`,
    `CAPAB USERMODES :${FAKE_HUB_USERMODES}`,
    `CAPAB CAPABILITIES :${caps}`,
    'CAPAB END',
  ]) {
    expect(handshake.receive(line(raw))).toEqual({ kind: 'used' });
  }
}

/** Our challenge, from the CAPAB CAPABILITIES we sent. */
function ourChallenge(sent: string[]): string {
  const match = /CHALLENGE=(\S+)/.exec(sent.find((raw) => raw.startsWith('CAPAB CAPABILITIES')) ?? '');
  if (!match) throw new Error('no challenge sent');
  return match[1]!;
}

describe('Handshake negotiation', () => {
  it('opens with CAPAB START and answers CAPAB END with its capabilities and credentials', () => {
    const { handshake, sent } = setup({ ...IDENTITY, description: 'Test services' });
    handshake.begin();
    capab(handshake);
    expect(sent[0]).toBe('CAPAB START 1205');
    expect(sent[1]).toMatch(/^CAPAB CAPABILITIES :CASEMAPPING=ascii CHALLENGE=[A-Za-z0-9]+$/);
    expect(sent.slice(2)).toEqual(['CAPAB END', 'SERVER services.test.local link-secret 0 0AS :Test services']);
    expect(handshake.capabilities?.channelModeLetter('op')).toBe('o');
  });

  it("answers the hub's challenge with an HMAC and accepts the HMAC of ours", () => {
    const { handshake, sent } = setup();
    capab(handshake, 'hub-challenge');
    expect(sent.at(-1)).toBe(`SERVER services.test.local ${hmac('link-secret', 'hub-challenge')} 0 0AS :Alloquy services`);
    const answer = hmac('link-secret', ourChallenge(sent));
    expect(handshake.receive(line(`SERVER irc.test.local ${answer} 0 1HB :The hub`))).toEqual({
      kind: 'accepted',
      hub: { name: 'irc.test.local', sid: '1HB', description: 'The hub' },
    });
  });

  it('refuses the plaintext password when it offered a challenge', () => {
    const { handshake } = setup();
    capab(handshake, 'hub-challenge');
    expect(handshake.receive(line('SERVER irc.test.local link-secret 0 1HB :The hub'))).toEqual({
      kind: 'refused',
      reason: 'hub sent the wrong link password',
    });
  });

  it('uses a fresh challenge per connection', () => {
    const { handshake, sent } = setup();
    capab(handshake, 'c');
    const first = ourChallenge(sent);
    sent.length = 0;
    handshake.reset();
    capab(handshake, 'c');
    expect(ourChallenge(sent)).not.toBe(first);
  });

  it('does not adopt a CASEMAPPING that would not fit its token', () => {
    const { handshake, sent } = setup();
    for (const raw of ['CAPAB START 1205', 'CAPAB CAPABILITIES :CASEMAPPING=a,b', 'CAPAB END']) handshake.receive(line(raw));
    expect(sent[0]).toMatch(/^CAPAB CAPABILITIES CHALLENGE=[A-Za-z0-9]+$/);
  });

  it('refuses a hub speaking an older protocol', () => {
    const { handshake } = setup();
    expect(handshake.receive(line('CAPAB START 1202'))).toEqual({ kind: 'refused', reason: 'hub speaks protocol 1202, need 1205' });
  });

  it('ignores SERVER before CAPAB END, CAPAB after it, and anything else', () => {
    const { handshake, sent } = setup();
    expect(handshake.receive(line('SERVER irc.test.local link-secret 0 1HB :early'))).toEqual({ kind: 'ignored' });
    capab(handshake);
    const credentials = sent.length;
    expect(handshake.receive(line('CAPAB END'))).toEqual({ kind: 'ignored' });
    expect(handshake.receive(line('CAPAB START 1205'))).toEqual({ kind: 'ignored' });
    expect(handshake.receive(line(':1HB PING 0AS'))).toEqual({ kind: 'ignored' });
    expect(sent).toHaveLength(credentials);
  });

  it.each([
    ['SERVER irc.test.local link-secret 0 1HB', 'malformed SERVER from hub'],
    ['SERVER irc.test.local link-secret 0 HUB :bad sid', 'malformed SERVER from hub'],
    ['SERVER irc.test.local wrong 0 1HB :The hub', 'hub sent the wrong link password'],
    ['SERVER irc.test.local link-secret 0 0AS :The hub', 'hub uses our server id 0AS'],
  ])('refuses %j', (raw, reason) => {
    const { handshake } = setup();
    capab(handshake);
    expect(handshake.receive(line(raw))).toEqual({ kind: 'refused', reason });
  });

  it('refuses a hub under an unexpected name, comparing without case', () => {
    const { handshake } = setup({ ...IDENTITY, expectedHubName: 'IRC.test.local' });
    capab(handshake);
    expect(handshake.receive(line('SERVER irc.test.local link-secret 0 1HB :ok')).kind).toBe('accepted');
    handshake.reset();
    capab(handshake);
    expect(handshake.receive(line('SERVER other.test.local link-secret 0 1HB :no'))).toEqual({
      kind: 'refused',
      reason: 'hub is other.test.local, expected IRC.test.local',
    });
  });

  it('does nothing before its first reset', () => {
    const sent: string[] = [];
    const handshake = new Handshake(IDENTITY, (message) => {
      sent.push(serializeMessage(message));
    });
    expect(handshake.capabilities).toBeNull();
    expect(handshake.receive(line('CAPAB END'))).toEqual({ kind: 'used' });
    expect(sent).toEqual([]);
  });
});

describe('Handshake burst', () => {
  it('sends BURST, every pseudo-client in order, the SASL mechanisms and ENDBURST', () => {
    const { handshake, sent } = setup();
    capab(handshake);
    const network = new NetworkState();
    const clients = new PseudoClients({
      sid: '0AS',
      serverName: 'services.test.local',
      network,
      capabilities: () => handshake.capabilities,
      send: (message) => sent.push(serializeMessage(message)),
    });
    clients.register({ nick: 'Alloquy' });
    clients.register({ nick: 'HistServ' });
    sent.length = 0;
    handshake.burst(clients);
    expect(sent).toHaveLength(5);
    expect(sent[0]).toMatch(/^:0AS BURST [0-9]+$/);
    expect(sent[1]).toMatch(/^:0AS UID 0ASAAAAAA 946684800 Alloquy /);
    expect(sent[2]).toMatch(/^:0AS UID 0ASAAAAAB 946684800 HistServ /);
    expect(sent.slice(3)).toEqual([':0AS METADATA * saslmechlist PLAIN', ':0AS ENDBURST']);
    expect(network.users.size).toBe(2);
  });
});
