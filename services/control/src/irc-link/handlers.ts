/**
 * Handlers for what the hub sends once the link is established (its burst and everything
 * after). One small function per command, looked up in `inboundHandlers`.
 *
 * Contract: a handler validates its parameters and returns false ("ignored") for anything
 * it cannot use, instead of throwing or replying. Replying to garbage risks sending the hub
 * something it treats as a protocol error, and that drops the whole link.
 */
import type { IrcMessage, OutgoingMessage } from '@alloquy/protocol/irc';
import type { LinkLogger } from './logger.js';
import { arePrefixModes, parseModeChanges, type ModeChange, type ModeKinds } from './modes.js';
import { foldCase, type JoinMember, type NetworkState } from './network-state.js';
import { globMatch, isServerName, isSid, isUid, parseTimestamp, type HubCapabilities } from './protocol.js';
import type { SaslAgent } from './sasl.js';

/** A chat message the hub routed to us (to a channel or to one of our pseudo-clients). */
export interface InboundChatMessage {
  readonly command: 'PRIVMSG' | 'NOTICE' | 'TAGMSG';
  /** UID (or SID) of the sender. */
  readonly source: string;
  readonly target: string;
  /** Empty for TAGMSG. */
  readonly text: string;
  readonly tags: ReadonlyMap<string, string>;
}

/**
 * Something the hub changed in a channel, reported after NetworkState was updated (so
 * listeners read the new state). Our own FJOIN/FMODE/FTOPIC/KICK never come back as events:
 * the hub does not echo them.
 */
export type ChannelEvent =
  | { readonly kind: 'join'; readonly channel: string; readonly uids: readonly string[] }
  | { readonly kind: 'leave'; readonly channel: string; readonly uid: string; readonly how: 'part' | 'kick' }
  /** `changes` are those that took effect; `source` is a UID or SID. */
  | { readonly kind: 'mode'; readonly channel: string; readonly source: string; readonly changes: readonly ModeChange[] }
  | { readonly kind: 'topic'; readonly channel: string; readonly source: string; readonly topic: string }
  /** The channel lost a TS war: every mode, list entry, prefix and the topic were cleared. */
  | { readonly kind: 'reset'; readonly channel: string };

/** What handlers may see and do; built by LinkLifecycle (lifecycle.ts). */
export interface LinkContext {
  readonly state: NetworkState;
  readonly ourSid: string;
  readonly ourName: string;
  /** The hub's server id; empty before it introduced itself. */
  hubSid(): string;
  readonly sasl: SaslAgent;
  readonly log: LinkLogger;
  /** What the hub advertised (mode letters by kind), null before negotiation. */
  capabilities(): HubCapabilities | null;
  send(message: OutgoingMessage): void;
  /** Our pseudo-client with this UID, if any (for IDLE replies). */
  ourClient(uid: string): { uid: string; signon: number } | undefined;
  /** One of our pseudo-clients was killed: reintroduce it. */
  onOurClientKilled(uid: string): void;
  /** One of our pseudo-clients lost a nick collision and is now named after its UID. */
  onOurClientSaved(uid: string): void;
  onHubEndBurst(): void;
  onPong(): void;
  /** The hub asked us to leave (SQUIT naming our server). */
  onSquitUs(reason: string): void;
  onChatMessage(message: InboundChatMessage): void;
  onChannelEvent(event: ChannelEvent): void;
  /** A user logged in (account) or out (null). */
  onAccountChange(uid: string, account: string | null): void;
}

/** Returns true when the line was used, false when it was ignored as unusable. */
export type InboundHandler = (ctx: LinkContext, message: IrcMessage, source: string) => boolean;

function isUs(ctx: LinkContext, target: string): boolean {
  return target === ctx.ourSid || target.toLowerCase() === ctx.ourName.toLowerCase();
}

/** `:<server> PING <our sid>` → `:<our sid> PONG <server>`; only for known servers so we never route to nowhere. */
const ping: InboundHandler = (ctx, message, source) => {
  const target = message.params[message.params.length - 1];
  if (target === undefined || !isUs(ctx, target) || !ctx.state.servers.has(source)) return false;
  ctx.send({ source: ctx.ourSid, command: 'PONG', params: [source] });
  return true;
};

const pong: InboundHandler = (ctx, message, source) => {
  const target = message.params[message.params.length - 1];
  if (source !== ctx.hubSid() || target === undefined || !isUs(ctx, target)) return false;
  ctx.onPong();
  return true;
};

/** `:<uplink> SERVER <name> <sid> [key=value ...] :<description>` introduces a server behind the hub. */
const server: InboundHandler = (ctx, message, source) => {
  const [name, sid] = message.params;
  const description = message.params[message.params.length - 1] ?? '';
  if (name === undefined || sid === undefined || message.params.length < 3) return false;
  if (!isServerName(name) || !isSid(sid) || !ctx.state.servers.has(source)) return false;
  if (ctx.state.servers.has(sid) || sid === ctx.ourSid) return false;
  ctx.state.addServer({ sid, name, description, uplink: source });
  return true;
};

const squit: InboundHandler = (ctx, message) => {
  const [target, reason = ''] = message.params;
  if (target === undefined) return false;
  if (isUs(ctx, target)) {
    ctx.onSquitUs(reason);
    return true;
  }
  const found = ctx.state.findServer(target);
  if (!found || found.sid === ctx.hubSid()) return false;
  ctx.state.removeServer(found.sid);
  return true;
};

/** `:<sid> UID <uid> <nickts> <nick> <host> <dhost> <ident> <ip> <signon> +<modes> [mode params] :<realname>` */
const uid: InboundHandler = (ctx, message, source) => {
  const p = message.params;
  if (p.length < 10) return false;
  const [id, nickTsText, nick, host, displayedHost, ident, ip, signonText, modes] = p as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const nickTs = parseTimestamp(nickTsText);
  const signon = parseTimestamp(signonText);
  if (!isUid(id) || id.slice(0, 3) !== source || !ctx.state.servers.has(source)) return false;
  if (nickTs === null || signon === null || !modes.startsWith('+') || nick.length === 0) return false;
  ctx.state.addUser({
    uid: id,
    nick,
    nickTs,
    ident,
    host,
    displayedHost,
    ip,
    realname: p[p.length - 1]!,
    account: null,
    server: source,
    signon,
    channels: new Set(),
  });
  return true;
};

const quit: InboundHandler = (ctx, _message, source) => ctx.state.removeUser(source);

/** `:<source> KILL <uid> :<reason>` */
const kill: InboundHandler = (ctx, message) => {
  const [target] = message.params;
  if (target === undefined) return false;
  if (ctx.ourClient(target)) {
    ctx.onOurClientKilled(target);
    return true;
  }
  return ctx.state.removeUser(target);
};

/** `:<uid> NICK <newnick> <ts>` */
const nick: InboundHandler = (ctx, message, source) => {
  const [newNick, tsText] = message.params;
  const user = ctx.state.users.get(source);
  const ts = parseTimestamp(tsText);
  if (!user || newNick === undefined || newNick.length === 0 || ts === null) return false;
  user.nick = newNick;
  user.nickTs = ts;
  return true;
};

/** `:<sid> SAVE <uid> <ts>`: nick collision resolved by renaming the user to its UID. */
const save: InboundHandler = (ctx, message) => {
  const [target, tsText] = message.params;
  const ts = parseTimestamp(tsText);
  if (target === undefined || ts === null) return false;
  if (ctx.ourClient(target)) {
    ctx.onOurClientSaved(target);
    return true;
  }
  const user = ctx.state.users.get(target);
  if (!user || user.nickTs !== ts) return false;
  user.nick = user.uid;
  return true;
};

function userField(field: 'displayedHost' | 'ident' | 'realname'): InboundHandler {
  return (ctx, message, source) => {
    const [value] = message.params;
    const user = ctx.state.users.get(source);
    if (!user || value === undefined) return false;
    user[field] = value;
    return true;
  };
}

/** `METADATA <uid> accountname :<account>` (empty value = logged out). Other keys are not ours to track. */
const metadata: InboundHandler = (ctx, message) => {
  const [target, key, value] = message.params;
  if (target === undefined || key === undefined || value === undefined) return false;
  if (key !== 'accountname') return true;
  const user = ctx.state.users.get(target);
  if (!user) return false;
  const account = value.length > 0 ? value : null;
  if (user.account === account) return true;
  user.account = account;
  ctx.onAccountChange(user.uid, account);
  return true;
};

function modeKinds(ctx: LinkContext): ModeKinds {
  return ctx.capabilities()?.channelModeKinds() ?? new Map();
}

function setterName(ctx: LinkContext, source: string): string {
  return ctx.state.users.get(source)?.nick ?? ctx.state.servers.get(source)?.name ?? source;
}

/**
 * `:<sid> FJOIN <channel> <ts> +<modes> [mode params] :[[<prefixes>,]<uid>[:<membid>] ...]`:
 * a channel burst or creation. Its modes and prefixes count only if it wins or ties the TS war.
 */
const fjoin: InboundHandler = (ctx, message, source) => {
  const p = message.params;
  if (p.length < 4) return false;
  const [channel, tsText, modeString] = p as [string, string, string];
  const ts = parseTimestamp(tsText);
  if (!channel.startsWith('#') || ts === null || ts === 0) return false;
  const kinds = modeKinds(ctx);
  const { changes } = parseModeChanges(modeString, p.slice(3, -1), kinds);
  const members: JoinMember[] = [];
  for (const entry of p[p.length - 1]!.split(' ')) {
    if (entry.length === 0) continue;
    // Since protocol 1205 the comma is optional when the member has no prefixes.
    const comma = entry.indexOf(',');
    const colon = entry.indexOf(':', comma + 1);
    const uid = colon === -1 ? entry.slice(comma + 1) : entry.slice(comma + 1, colon);
    const prefixes = comma === -1 ? '' : entry.slice(0, comma);
    // Our own clients join only through our FJOINs, never the hub's.
    if (!isUid(uid) || uid.startsWith(ctx.ourSid)) continue;
    // Prefix letters must be prefix modes the hub told us about.
    if (!arePrefixModes(prefixes, kinds)) continue;
    members.push({ uid, prefixes });
  }
  const existed = ctx.state.findChannel(channel) !== undefined;
  const { channel: state, reset } = ctx.state.applyFjoin(channel, ts, changes, members, kinds, setterName(ctx, source));
  if (reset && existed) ctx.onChannelEvent({ kind: 'reset', channel: state.name });
  const joined = members.filter((member) => state.members.has(member.uid)).map((member) => member.uid);
  if (joined.length > 0) ctx.onChannelEvent({ kind: 'join', channel: state.name, uids: joined });
  return true;
};

/** `:<source> FMODE <channel> <ts> <modes> [params]`: a channel mode change (the hub only forwards applied ones). */
const fmode: InboundHandler = (ctx, message, source) => {
  const [name, tsText, modeString] = message.params;
  const channel = name === undefined ? undefined : ctx.state.findChannel(name);
  const ts = parseTimestamp(tsText);
  if (!channel || ts === null || modeString === undefined) return false;
  // A newer TS lost the channel's history; InspIRCd drops such a change.
  if (ts > channel.ts) return false;
  const kinds = modeKinds(ctx);
  const { changes } = parseModeChanges(modeString, message.params.slice(3), kinds);
  const applied = ctx.state.applyModes(channel, changes, kinds, setterName(ctx, source), Math.floor(Date.now() / 1000));
  if (applied.length > 0) ctx.onChannelEvent({ kind: 'mode', channel: channel.name, source, changes: applied });
  return true;
};

/** `:<uid> IJOIN <channel> <membid> [<ts> <prefixes>]` */
const ijoin: InboundHandler = (ctx, message, source) => {
  const [channel, , tsText, prefixes = ''] = message.params;
  if (channel === undefined || !channel.startsWith('#') || !ctx.state.users.has(source)) return false;
  const granted = arePrefixModes(prefixes, modeKinds(ctx)) ? prefixes : '';
  ctx.state.joinChannel(channel, parseTimestamp(tsText) ?? 0, source, granted);
  const state = ctx.state.findChannel(channel);
  if (state) ctx.onChannelEvent({ kind: 'join', channel: state.name, uids: [source] });
  return true;
};

const part: InboundHandler = (ctx, message, source) => {
  const [channel] = message.params;
  if (channel === undefined || !ctx.state.users.get(source)?.channels.has(foldCase(channel))) return false;
  ctx.state.leaveChannel(channel, source);
  ctx.onChannelEvent({ kind: 'leave', channel, uid: source, how: 'part' });
  return true;
};

/** `:<source> KICK <channel> <uid> [<membid>] :<reason>` */
const kick: InboundHandler = (ctx, message) => {
  const [channel, target] = message.params;
  if (channel === undefined || target === undefined || !ctx.state.users.get(target)?.channels.has(foldCase(channel))) return false;
  ctx.state.leaveChannel(channel, target);
  ctx.onChannelEvent({ kind: 'leave', channel, uid: target, how: 'kick' });
  return true;
};

/**
 * `:<server> FTOPIC <channel> <channel ts> <topic ts> <setter> :<topic>` (burst, services) or
 * `:<uid> FTOPIC <channel> <channel ts> <topic ts> :<topic>` (a user's TOPIC).
 */
const ftopic: InboundHandler = (ctx, message, source) => {
  const p = message.params;
  const channel = p[0] === undefined ? undefined : ctx.state.findChannel(p[0]);
  const topicTs = parseTimestamp(p[2]);
  if (!channel || p.length < 4 || topicTs === null) return false;
  const text = p[p.length - 1]!;
  ctx.state.setTopic(channel.name, text, topicTs, p.length > 4 ? p[3]! : setterName(ctx, source));
  ctx.onChannelEvent({ kind: 'topic', channel: channel.name, source, topic: text });
  return true;
};

/** `:<uid> TOPIC <channel> :<topic>` (older form; InspIRCd 3 sends FTOPIC). */
const topic: InboundHandler = (ctx, message, source) => {
  const [name, text] = message.params;
  const channel = name === undefined ? undefined : ctx.state.findChannel(name);
  if (!channel || text === undefined) return false;
  ctx.state.setTopic(channel.name, text, Math.floor(Date.now() / 1000), setterName(ctx, source));
  ctx.onChannelEvent({ kind: 'topic', channel: channel.name, source, topic: text });
  return true;
};

/** `ENCAP <target mask> <command> ...`: we only act on SASL addressed to us. */
const encap: InboundHandler = (ctx, message) => {
  const [target, command, ...rest] = message.params;
  if (target === undefined || command === undefined) return false;
  if (!(isUs(ctx, target) || globMatch(target, ctx.ourSid) || globMatch(target, ctx.ourName))) return false;
  if (command !== 'SASL') return true;
  // Our replies are routed to the client's server: only answer for well-formed UIDs on servers we know.
  const [clientUid] = rest;
  if (clientUid === undefined || !isUid(clientUid) || !ctx.state.servers.has(clientUid.slice(0, 3))) return false;
  return ctx.sasl.handle(rest);
};

const endburst: InboundHandler = (ctx, _message, source) => {
  if (source === ctx.hubSid()) ctx.onHubEndBurst();
  return ctx.state.servers.has(source);
};

/** `:<uid> IDLE <our uid>`: remote WHOIS of our client waits for this reply. */
const idle: InboundHandler = (ctx, message, source) => {
  const [target] = message.params;
  const client = target === undefined ? undefined : ctx.ourClient(target);
  if (!client || !ctx.state.users.has(source)) return false;
  ctx.send({ source: client.uid, command: 'IDLE', params: [source, String(client.signon), '0'] });
  return true;
};

function chat(command: InboundChatMessage['command']): InboundHandler {
  return (ctx, message, source) => {
    const [target, text = ''] = message.params;
    if (target === undefined) return false;
    ctx.onChatMessage({ command, source, target, text: command === 'TAGMSG' ? '' : text, tags: message.tags });
    return true;
  };
}

/** Commands the hub legitimately sends that carry nothing we track. */
const acknowledged: InboundHandler = () => true;

export const inboundHandlers: ReadonlyMap<string, InboundHandler> = new Map<string, InboundHandler>([
  ['PING', ping],
  ['PONG', pong],
  ['SERVER', server],
  ['SQUIT', squit],
  ['UID', uid],
  ['QUIT', quit],
  ['KILL', kill],
  ['NICK', nick],
  ['SAVE', save],
  ['FHOST', userField('displayedHost')],
  ['FIDENT', userField('ident')],
  ['FNAME', userField('realname')],
  ['METADATA', metadata],
  ['FJOIN', fjoin],
  ['FMODE', fmode],
  ['IJOIN', ijoin],
  ['PART', part],
  ['KICK', kick],
  ['FTOPIC', ftopic],
  ['TOPIC', topic],
  ['ENCAP', encap],
  ['ENDBURST', endburst],
  ['IDLE', idle],
  ['PRIVMSG', chat('PRIVMSG')],
  ['NOTICE', chat('NOTICE')],
  ['TAGMSG', chat('TAGMSG')],
  ...[
    'BURST',
    'SINFO',
    'MODE',
    'OPERTYPE',
    'AWAY',
    'INVITE',
    'ADDLINE',
    'DELLINE',
    'SNONOTICE',
    'RSQUIT',
    'NUM',
    'TIME',
    'OPERQUIT',
    'SVSNICK',
    'SVSJOIN',
    'SVSPART',
    'CAPAB',
  ].map((command): [string, InboundHandler] => [command, acknowledged]),
]);
