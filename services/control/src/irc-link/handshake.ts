/**
 * The services link's handshake with the hub (we connect, InspIRCd accepts):
 *
 *   hub: CAPAB START 1205            us: CAPAB START 1205
 *   hub: CAPAB MODULES/MODSUPPORT/CHANMODES/USERMODES/CAPABILITIES, CAPAB END
 *   us:  CAPAB CAPABILITIES :CASEMAPPING=<hub's> CHALLENGE=<ours>, CAPAB END,
 *        SERVER <name> <password or AUTH:hmac> 0 <sid> :<description>
 *   hub: SERVER <name> <password or AUTH:hmac> 0 <sid> :<description>
 *   us:  BURST, UID <agent and every other pseudo-client>, METADATA * saslmechlist :PLAIN, ENDBURST
 *
 * after which the hub bursts and ServicesLink takes over. We never send CAPAB MODULES/
 * CHANMODES/USERMODES: InspIRCd compares those against its own and refuses the link on
 * mismatch; services send only CAPABILITIES, like Anope does.
 */
import type { IrcMessage, OutgoingMessage } from '@alloquy/protocol/irc';

import type { PseudoClients } from './pseudo-clients.js';
import { HubCapabilities, PROTOCOL_VERSION, isSid, linkPassword, newChallenge, safeEqual } from './protocol.js';
import { SASL_MECHANISMS } from './sasl.js';

/** Who we are to the hub, and whom we accept as the hub. */
export interface HandshakeIdentity {
  readonly serverName: string;
  readonly sid: string;
  readonly password: string;
  readonly description?: string;
  /** If set, a hub introducing itself under another name is refused. */
  readonly expectedHubName?: string;
}

/** The hub as its SERVER line introduced it. */
export interface HubServer {
  readonly name: string;
  readonly sid: string;
  readonly description: string;
}

/** What one line from the hub did to the negotiation. */
export type HandshakeStep =
  | { readonly kind: 'used' }
  /** Not usable here (unknown, malformed, repeated or out of order); nothing was sent. */
  | { readonly kind: 'ignored' }
  /** The hub cannot be linked with: close the connection. */
  | { readonly kind: 'refused'; readonly reason: string }
  /** The hub proved the password: send our burst. */
  | { readonly kind: 'accepted'; readonly hub: HubServer };

export class Handshake {
  private hubCapabilities: HubCapabilities | null = null;
  private ourChallenge = '';

  constructor(
    private readonly identity: HandshakeIdentity,
    private readonly send: (message: OutgoingMessage) => void,
  ) {}

  /** What the hub advertised in CAPAB on the current (or last) connection; null before the first. */
  get capabilities(): HubCapabilities | null {
    return this.hubCapabilities;
  }

  /** Start over for a new connection, with a fresh challenge. */
  reset(): void {
    this.hubCapabilities = new HubCapabilities();
    this.ourChallenge = newChallenge();
  }

  /** Our first line, once the socket is open. */
  begin(): void {
    this.send({ command: 'CAPAB', params: ['START', String(PROTOCOL_VERSION)] });
  }

  /** One line from the hub before it is accepted (ERROR is the caller's). */
  receive(message: IrcMessage): HandshakeStep {
    const capab = this.hubCapabilities;
    if (!capab) return { kind: 'used' };
    if (message.command === 'CAPAB') {
      // After CAPAB END our credentials are out; a repeated negotiation must not make us send them twice.
      if (capab.complete || !capab.accept(message.params)) return { kind: 'ignored' };
      if (message.params[0] === 'START' && capab.protocol < PROTOCOL_VERSION) {
        return { kind: 'refused', reason: `hub speaks protocol ${capab.protocol}, need ${PROTOCOL_VERSION}` };
      }
      if (message.params[0] === 'END') this.sendCredentials(capab);
      return { kind: 'used' };
    }
    if (message.command === 'SERVER' && capab.complete) return this.acceptHubServer(message.params);
    return { kind: 'ignored' };
  }

  /** Our burst: BURST, every pseudo-client, the SASL mechanisms, ENDBURST. */
  burst(clients: PseudoClients): void {
    const source = this.identity.sid;
    this.send({ source, command: 'BURST', params: [String(Math.floor(Date.now() / 1000))] });
    clients.introduceAll();
    // The hub advertises `sasl=<this list>` in CAP LS.
    this.send({ source, command: 'METADATA', params: ['*', 'saslmechlist', SASL_MECHANISMS.join(',')] });
    this.send({ source, command: 'ENDBURST' });
  }

  private sendCredentials(capab: HubCapabilities): void {
    const caps = [`CHALLENGE=${this.ourChallenge}`];
    const casemapping = capab.capabilities.get('CASEMAPPING');
    // InspIRCd refuses a link whose CASEMAPPING differs; we adopt the hub's.
    if (casemapping !== undefined && /^[A-Za-z0-9-]+$/.test(casemapping)) caps.unshift(`CASEMAPPING=${casemapping}`);
    this.send({ command: 'CAPAB', params: ['CAPABILITIES', caps.join(' ')] });
    this.send({ command: 'CAPAB', params: ['END'] });
    const { serverName, sid, password, description } = this.identity;
    this.send({
      command: 'SERVER',
      params: [serverName, linkPassword(password, capab.capabilities.get('CHALLENGE')), '0', sid, description ?? 'Alloquy services'],
    });
  }

  /** The hub's `SERVER <name> <password> <hops> <sid> :<description>`. */
  private acceptHubServer(params: readonly string[]): HandshakeStep {
    const [name, password, , sid] = params;
    const description = params[params.length - 1] ?? '';
    if (params.length < 5 || name === undefined || password === undefined || sid === undefined || !isSid(sid)) {
      return { kind: 'refused', reason: 'malformed SERVER from hub' };
    }
    const expected = this.hubCapabilities?.capabilities.has('CHALLENGE') ? linkPassword(this.identity.password, this.ourChallenge) : this.identity.password;
    if (!safeEqual(password, expected)) return { kind: 'refused', reason: 'hub sent the wrong link password' };
    const expectedName = this.identity.expectedHubName;
    if (expectedName !== undefined && expectedName.toLowerCase() !== name.toLowerCase()) {
      return { kind: 'refused', reason: `hub is ${name}, expected ${expectedName}` };
    }
    if (sid === this.identity.sid) return { kind: 'refused', reason: `hub uses our server id ${sid}` };
    return { kind: 'accepted', hub: { name, sid, description } };
  }
}
