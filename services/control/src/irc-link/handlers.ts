/**
 * Handlers for what the hub sends once the link is established (its burst and everything
 * after). One small function per command, looked up in `inboundHandlers`.
 *
 * Contract: a handler validates its parameters and returns false ("ignored") for anything
 * it cannot use, instead of throwing or replying. Replying to garbage risks sending the hub
 * something it treats as a protocol error, and that drops the whole link.
 */
import type { IrcMessage, OutgoingMessage } from './line.js';
import type { LinkLogger } from './logger.js';
import type { NetworkState } from './network-state.js';
import { globMatch, isServerName, isSid, isUid, parseTimestamp } from './protocol.js';
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

/** What handlers may see and do; implemented by ServicesLink. */
export interface LinkContext {
  readonly state: NetworkState;
  readonly ourSid: string;
  readonly ourName: string;
  readonly hubSid: string;
  readonly sasl: SaslAgent;
  readonly log: LinkLogger;
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
  if (source !== ctx.hubSid || target === undefined || !isUs(ctx, target)) return false;
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
  if (!found || found.sid === ctx.hubSid) return false;
  ctx.state.removeServer(found.sid);
  return true;
};

/** `:<sid> UID <uid> <nickts> <nick> <host> <dhost> <ident> <ip> <signon> +<modes> [mode params] :<realname>` */
const uid: InboundHandler = (ctx, message, source) => {
  const p = message.params;
  if (p.length < 10) return false;
  const [id, nickTsText, nick, host, displayedHost, ident, ip, signonText, modes] = p as [
    string, string, string, string, string, string, string, string, string,
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
  user.account = value.length > 0 ? value : null;
  return true;
};

/** `:<sid> FJOIN <channel> <ts> +<modes> [mode params] :[<prefixes>,<uid>[:<membid>] ...]` */
const fjoin: InboundHandler = (ctx, message) => {
  const p = message.params;
  if (p.length < 4) return false;
  const [channel, tsText] = p as [string, string];
  const ts = parseTimestamp(tsText);
  if (!channel.startsWith('#') || ts === null) return false;
  for (const entry of p[p.length - 1]!.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma === -1) continue;
    const colon = entry.indexOf(':', comma);
    const member = colon === -1 ? entry.slice(comma + 1) : entry.slice(comma + 1, colon);
    ctx.state.joinChannel(channel, ts, member, entry.slice(0, comma));
  }
  return true;
};

/** `:<uid> IJOIN <channel> <membid> [<ts> <prefixes>]` */
const ijoin: InboundHandler = (ctx, message, source) => {
  const [channel, , tsText, prefixes = ''] = message.params;
  if (channel === undefined || !channel.startsWith('#') || !ctx.state.users.has(source)) return false;
  ctx.state.joinChannel(channel, parseTimestamp(tsText) ?? 0, source, prefixes);
  return true;
};

const part: InboundHandler = (ctx, message, source) => {
  const [channel] = message.params;
  if (channel === undefined || !ctx.state.users.has(source)) return false;
  ctx.state.leaveChannel(channel, source);
  return true;
};

/** `:<source> KICK <channel> <uid> [<membid>] :<reason>` */
const kick: InboundHandler = (ctx, message) => {
  const [channel, target] = message.params;
  if (channel === undefined || target === undefined || !ctx.state.users.has(target)) return false;
  ctx.state.leaveChannel(channel, target);
  return true;
};

/** `:<source> FTOPIC <channel> <channel ts> <topic ts> [<setter>] :<topic>` */
const ftopic: InboundHandler = (ctx, message) => {
  const p = message.params;
  const channel = p[0] === undefined ? undefined : ctx.state.findChannel(p[0]);
  if (!channel || p.length < 4) return false;
  channel.topic = p[p.length - 1]!;
  return true;
};

/** `:<uid> TOPIC <channel> :<topic>` */
const topic: InboundHandler = (ctx, message) => {
  const [name, text] = message.params;
  const channel = name === undefined ? undefined : ctx.state.findChannel(name);
  if (!channel || text === undefined) return false;
  channel.topic = text;
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
  if (source === ctx.hubSid) ctx.onHubEndBurst();
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
    'BURST', 'SINFO', 'FMODE', 'MODE', 'OPERTYPE', 'AWAY', 'INVITE', 'ADDLINE', 'DELLINE', 'SNONOTICE',
    'RSQUIT', 'NUM', 'TIME', 'OPERQUIT', 'SVSNICK', 'SVSJOIN', 'SVSPART', 'CAPAB',
  ].map((command): [string, InboundHandler] => [command, acknowledged]),
]);
