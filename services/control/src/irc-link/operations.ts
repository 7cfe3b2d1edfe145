/**
 * What services do to the network on their own initiative: channel operations from our
 * server or pseudo-clients (FJOIN, PART, FMODE, FTOPIC, KICK) and account operations
 * (logout, disconnect). ServicesLink exposes each of them.
 *
 * The hub never echoes these back, so each one also updates the network state the way the
 * hub applies it. All refuse (return false or 0, change nothing) when the link is not up or
 * the arguments do not fit the protocol: a line the hub cannot take drops the whole link.
 */
import { DEFAULT_MAX_BODY_BYTES, type OutgoingMessage } from '@alloquy/protocol/irc';

import type { LinkLogger } from './logger.js';
import { arePrefixModes, packModeChanges, type ModeChange } from './modes.js';
import type { NetworkState } from './network-state.js';
import { sanitizeText, type HubCapabilities } from './protocol.js';
import type { PseudoClients } from './pseudo-clients.js';

/** What the operations read and do; ServicesLink provides it. */
export interface OperationsContext {
  readonly ourSid: string;
  readonly ourName: string;
  readonly network: NetworkState;
  readonly clients: PseudoClients;
  readonly log: LinkLogger;
  /** Whether the hub finished its burst on the current connection. */
  isUp(): boolean;
  capabilities(): HubCapabilities | null;
  /** The services agent, which kills. */
  readonly agentUid: string;
  /** Send a line we built ourselves; false when it did not go out (never throws). */
  send(message: OutgoingMessage): boolean;
  /** We changed a user's account. */
  onAccountChange(uid: string, account: string | null): void;
}

/** A channel name InspIRCd accepts as a middle parameter. */
function isChannelName(name: string): boolean {
  // eslint-disable-next-line no-control-regex -- BEL (\x07) is one of the characters InspIRCd refuses in a channel name.
  return name.startsWith('#') && name.length > 1 && !/[\s,\0\x07]/.test(name);
}

export class ServicesOperations {
  constructor(private readonly ctx: OperationsContext) {}

  /** FJOIN pseudo-client `uid` into `channel` at timestamp `ts` with prefix mode letters. */
  joinChannel(uid: string, channel: string, ts: number, prefixes: string): boolean {
    const { ctx } = this;
    const kinds = ctx.capabilities()?.channelModeKinds();
    if (!ctx.isUp() || !kinds || !ctx.clients.has(uid) || !isChannelName(channel)) return false;
    if (!Number.isSafeInteger(ts) || ts < 1) return false;
    // An unknown prefix letter in FJOIN makes InspIRCd drop the link.
    if (!arePrefixModes(prefixes, kinds)) return false;
    if (!ctx.send({ source: ctx.ourSid, command: 'FJOIN', params: [channel, String(ts), '+', `${prefixes},${uid}`] })) return false;
    const { channel: state, reset } = ctx.network.applyFjoin(channel, ts, [], [{ uid, prefixes }], kinds, ctx.ourName);
    if (reset) ctx.log.info({ channel: state.name, ts }, 'lowered a channel timestamp: the hub reset its modes');
    return true;
  }

  /** Pseudo-client `uid` leaves `channel`. */
  partChannel(uid: string, channel: string, reason: string): boolean {
    const { ctx } = this;
    const state = ctx.network.findChannel(channel);
    if (!ctx.isUp() || !ctx.clients.has(uid) || !state?.members.has(uid)) return false;
    const params = reason.length > 0 ? [state.name, sanitizeText(reason, 200)] : [state.name];
    if (!ctx.send({ source: uid, command: 'PART', params })) return false;
    ctx.network.leaveChannel(state.name, uid);
    return true;
  }

  /** FMODE `changes` on `channel` from `source`, in as few lines as the hub allows; returns the lines sent. */
  setChannelModes(channel: string, changes: readonly ModeChange[], source: string): number {
    const { ctx } = this;
    const state = ctx.network.findChannel(channel);
    const capab = ctx.capabilities();
    if (!ctx.isUp() || !state || !capab || changes.length === 0) return 0;
    if (source !== ctx.ourSid && !ctx.clients.has(source)) return 0;
    const kinds = capab.channelModeKinds();
    const known = changes.filter((change) => kinds.has(change.letter));
    const head = `:${source} FMODE ${state.name} ${state.ts} `;
    const lines = packModeChanges(known, {
      maxModes: capab.limit('MAXMODES', 20),
      maxBytes: DEFAULT_MAX_BODY_BYTES - Buffer.byteLength(head, 'utf8'),
    });
    const now = Math.floor(Date.now() / 1000);
    const setter = ctx.clients.get(source)?.nick ?? ctx.ourName;
    let sent = 0;
    for (const line of lines) {
      if (!ctx.send({ source, command: 'FMODE', params: [state.name, String(state.ts), line.modes, ...line.params] })) break;
      sent++;
    }
    if (sent > 0) {
      ctx.network.applyModes(
        state,
        lines.slice(0, sent).flatMap((line) => line.changes),
        kinds,
        setter,
        now,
      );
    }
    return sent;
  }

  /** FTOPIC from our server, cut to the hub's MAXTOPIC. */
  setTopic(channel: string, topic: string, setter: string): boolean {
    const { ctx } = this;
    const state = ctx.network.findChannel(channel);
    if (!ctx.isUp() || !state || /[\s\0]/.test(setter) || setter.length === 0) return false;
    const text = sanitizeText(topic, ctx.capabilities()?.limit('MAXTOPIC', 307) ?? 307);
    const now = Math.floor(Date.now() / 1000);
    // The hub ignores an FTOPIC older than its topic, and on a tie keeps the larger text.
    const ts = now > state.topicTs ? now : state.topicTs + 1;
    const params = [state.name, String(state.ts), String(ts), setter, text];
    if (!ctx.send({ source: ctx.ourSid, command: 'FTOPIC', params })) return false;
    ctx.network.setTopic(state.name, text, ts, setter);
    return true;
  }

  /** KICK user `target` out of `channel`, from pseudo-client `source`. Our own clients are never kicked. */
  kick(source: string, channel: string, target: string, reason: string): boolean {
    const { ctx } = this;
    const state = ctx.network.findChannel(channel);
    if (!ctx.isUp() || !ctx.clients.has(source) || !state?.members.has(target) || ctx.clients.has(target)) return false;
    const text = sanitizeText(reason.length > 0 ? reason : 'Kicked', ctx.capabilities()?.limit('MAXKICK', 255) ?? 255);
    if (!ctx.send({ source, command: 'KICK', params: [state.name, target, text] })) return false;
    ctx.network.leaveChannel(state.name, target);
    return true;
  }

  /** Clear the accountname of every online user of `account`; returns how many. */
  logout(account: string): number {
    const { ctx } = this;
    if (!ctx.isUp()) return 0;
    const users = ctx.network.usersByAccount(account);
    for (const user of users) {
      ctx.send({ source: ctx.ourSid, command: 'METADATA', params: [user.uid, 'accountname', ''] });
      user.account = null;
      ctx.onAccountChange(user.uid, null);
    }
    return users.length;
  }

  /** Log out and KILL every online user of `account`; returns how many. */
  disconnectAccount(account: string, reason: string): number {
    const { ctx } = this;
    if (!ctx.isUp()) return 0;
    const users = ctx.network.usersByAccount(account);
    const maxQuit = ctx.capabilities()?.limit('MAXQUIT', 255) ?? 255;
    const text = sanitizeText(reason.length > 0 ? reason : 'Account disabled', maxQuit);
    for (const user of users) {
      ctx.send({ source: ctx.ourSid, command: 'METADATA', params: [user.uid, 'accountname', ''] });
      ctx.send({ source: ctx.agentUid, command: 'KILL', params: [user.uid, text] });
      // The hub does not echo a KILL back to the server that sent it.
      ctx.network.removeUser(user.uid);
    }
    if (users.length > 0) ctx.log.info({ account, users: users.length }, 'disconnected account from IRC');
    return users.length;
  }
}
