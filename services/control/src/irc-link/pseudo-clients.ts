/**
 * Our pseudo-clients (the services agent, HistServ, ...): their validation and UIDs, their
 * introduction to the hub (UID), and the handles the rest of the control server holds.
 *
 * A pseudo-client outlives connections: it is registered once, introduced in every burst and
 * again whenever the hub kills it. Its UID never changes; its nick only after a lost nick
 * collision (SAVE), when the hub names it after its UID.
 */
import type { OutgoingMessage } from '@alloquy/protocol/irc';

import { foldCase, type NetworkState } from './network-state.js';
import { UidGenerator, type HubCapabilities } from './protocol.js';

/** What a pseudo-client is introduced with. */
export interface PseudoClientSpec {
  readonly nick: string;
  readonly ident?: string;
  readonly realname?: string;
}

/** A pseudo-client of ours: its UID never changes; its nick only after a lost nick collision. */
export interface PseudoClientHandle {
  readonly uid: string;
  readonly nick: string;
}

export interface PseudoClient {
  readonly uid: string;
  nick: string;
  readonly ident: string;
  readonly realname: string;
  readonly signon: number;
}

/** What introducing a pseudo-client needs from the link. */
export interface PseudoClientsContext {
  readonly sid: string;
  /** Our server name: the host of every pseudo-client. */
  readonly serverName: string;
  readonly network: NetworkState;
  /** What the hub advertised on the current connection (its user modes), null before the first. */
  capabilities(): HubCapabilities | null;
  send(message: OutgoingMessage): void;
}

/** Nicks and idents go into UID as middle parameters. */
const PSEUDO_NICK = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]{0,29}$/;
const PSEUDO_IDENT = /^[A-Za-z0-9_.~-]{1,10}$/;

/**
 * Our pseudo-clients are introduced with this old nick timestamp so that, in a nick
 * collision, InspIRCd's older-wins rule keeps the services nick and renames the user.
 */
export const PSEUDO_CLIENT_NICK_TS = 946_684_800;

/** A live view of `client`: the nick changes with it. */
export function handleOf(client: PseudoClient): PseudoClientHandle {
  return {
    uid: client.uid,
    get nick() {
      return client.nick;
    },
  };
}

export class PseudoClients {
  private readonly uids: UidGenerator;
  /** In registration order (the agent first), by UID. */
  private readonly clients = new Map<string, PseudoClient>();

  constructor(private readonly ctx: PseudoClientsContext) {
    this.uids = new UidGenerator(ctx.sid);
  }

  /**
   * Validate a pseudo-client and give it the next UID; it is not introduced yet.
   * @throws Error on an invalid nick or ident, or a nick another pseudo-client has.
   */
  register(spec: PseudoClientSpec): PseudoClient {
    const ident = spec.ident ?? spec.nick.toLowerCase().slice(0, 10);
    if (!PSEUDO_NICK.test(spec.nick)) throw new Error(`invalid pseudo-client nick ${JSON.stringify(spec.nick)}`);
    if (!PSEUDO_IDENT.test(ident)) throw new Error(`invalid pseudo-client ident ${JSON.stringify(ident)}`);
    for (const other of this.clients.values()) {
      if (foldCase(other.nick) === foldCase(spec.nick)) throw new Error(`pseudo-client nick ${spec.nick} is taken`);
    }
    const client: PseudoClient = {
      uid: this.uids.allocate(),
      nick: spec.nick,
      ident,
      realname: (spec.realname ?? spec.nick).replace(/[\0\r\n]/g, ' ') || spec.nick,
      signon: Math.floor(Date.now() / 1000),
    };
    this.clients.set(client.uid, client);
    return client;
  }

  get(uid: string): PseudoClient | undefined {
    return this.clients.get(uid);
  }

  has(uid: string): boolean {
    return this.clients.has(uid);
  }

  /** How many of ours the network lists now (they are introduced per connection). */
  countInNetwork(): number {
    let count = 0;
    for (const uid of this.clients.keys()) if (this.ctx.network.users.has(uid)) count++;
    return count;
  }

  /** Introduce every pseudo-client, in registration order (our burst). */
  introduceAll(): void {
    for (const client of this.clients.values()) this.introduce(client);
  }

  /**
   * Send `client`'s UID line and list it in the network (the hub does not echo it back).
   */
  introduce(client: PseudoClient): void {
    const { sid, serverName, network } = this.ctx;
    network.addUser({
      uid: client.uid,
      nick: client.nick,
      nickTs: PSEUDO_CLIENT_NICK_TS,
      ident: client.ident,
      host: serverName,
      displayedHost: serverName,
      ip: '0.0.0.0',
      realname: client.realname,
      account: null,
      server: sid,
      signon: client.signon,
      channels: new Set(),
    });
    this.ctx.send({
      source: sid,
      command: 'UID',
      params: [
        client.uid,
        String(PSEUDO_CLIENT_NICK_TS),
        client.nick,
        serverName,
        serverName,
        client.ident,
        '0.0.0.0',
        String(client.signon),
        this.userModes(),
        client.realname,
      ],
    });
  }

  /** The hub killed `client`: it left every channel; introduce it again. */
  reintroduce(client: PseudoClient): void {
    this.ctx.network.removeUser(client.uid);
    this.introduce(client);
  }

  /** `client` lost a nick collision: the hub renamed it to its UID. */
  renameToUid(client: PseudoClient): void {
    client.nick = client.uid;
    const user = this.ctx.network.users.get(client.uid);
    if (user) user.nick = client.uid;
  }

  /**
   * Service usermodes, by name from the hub's CAPAB USERMODES: an unknown mode letter in UID
   * is a protocol error, so we only use modes the hub advertised, and only parameterless ones.
   */
  private userModes(): string {
    let letters = '';
    for (const name of ['servprotect', 'bot']) {
      const mode = this.ctx.capabilities()?.userModes.get(name);
      if (mode && mode.type === 'simple') letters += mode.letter;
    }
    return `+${letters}`;
  }
}
