/**
 * One room's video: a simple-peer connection to every other member (a mesh), carrying this
 * member's camera and screen and bringing back theirs. Signalling goes through a
 * {@link SignallingConnection}; the rules of who offers are in services/signalling/PROTOCOL.md
 * ("The mesh"): the later joiner offers, the other side answers and asks for renegotiation.
 *
 * Audio is not here: voice goes through Murmur.
 */
import SimplePeer from 'simple-peer';
import { Emitter } from './emitter.js';
import { VideoError } from './errors.js';
import type { PeerInfo, ServerMessage, SignallingConnection, TrackKind } from './signalling-connection.js';
import { inboundVideo, selectedCandidatePair, type CandidatePairInfo, type InboundVideo, type StatsReport } from './stats.js';

export const TRACK_KINDS: readonly TrackKind[] = ['camera', 'screen'];

export interface RemoteMember {
  peerId: string;
  account: string;
  /** What the member says it publishes. */
  tracks: TrackKind[];
}

export interface VideoRoomEvents {
  peerJoined: RemoteMember;
  peerLeft: RemoteMember;
  /** The peer connection to a member is up (ICE and DTLS done). */
  peerConnected: RemoteMember;
  /** The connection to a member failed; it is dropped (its streams end). */
  peerError: { member: RemoteMember; error: Error };
  /** A member's camera or screen can be shown: attach `stream` to a <video>. */
  remoteStream: { member: RemoteMember; kind: TrackKind; stream: MediaStream };
  /** ...and is gone (unpublished, or the member left). */
  remoteStreamEnded: { member: RemoteMember; kind: TrackKind };
  /** This member's own camera or screen stopped (stopCamera, or the browser's "Stop sharing"). */
  localStreamEnded: { kind: TrackKind };
  /** The room is over for this client: left, or the signalling connection closed. */
  closed: { reason: string };
}

export interface VideoRoomOptions {
  /** `relay` forces every connection through TURN (coturn); default `all`. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Where cameras and screens come from; default `navigator.mediaDevices`. */
  mediaDevices?: Pick<MediaDevices, 'getUserMedia' | 'getDisplayMedia'>;
  /** Default: the browser's RTCPeerConnection. */
  RTCPeerConnection?: typeof RTCPeerConnection;
}

export interface PeerStats {
  /** The candidate pair in use; undefined until ICE has chosen one. */
  pair: CandidatePairInfo | undefined;
  video: InboundVideo;
}

interface LocalTrack {
  stream: MediaStream;
  track: MediaStreamTrack;
}

/** The link to one other member. */
class PeerLink {
  readonly member: RemoteMember;
  /** Stream id of each announced track, as its publisher gave it. */
  streams: Partial<Record<TrackKind, string>> = {};
  /** Remote streams that arrived, by id; matched to kinds by `streams`. */
  readonly incoming = new Map<string, MediaStream>();
  /** Stream ids once announced: when one is no longer, its stream will not come back. */
  readonly announced = new Set<string>();
  /** What has been handed to the application, by kind. */
  readonly shown = new Map<TrackKind, MediaStream>();
  connection: RTCPeerConnection | undefined;
  peer!: SimplePeer.Instance;
  constructor(info: PeerInfo) {
    this.member = { peerId: info.peerId, account: info.account, tracks: [] };
  }
}

/** The room each connection is in. */
const activeRooms = new WeakMap<SignallingConnection, VideoRoom>();

export class VideoRoom extends Emitter<VideoRoomEvents> {
  /** As the service names it: `voice:<channel>` or `dm:<accounts>`. */
  name = '';
  kind: 'voice' | 'dm' = 'voice';
  private readonly links = new Map<string, PeerLink>();
  private readonly local = new Map<TrackKind, LocalTrack>();
  private readonly starting = new Map<TrackKind, Promise<MediaStream>>();
  private readonly unsubscribe: Array<() => void> = [];
  private ended = false;

  private constructor(
    private readonly signalling: SignallingConnection,
    private readonly options: VideoRoomOptions,
  ) {
    super();
  }

  /**
   * Joins a room (`voice:<channel>` or `dm:<account>[,...]`) and connects to everyone in it.
   * Rejects with a VideoError `refused` (`forbidden`, `not_found`, ...) when the service says no.
   */
  static async join(signalling: SignallingConnection, room: string, options: VideoRoomOptions = {}): Promise<VideoRoom> {
    const videoRoom = new VideoRoom(signalling, options);
    const reply = await signalling.request({ type: 'join', room }, 'room');
    // The reply resolves this await in a microtask of the message's own event, so nothing sent
    // after it (a member joining right after us) can arrive before enter() listens.
    // The service keeps a connection in one room: it has just left the previous one.
    activeRooms.get(signalling)?.end('joined another room');
    activeRooms.set(signalling, videoRoom);
    videoRoom.enter(reply);
    return videoRoom;
  }

  /** This member's peer id in the room. */
  get peerId(): string {
    return this.signalling.peerId;
  }

  get members(): RemoteMember[] {
    return [...this.links.values()].map((link) => link.member);
  }

  /** The streams this member publishes now. */
  localStream(kind: TrackKind): MediaStream | undefined {
    return this.local.get(kind)?.stream;
  }

  /** Turns the camera on: asks the service (VIDEO), then captures. Resolves with the local stream. */
  startCamera(constraints: MediaTrackConstraints | true = true): Promise<MediaStream> {
    return this.startTrack('camera', (devices) => devices.getUserMedia({ video: constraints, audio: false }));
  }

  /** Shares a screen or window (the browser asks which). */
  startScreen(constraints: MediaTrackConstraints | true = true): Promise<MediaStream> {
    return this.startTrack('screen', (devices) => devices.getDisplayMedia({ video: constraints, audio: false }));
  }

  stopCamera(): Promise<void> {
    return this.stopTrack('camera');
  }

  stopScreen(): Promise<void> {
    return this.stopTrack('screen');
  }

  /** The RTCPeerConnection to a member (for the application's own statistics). */
  connection(peerId: string): RTCPeerConnection | undefined {
    return this.links.get(peerId)?.connection;
  }

  /** Which candidate pair the connection to a member uses, and how much of its video was decoded. */
  async stats(peerId: string): Promise<PeerStats | undefined> {
    const connection = this.connection(peerId);
    if (!connection) return undefined;
    const report = (await connection.getStats()) as unknown as StatsReport;
    return { pair: selectedCandidatePair(report), video: inboundVideo(report) };
  }

  /** Leaves: stops this member's capture, closes every peer connection, tells the service. */
  async leave(): Promise<void> {
    if (this.ended) return;
    this.end('left');
    if (this.signalling.isOpen) await this.signalling.request({ type: 'leave' }, 'left').catch(() => undefined);
  }

  private enter(reply: Extract<ServerMessage, { type: 'room' }>): void {
    this.name = reply.room;
    this.kind = reply.kind;
    this.unsubscribe.push(
      this.signalling.on('message', (m) => this.onMessage(m)),
      this.signalling.on('closed', () => this.end('the signalling connection closed')),
      // For ICE restarts of existing connections; new ones read signalling.turn.
      this.signalling.on('turn', () => {
        for (const link of this.links.values()) {
          try {
            link.connection?.setConfiguration({ ...link.connection.getConfiguration(), iceServers: this.iceServers() });
          } catch {
            // A closed connection: it is on its way out.
          }
        }
      }),
    );
    // We are the later joiner: we offer to everyone already here.
    for (const peer of reply.peers) this.link(peer, true);
  }

  private onMessage(message: ServerMessage): void {
    if (this.ended) return;
    switch (message.type) {
      case 'joined':
        if (message.room !== this.name || this.links.has(message.peer.peerId)) return;
        this.emit('peerJoined', this.link(message.peer, false).member);
        return;
      case 'left':
        if (message.room === this.name) this.unlink(message.peerId);
        return;
      case 'tracks': {
        const link = this.links.get(message.peerId);
        if (message.room !== this.name || !link) return;
        link.member.tracks = message.tracks;
        link.streams = message.streams;
        this.showStreams(link);
        return;
      }
      case 'offer':
      case 'answer':
        this.links.get(message.from)?.peer.signal({ type: message.type, sdp: message.sdp });
        return;
      case 'candidate':
        // simple-peer has no use for end-of-candidates.
        if (message.candidate) this.links.get(message.from)?.peer.signal({ type: 'candidate', candidate: message.candidate as RTCIceCandidate });
        return;
      case 'renegotiate':
        this.links.get(message.from)?.peer.signal({ type: 'renegotiate', renegotiate: true });
        return;
      case 'transceiver':
        this.links.get(message.from)?.peer.signal({ type: 'transceiverRequest', transceiverRequest: { kind: message.kind } });
        return;
      default:
        return;
    }
  }

  private link(info: PeerInfo, initiator: boolean): PeerLink {
    const link = new PeerLink(info);
    link.member.tracks = info.tracks;
    link.streams = info.streams;
    const Base = this.options.RTCPeerConnection ?? globalThis.RTCPeerConnection;
    const streamOf = (track: MediaStreamTrack) => [...this.local.values()].find((l) => l.track === track)?.stream;
    // simple-peer keeps its RTCPeerConnection to itself; this subclass, passed through its `wrtc`
    // option, hands it to us for statistics, and keeps each track's stream in the SDP.
    class LinkedPeerConnection extends Base {
      constructor(configuration?: RTCConfiguration) {
        super(configuration);
        link.connection = this;
      }

      // `any`: the DOM typings overload both with the legacy callback forms, which simple-peer never uses.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the overloads cannot be restated without it
      override createOffer(...args: any[]): any {
        this.restateStreams();
        return (super.createOffer as (...a: unknown[]) => unknown).apply(this, args);
      }

      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as createOffer
      override createAnswer(...args: any[]): any {
        this.restateStreams();
        return (super.createAnswer as (...a: unknown[]) => unknown).apply(this, args);
      }

      /**
       * Chromium (156) drops the stream of a track that reused a transceiver (addTrack on one the
       * other side asked for) from every offer after the first: the remote then loses the track from
       * its stream and shows a frozen video. Saying which stream each track is in before every
       * offer and answer keeps `a=msid` right, which is what remote streams are matched by.
       */
      private restateStreams(): void {
        for (const sender of this.getSenders()) {
          const stream = sender.track ? streamOf(sender.track) : undefined;
          if (stream && typeof sender.setStreams === 'function') sender.setStreams(stream);
        }
      }
    }
    link.peer = new SimplePeer({
      initiator,
      trickle: true,
      config: {
        iceServers: this.iceServers(),
        iceTransportPolicy: this.options.iceTransportPolicy ?? 'all',
      },
      wrtc: { RTCPeerConnection: LinkedPeerConnection, RTCSessionDescription: globalThis.RTCSessionDescription, RTCIceCandidate: globalThis.RTCIceCandidate },
    });
    for (const { track, stream } of this.local.values()) link.peer.addTrack(track, stream);
    link.peer.on('signal', (data: SimplePeer.SignalData) => this.forward(link, data));
    link.peer.on('track', (_track: MediaStreamTrack, stream: MediaStream) => {
      link.incoming.set(stream.id, stream);
      this.showStreams(link);
    });
    link.peer.on('connect', () => this.emit('peerConnected', link.member));
    link.peer.on('error', (error: Error) => {
      if (this.links.get(link.member.peerId) !== link) return;
      this.emit('peerError', { member: link.member, error });
      this.unlink(link.member.peerId);
    });
    this.links.set(info.peerId, link);
    return link;
  }

  private iceServers(): RTCIceServer[] {
    const turn = this.signalling.turn;
    return turn.urls.length > 0 ? [{ urls: turn.urls, username: turn.username, credential: turn.credential }] : [];
  }

  /** simple-peer's signals, in the service's words. */
  private forward(link: PeerLink, data: SimplePeer.SignalData): void {
    const to = link.member.peerId;
    switch (data.type) {
      case 'offer':
      case 'answer':
        if ('sdp' in data && data.sdp) this.signalling.send({ type: data.type, to, sdp: data.sdp });
        return;
      case 'candidate':
        this.signalling.send({ type: 'candidate', to, candidate: candidateInit(data.candidate) });
        return;
      case 'renegotiate':
        this.signalling.send({ type: 'renegotiate', to });
        return;
      case 'transceiverRequest':
        this.signalling.send({ type: 'transceiver', to, kind: data.transceiverRequest.kind === 'audio' ? 'audio' : 'video' });
        return;
      default:
        return;
    }
  }

  /**
   * Hands over each announced track whose stream has arrived, and ends those no longer announced.
   * A publisher that gave no stream ids gets its unclaimed streams in order (camera first).
   */
  private showStreams(link: PeerLink): void {
    const claimed = new Set(Object.values(link.streams));
    const unclaimed = [...link.incoming.values()].filter((s) => !claimed.has(s.id));
    for (const kind of TRACK_KINDS) {
      const announced = link.member.tracks.includes(kind);
      const id = link.streams[kind];
      const stream = !announced ? undefined : id !== undefined ? link.incoming.get(id) : unclaimed.shift();
      const shown = link.shown.get(kind);
      if (stream === shown) continue;
      if (shown) {
        link.shown.delete(kind);
        if (!stream) this.emit('remoteStreamEnded', { member: link.member, kind });
      }
      if (stream) {
        link.shown.set(kind, stream);
        this.emit('remoteStream', { member: link.member, kind, stream });
      }
    }
    // A stream once announced and now replaced or withdrawn will not come back.
    for (const id of link.announced) {
      if (claimed.has(id)) continue;
      link.announced.delete(id);
      link.incoming.delete(id);
    }
    for (const id of claimed) if (id !== undefined) link.announced.add(id);
  }

  private unlink(peerId: string): void {
    const link = this.links.get(peerId);
    if (!link) return;
    this.links.delete(peerId);
    link.peer.destroy();
    for (const kind of link.shown.keys()) this.emit('remoteStreamEnded', { member: link.member, kind });
    link.shown.clear();
    this.emit('peerLeft', link.member);
  }

  private startTrack(
    kind: TrackKind,
    capture: (devices: Pick<MediaDevices, 'getUserMedia' | 'getDisplayMedia'>) => Promise<MediaStream>,
  ): Promise<MediaStream> {
    const existing = this.local.get(kind);
    if (existing) return Promise.resolve(existing.stream);
    const inFlight = this.starting.get(kind);
    if (inFlight) return inFlight;
    const started = this.capture(kind, capture).finally(() => this.starting.delete(kind));
    this.starting.set(kind, started);
    return started;
  }

  private async capture(
    kind: TrackKind,
    capture: (devices: Pick<MediaDevices, 'getUserMedia' | 'getDisplayMedia'>) => Promise<MediaStream>,
  ): Promise<MediaStream> {
    if (this.ended) throw new VideoError('not_in_room', 'the room was left');
    // The stream exists before the capture so that the service can announce its id (the msid the
    // others will see in SDP) and refuse before the camera light ever goes on.
    const stream = new MediaStream();
    await this.signalling.request({ type: 'publish', track: kind, stream: stream.id }, 'tracks');
    let captured: MediaStream;
    try {
      const devices = this.options.mediaDevices ?? globalThis.navigator?.mediaDevices;
      if (!devices) throw new Error('this environment has no media devices');
      captured = await capture(devices);
    } catch (err) {
      this.withdraw(kind);
      throw new VideoError('capture_failed', `could not capture the ${kind}: ${(err as Error).message}`, undefined, { cause: err });
    }
    const track = captured.getVideoTracks()[0];
    for (const other of captured.getTracks()) if (other !== track) other.stop();
    if (!track || this.ended) {
      track?.stop();
      this.withdraw(kind);
      throw track ? new VideoError('not_in_room', 'the room was left') : new VideoError('capture_failed', `the ${kind} gave no video track`);
    }
    stream.addTrack(track);
    this.local.set(kind, { stream, track });
    for (const link of this.links.values()) link.peer.addTrack(track, stream);
    // The browser's own "Stop sharing" button, or an unplugged camera.
    track.addEventListener('ended', () => {
      if (this.local.get(kind)?.track === track) void this.stopTrack(kind);
    });
    return stream;
  }

  private async stopTrack(kind: TrackKind): Promise<void> {
    if (!this.dropLocal(kind)) return;
    if (!this.ended && this.signalling.isOpen) await this.signalling.request({ type: 'unpublish', track: kind }, 'tracks').catch(() => undefined);
  }

  /** Stops and removes a local track from every connection; false when there was none. */
  private dropLocal(kind: TrackKind): boolean {
    const local = this.local.get(kind);
    if (!local) return false;
    this.local.delete(kind);
    for (const link of this.links.values()) {
      try {
        link.peer.removeTrack(local.track, local.stream);
      } catch {
        // A connection created after the track was added elsewhere never had it.
      }
    }
    local.track.stop();
    this.emit('localStreamEnded', { kind });
    return true;
  }

  /** Takes back an announcement whose capture did not happen. */
  private withdraw(kind: TrackKind): void {
    if (!this.ended && this.signalling.isOpen) void this.signalling.request({ type: 'unpublish', track: kind }, 'tracks').catch(() => undefined);
  }

  private end(reason: string): void {
    if (this.ended) return;
    if (activeRooms.get(this.signalling) === this) activeRooms.delete(this.signalling);
    for (const kind of [...this.local.keys()]) this.dropLocal(kind);
    this.ended = true;
    for (const stop of this.unsubscribe.splice(0)) stop();
    for (const peerId of [...this.links.keys()]) this.unlink(peerId);
    this.emit('closed', { reason });
    this.removeAllListeners();
  }
}

/**
 * RTCIceCandidateInit as the service accepts it (no undefined fields). simple-peer's typings say
 * RTCIceCandidate; it sends the init fields only.
 */
function candidateInit(c: RTCIceCandidateInit): { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null; usernameFragment?: string | null } {
  return {
    candidate: c.candidate ?? '',
    ...(c.sdpMid !== undefined ? { sdpMid: c.sdpMid } : {}),
    ...(c.sdpMLineIndex !== undefined ? { sdpMLineIndex: c.sdpMLineIndex } : {}),
    ...(c.usernameFragment !== undefined ? { usernameFragment: c.usernameFragment } : {}),
  };
}
