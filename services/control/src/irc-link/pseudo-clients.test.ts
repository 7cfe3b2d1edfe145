import { describe, expect, it } from 'vitest';

import { serializeMessage } from '@alloquy/protocol/irc';
import { NetworkState } from './network-state.js';
import { HubCapabilities } from './protocol.js';
import { PSEUDO_CLIENT_NICK_TS, PseudoClients, handleOf } from './pseudo-clients.js';

function setup(usermodes: string | null = 'simple:bot=B simple:servprotect=k param-set:snomask=s') {
  const sent: string[] = [];
  const network = new NetworkState();
  let capabilities: HubCapabilities | null = null;
  if (usermodes !== null) {
    capabilities = new HubCapabilities();
    capabilities.accept(['USERMODES', usermodes]);
  }
  const clients = new PseudoClients({
    sid: '0AS',
    serverName: 'services.test.local',
    network,
    capabilities: () => capabilities,
    send: (message) => sent.push(serializeMessage(message)),
  });
  return { clients, network, sent };
}

describe('PseudoClients registration', () => {
  it('gives UIDs in order and derives a missing ident and realname from the nick', () => {
    const { clients, sent } = setup();
    const agent = clients.register({ nick: 'Alloquy', ident: 'alloquy', realname: 'Alloquy services' });
    const histserv = clients.register({ nick: 'HistServ' });
    expect(agent.uid).toBe('0ASAAAAAA');
    expect(histserv).toMatchObject({ uid: '0ASAAAAAB', nick: 'HistServ', ident: 'histserv', realname: 'HistServ' });
    expect(clients.get('0ASAAAAAB')).toBe(histserv);
    expect(clients.has('0ASAAAAAA')).toBe(true);
    expect(clients.has('0ASAAAAAC')).toBe(false);
    // Registering is not introducing.
    expect(sent).toEqual([]);
  });

  it('keeps CR, LF and NUL out of the realname', () => {
    const { clients } = setup();
    expect(clients.register({ nick: 'Bot', realname: 'a\r\nKILL x' }).realname).toBe('a  KILL x');
  });

  it.each([
    [{ nick: 'has space' }, /invalid pseudo-client nick/],
    [{ nick: '1digit' }, /invalid pseudo-client nick/],
    [{ nick: 'x'.repeat(31) }, /invalid pseudo-client nick/],
    [{ nick: 'Fine', ident: 'bad ident' }, /invalid pseudo-client ident/],
    [{ nick: 'Fine', ident: 'elevenchars' }, /invalid pseudo-client ident/],
  ])('refuses %j', (spec, error) => {
    expect(() => setup().clients.register(spec)).toThrow(error);
  });

  it('refuses a nick another pseudo-client has, in any case', () => {
    const { clients } = setup();
    clients.register({ nick: 'HistServ' });
    expect(() => clients.register({ nick: 'HISTSERV' })).toThrow(/is taken/);
  });
});

describe('PseudoClients introduction', () => {
  it("sends UID with the hub's parameterless service modes and lists the client in the network", () => {
    const { clients, network, sent } = setup();
    const client = clients.register({ nick: 'HistServ', realname: 'Alloquy history' });
    clients.introduce(client);
    expect(sent).toEqual([
      `:0AS UID 0ASAAAAAA ${PSEUDO_CLIENT_NICK_TS} HistServ services.test.local services.test.local histserv 0.0.0.0 ${client.signon} +kB :Alloquy history`,
    ]);
    expect(network.users.get(client.uid)).toMatchObject({
      nick: 'HistServ',
      nickTs: PSEUDO_CLIENT_NICK_TS,
      server: '0AS',
      account: null,
      host: 'services.test.local',
    });
    expect(clients.countInNetwork()).toBe(1);
  });

  it('leaves out service modes the hub did not advertise or that take a parameter', () => {
    const { clients, sent } = setup('param-set:servprotect=k simple:invisible=i');
    clients.introduce(clients.register({ nick: 'Bot' }));
    expect(sent[0]).toMatch(/ \+ Bot$/);
  });

  it('sends plain + before the hub described its modes', () => {
    const { clients, sent } = setup(null);
    clients.introduce(clients.register({ nick: 'Bot' }));
    expect(sent[0]).toMatch(/ \+ Bot$/);
  });

  it('introduces everyone in registration order', () => {
    const { clients, sent } = setup();
    clients.register({ nick: 'One' });
    clients.register({ nick: 'Two' });
    clients.introduceAll();
    expect(sent.map((raw) => raw.split(' ')[4])).toEqual(['One', 'Two']);
    expect(clients.countInNetwork()).toBe(2);
  });

  it('reintroduces a killed client out of every channel', () => {
    const { clients, network, sent } = setup();
    const client = clients.register({ nick: 'HistServ' });
    clients.introduce(client);
    network.joinChannel('#room', 1, client.uid, 'o');
    clients.reintroduce(client);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toBe(sent[0]);
    expect(network.users.get(client.uid)?.channels.size).toBe(0);
    expect(network.findChannel('#room')).toBeUndefined();
  });

  it('renames a client that lost a nick collision to its UID, and its handle follows', () => {
    const { clients, network } = setup();
    const client = clients.register({ nick: 'HistServ' });
    const handle = handleOf(client);
    clients.introduce(client);
    clients.renameToUid(client);
    expect(handle).toEqual({ uid: '0ASAAAAAA', nick: '0ASAAAAAA' });
    expect(network.users.get(client.uid)?.nick).toBe('0ASAAAAAA');
  });

  it('counts only those of its clients the network lists', () => {
    const { clients, network } = setup();
    const one = clients.register({ nick: 'One' });
    clients.register({ nick: 'Two' });
    clients.introduce(one);
    expect(clients.countInNetwork()).toBe(1);
    network.clear();
    expect(clients.countInNetwork()).toBe(0);
  });
});
