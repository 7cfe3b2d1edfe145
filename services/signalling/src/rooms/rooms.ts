import type { RoomGrant } from '../authz/room-access.js';
import type { PeerInfo, ServerMessage, TrackKind } from '@alloquy/protocol/signalling';

/** One connection's presence in a room. */
export interface Member {
  readonly peerId: string;
  readonly account: string;
  /** Published tracks and the MediaStream id each travels in (null when the client gave none). */
  readonly tracks: Map<TrackKind, string | null>;
  send(message: ServerMessage): void;
}

export class Room {
  readonly members = new Map<string, Member>();
  constructor(readonly grant: RoomGrant) {}

  get key(): string {
    return this.grant.key;
  }

  /** As announced to clients. */
  get name(): string {
    return this.grant.name;
  }

  /** Every member but `except`. */
  broadcast(message: ServerMessage, except?: string): void {
    for (const member of this.members.values()) if (member.peerId !== except) member.send(message);
  }
}

export function peerInfo(member: Member): PeerInfo {
  return { peerId: member.peerId, account: member.account, ...trackInfo(member) };
}

/** A member's tracks as announced: the kinds, sorted, and the stream ids clients match them with. */
export function trackInfo(member: Member): Pick<PeerInfo, 'tracks' | 'streams'> {
  const tracks = [...member.tracks.keys()].sort();
  const streams: PeerInfo['streams'] = {};
  for (const kind of tracks) {
    const stream = member.tracks.get(kind);
    if (stream) streams[kind] = stream;
  }
  return { tracks, streams };
}

/** Live rooms, keyed by voice channel id or by a call's account ids; a room exists while it has members. */
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
  join(grant: RoomGrant, member: Member): Room {
    let room = this.rooms.get(grant.key);
    if (!room) {
      room = new Room(grant);
      this.rooms.set(grant.key, room);
    }
    room.broadcast({ type: 'joined', room: room.name, peer: peerInfo(member) });
    room.members.set(member.peerId, member);
    return room;
  }

  /** Removes `member` and announces it; drops the room when empty. */
  leave(room: Room, member: Member): void {
    if (!room.members.delete(member.peerId)) return;
    room.broadcast({ type: 'left', room: room.name, peerId: member.peerId });
    if (room.members.size === 0) this.rooms.delete(room.key);
  }
}
