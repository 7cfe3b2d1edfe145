import type { PeerInfo, ServerMessage, TrackKind } from '../protocol/messages.js';

/** One connection's presence in a room. */
export interface Member {
  readonly peerId: string;
  readonly account: string;
  readonly tracks: Set<TrackKind>;
  send(message: ServerMessage): void;
}

export class Room {
  readonly members = new Map<string, Member>();
  constructor(
    /** The control server's channel id: a renamed channel stays the same room. */
    readonly channelId: string,
    /** `voice:<canonical name>` as announced to clients. */
    readonly name: string,
  ) {}

  /** Every member but `except`. */
  broadcast(message: ServerMessage, except?: string): void {
    for (const member of this.members.values()) if (member.peerId !== except) member.send(message);
  }
}

export function peerInfo(member: Member): PeerInfo {
  return { peerId: member.peerId, account: member.account, tracks: [...member.tracks].sort() };
}

/** Live rooms, keyed by channel id; a room exists while it has members. */
export class Rooms {
  private readonly rooms = new Map<string, Room>();

  get size(): number {
    return this.rooms.size;
  }

  get memberCount(): number {
    let n = 0;
    for (const room of this.rooms.values()) n += room.members.size;
    return n;
  }

  /** Adds `member`, announcing it to those already there; answers the room. */
  join(channelId: string, name: string, member: Member): Room {
    let room = this.rooms.get(channelId);
    if (!room) {
      room = new Room(channelId, name);
      this.rooms.set(channelId, room);
    }
    room.broadcast({ type: 'joined', room: room.name, peer: peerInfo(member) });
    room.members.set(member.peerId, member);
    return room;
  }

  /** Removes `member` and announces it; drops the room when empty. */
  leave(room: Room, member: Member): void {
    if (!room.members.delete(member.peerId)) return;
    room.broadcast({ type: 'left', room: room.name, peerId: member.peerId });
    if (room.members.size === 0) this.rooms.delete(room.channelId);
  }
}
