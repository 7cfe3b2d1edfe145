/**
 * The services link's view of the IRC network, rebuilt from the hub's burst on every link
 * and kept current from what the hub tells us and what we send. Deliberately small: who is
 * online (and under which account), which servers exist, who is in which channel, and each
 * channel's modes, lists and topic (so services can diff them against what they should be).
 *
 * Channel changes follow InspIRCd 3's own rules (FJOIN timestamp war, list and prefix modes),
 * because the hub never echoes our own FJOIN/FMODE/FTOPIC/KICK back: we apply them here as
 * the hub will.
 */
import type { ModeChange, ModeKinds } from './modes.js';
import { foldCase } from '@alloquy/protocol/irc';

export interface NetworkUser {
  readonly uid: string;
  nick: string;
  nickTs: number;
  ident: string;
  /** Real host. */
  host: string;
  displayedHost: string;
  ip: string;
  realname: string;
  /** Services account name, or null when not logged in. */
  account: string | null;
  /** SID of the server the user is on. */
  readonly server: string;
  readonly signon: number;
  readonly channels: Set<string>;
}

export interface NetworkServer {
  readonly sid: string;
  readonly name: string;
  readonly description: string;
  /** SID of the server that introduced it, null for our direct hub. */
  readonly uplink: string | null;
}

/** One entry of a list mode (ban, exception, invite exception). */
export interface ListEntry {
  readonly mask: string;
  readonly setter: string;
  /** Unix seconds. */
  readonly ts: number;
}

export interface NetworkChannel {
  /** As the hub spells it (a TS war may change its case). */
  name: string;
  ts: number;
  /** uid → prefix mode letters (e.g. 'o'). */
  readonly members: Map<string, string>;
  topic: string;
  /** When the topic was set (Unix seconds, 0 when never): a newer FTOPIC wins. */
  topicTs: number;
  topicSetter: string;
  /** Simple and parameter modes that are set: letter → parameter ('' for simple modes). */
  readonly modes: Map<string, string>;
  /** List modes: letter → entries keyed by mask (compared exactly, as InspIRCd does). */
  readonly lists: Map<string, Map<string, ListEntry>>;
}

/** One member of an FJOIN. */
export interface JoinMember {
  readonly uid: string;
  /** Prefix mode letters the joining side gives the member. */
  readonly prefixes: string;
}

export { foldCase };

export class NetworkState {
  readonly users = new Map<string, NetworkUser>();
  readonly servers = new Map<string, NetworkServer>();
  /** Keyed by case-folded channel name. */
  readonly channels = new Map<string, NetworkChannel>();

  clear(): void {
    this.users.clear();
    this.servers.clear();
    this.channels.clear();
  }

  addServer(server: NetworkServer): void {
    this.servers.set(server.sid, server);
  }

  findServer(sidOrName: string): NetworkServer | undefined {
    const bySid = this.servers.get(sidOrName);
    if (bySid) return bySid;
    const folded = foldCase(sidOrName);
    for (const server of this.servers.values()) if (foldCase(server.name) === folded) return server;
    return undefined;
  }

  /** Remove a server, every server behind it, and all of their users. Returns the number of servers removed. */
  removeServer(sid: string): number {
    if (!this.servers.has(sid)) return 0;
    const doomed = new Set<string>([sid]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const server of this.servers.values()) {
        if (server.uplink !== null && doomed.has(server.uplink) && !doomed.has(server.sid)) {
          doomed.add(server.sid);
          grew = true;
        }
      }
    }
    for (const user of [...this.users.values()]) if (doomed.has(user.server)) this.removeUser(user.uid);
    for (const gone of doomed) this.servers.delete(gone);
    return doomed.size;
  }

  addUser(user: NetworkUser): void {
    // A reused UID means the hub considers the old one gone; drop its memberships first.
    if (this.users.has(user.uid)) this.removeUser(user.uid);
    this.users.set(user.uid, user);
  }

  removeUser(uid: string): boolean {
    const user = this.users.get(uid);
    if (!user) return false;
    for (const key of user.channels) this.leaveChannel(key, uid);
    this.users.delete(uid);
    return true;
  }

  findUserByNick(nick: string): NetworkUser | undefined {
    const folded = foldCase(nick);
    for (const user of this.users.values()) if (foldCase(user.nick) === folded) return user;
    return undefined;
  }

  /** Users logged into `account` (compared case-insensitively). */
  usersByAccount(account: string): NetworkUser[] {
    const folded = foldCase(account);
    return [...this.users.values()].filter((user) => user.account !== null && foldCase(user.account) === folded);
  }

  /**
   * A join without channel modes (IJOIN, or a member of an FJOIN): prefixes are honoured only
   * when `ts` is not newer than the channel's, as InspIRCd does.
   */
  joinChannel(name: string, ts: number, uid: string, prefixes: string): void {
    const user = this.users.get(uid);
    if (!user) return;
    const key = foldCase(name);
    let channel = this.channels.get(key);
    if (!channel) {
      channel = newChannel(name, ts);
      this.channels.set(key, channel);
    }
    const granted = ts > 0 && ts > channel.ts ? '' : prefixes;
    channel.members.set(uid, mergeLetters(channel.members.get(uid) ?? '', granted));
    user.channels.add(key);
  }

  /**
   * Apply an FJOIN the way InspIRCd resolves it: a new channel takes the joining side's TS and
   * modes; an older TS wins the TS war, which resets the channel (every mode, list, prefix and
   * the topic) before the joining side's modes are applied; an equal TS merges both sides; a
   * newer TS loses, so only the members join, without their prefixes. Returns the channel, and
   * whether it was reset.
   */
  applyFjoin(
    name: string,
    ts: number,
    modes: readonly ModeChange[],
    members: readonly JoinMember[],
    kinds: ModeKinds,
    setter: string,
  ): { channel: NetworkChannel; reset: boolean } {
    const key = foldCase(name);
    let channel = this.channels.get(key);
    let reset = false;
    let applyTheirs = true;
    if (!channel) {
      channel = newChannel(name, ts);
      this.channels.set(key, channel);
    } else if (ts < channel.ts) {
      this.resetChannel(channel, name, ts);
      reset = true;
    } else if (ts > channel.ts) {
      applyTheirs = false;
    }
    if (applyTheirs) this.applyModes(channel, modes, kinds, setter, ts);
    for (const member of members) {
      const user = this.users.get(member.uid);
      if (!user) continue;
      channel.members.set(member.uid, mergeLetters(channel.members.get(member.uid) ?? '', applyTheirs ? member.prefixes : ''));
      user.channels.add(key);
    }
    // A channel nobody could join (all members unknown) does not exist on the hub either.
    if (channel.members.size === 0) this.channels.delete(key);
    return { channel, reset };
  }

  /**
   * Apply mode changes to a channel as the hub does: simple and parameter modes are set or
   * unset, list entries added (once) or removed, prefix modes
   * given to or taken from members. Changes of letters `kinds` does not know, naming
   * someone who is not a member, or changing nothing, are ignored. Returns the changes that took effect.
   */
  applyModes(channel: NetworkChannel, changes: readonly ModeChange[], kinds: ModeKinds, setter: string, now: number): ModeChange[] {
    const applied: ModeChange[] = [];
    for (const change of changes) {
      const kind = kinds.get(change.letter);
      if (kind === undefined) continue;
      const { adding, letter, param } = change;
      switch (kind) {
        case 'simple':
          if (adding === channel.modes.has(letter)) continue;
          if (adding) channel.modes.set(letter, '');
          else channel.modes.delete(letter);
          break;
        case 'param':
        case 'param-set':
          if (adding) {
            if (param === undefined || channel.modes.get(letter) === param) continue;
            channel.modes.set(letter, param);
          } else {
            if (!channel.modes.has(letter)) continue;
            channel.modes.delete(letter);
          }
          break;
        case 'list': {
          if (param === undefined) continue;
          // InspIRCd compares list entries byte for byte, on adding and on removing.
          let list = channel.lists.get(letter);
          if (adding) {
            if (!list) {
              list = new Map();
              channel.lists.set(letter, list);
            }
            if (list.has(param)) continue;
            list.set(param, { mask: param, setter, ts: now });
          } else {
            if (!list?.delete(param)) continue;
            if (list.size === 0) channel.lists.delete(letter);
          }
          break;
        }
        case 'prefix': {
          if (param === undefined) continue;
          const current = channel.members.get(param);
          if (current === undefined) continue;
          if (adding === current.includes(letter)) continue;
          channel.members.set(param, adding ? current + letter : current.replaceAll(letter, ''));
          break;
        }
      }
      applied.push(change);
    }
    return applied;
  }

  /** Set a channel's topic. Returns false when the channel is unknown. */
  setTopic(name: string, topic: string, ts: number, setter: string): boolean {
    const channel = this.findChannel(name);
    if (!channel) return false;
    channel.topic = topic;
    channel.topicTs = ts;
    channel.topicSetter = setter;
    return true;
  }

  /** What InspIRCd's LowerTS does to a channel that lost a TS war. */
  private resetChannel(channel: NetworkChannel, name: string, ts: number): void {
    channel.name = name;
    channel.ts = ts;
    channel.modes.clear();
    channel.lists.clear();
    for (const uid of channel.members.keys()) channel.members.set(uid, '');
    channel.topic = '';
    channel.topicTs = 0;
    channel.topicSetter = '';
  }

  leaveChannel(name: string, uid: string): void {
    const key = foldCase(name);
    const channel = this.channels.get(key);
    this.users.get(uid)?.channels.delete(key);
    if (!channel) return;
    channel.members.delete(uid);
    if (channel.members.size === 0) this.channels.delete(key);
  }

  findChannel(name: string): NetworkChannel | undefined {
    return this.channels.get(foldCase(name));
  }
}

function newChannel(name: string, ts: number): NetworkChannel {
  return { name, ts, members: new Map(), topic: '', topicTs: 0, topicSetter: '', modes: new Map(), lists: new Map() };
}

/** `current` plus the letters of `added` it lacks. */
function mergeLetters(current: string, added: string): string {
  let merged = current;
  for (const letter of added) if (!merged.includes(letter)) merged += letter;
  return merged;
}
