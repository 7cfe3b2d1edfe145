/**
 * The services link's view of the IRC network, rebuilt from the hub's burst on every link
 * and kept current from what the hub tells us. Deliberately small: who is online (and under
 * which account), which servers exist, and who is in which channel.
 */

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

export interface NetworkChannel {
  readonly name: string;
  ts: number;
  /** uid → prefix mode letters (e.g. 'o'). */
  readonly members: Map<string, string>;
  topic: string;
}

/** ASCII lowercase: the hub's CASEMAPPING for our deployments is `ascii`. */
export function foldCase(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

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

  joinChannel(name: string, ts: number, uid: string, prefixes: string): void {
    const user = this.users.get(uid);
    if (!user) return;
    const key = foldCase(name);
    let channel = this.channels.get(key);
    if (!channel) {
      channel = { name, ts, members: new Map(), topic: '' };
      this.channels.set(key, channel);
    } else if (ts > 0 && ts < channel.ts) {
      // InspIRCd's timestamp rule: the older channel wins and its TS is adopted.
      channel.ts = ts;
    }
    channel.members.set(uid, prefixes);
    user.channels.add(key);
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
