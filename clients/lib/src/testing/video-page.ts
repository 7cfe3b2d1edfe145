/**
 * Browser side of the video tests and benchmark: the library's SignallingConnection and VideoRoom
 * in a page, driven from Node through `page.evaluate`. Bundled by bundleForBrowser with
 * `globalName: 'videoPage'`. Every remote stream is shown in its own <video>, as an application
 * would; the page records what Node asserts on and never asserts itself.
 */
import { SignallingConnection } from '../video/signalling-connection.js';
import { VideoError } from '../video/errors.js';
import { VideoRoom } from '../video/video-room.js';
import type { CandidatePairInfo } from '../video/stats.js';

export interface PageFailure {
  failed: true;
  code: string;
  serverCode?: string;
  message: string;
}

export interface ShownVideo {
  account: string;
  peerId: string;
  kind: 'camera' | 'screen';
  videoWidth: number;
  videoHeight: number;
  /** performance.now() when the stream was handed over, and when its first frame was presented. */
  shownAt: number;
  firstFrameAt: number | undefined;
}

export interface PeerSample {
  account: string;
  peerId: string;
  framesDecoded: number;
  pair: CandidatePairInfo | undefined;
}

let signalling: SignallingConnection | undefined;
let room: VideoRoom | undefined;
const shown = new Map<string, { video: HTMLVideoElement; info: ShownVideo }>();
const events: string[] = [];
const serviceErrors: Array<{ code: string; message: string }> = [];

function failure(err: unknown): PageFailure {
  if (err instanceof VideoError) return { failed: true, code: err.code, ...(err.serverCode ? { serverCode: err.serverCode } : {}), message: err.message };
  return { failed: true, code: 'exception', message: String((err as Error)?.message ?? err) };
}

async function attempt<T>(action: () => Promise<T>): Promise<T | PageFailure> {
  try {
    return await action();
  } catch (err) {
    return failure(err);
  }
}

export function connect(url: string, token: string): Promise<{ peerId: string; account: string; turnUrls: string[] } | PageFailure> {
  return attempt(async () => {
    signalling = await SignallingConnection.open({ url, token });
    signalling.on('serviceError', (e) => serviceErrors.push({ code: e.code, message: e.message }));
    return { peerId: signalling.peerId, account: signalling.account, turnUrls: signalling.turn.urls };
  });
}

export function join(name: string, iceTransportPolicy: RTCIceTransportPolicy = 'all'): Promise<{ room: string; peers: string[] } | PageFailure> {
  return attempt(async () => {
    const joined = await VideoRoom.join(requireSignalling(), name, { iceTransportPolicy });
    room = joined;
    joined.on('remoteStream', ({ member, kind, stream }) => {
      events.push(`stream ${member.account} ${kind}`);
      const key = `${member.peerId}/${kind}`;
      shown.get(key)?.video.remove();
      const video = document.createElement('video');
      video.muted = true;
      video.autoplay = true;
      video.playsInline = true;
      video.dataset.key = key;
      const info: ShownVideo = { account: member.account, peerId: member.peerId, kind, videoWidth: 0, videoHeight: 0, shownAt: performance.now(), firstFrameAt: undefined };
      video.requestVideoFrameCallback((now) => {
        info.firstFrameAt = now;
      });
      video.srcObject = stream;
      document.body.append(video);
      shown.set(key, { video, info });
    });
    joined.on('remoteStreamEnded', ({ member, kind }) => {
      events.push(`ended ${member.account} ${kind}`);
      const key = `${member.peerId}/${kind}`;
      shown.get(key)?.video.remove();
      shown.delete(key);
    });
    joined.on('peerJoined', (m) => events.push(`joined ${m.account}`));
    joined.on('peerLeft', (m) => events.push(`left ${m.account}`));
    joined.on('peerConnected', (m) => events.push(`connected ${m.account}`));
    joined.on('peerError', ({ member, error }) => events.push(`error ${member.account} ${error.message}`));
    return { room: joined.name, peers: joined.members.map((m) => m.account) };
  });
}

/** Starts the camera or screen; answers the local track's size. */
export function start(kind: 'camera' | 'screen'): Promise<{ width: number; height: number } | PageFailure> {
  return attempt(async () => {
    const stream = kind === 'camera' ? await requireRoom().startCamera() : await requireRoom().startScreen();
    const settings = stream.getVideoTracks()[0]!.getSettings();
    return { width: settings.width ?? 0, height: settings.height ?? 0 };
  });
}

export function stop(kind: 'camera' | 'screen'): Promise<true | PageFailure> {
  return attempt(async () => {
    await (kind === 'camera' ? requireRoom().stopCamera() : requireRoom().stopScreen());
    return true as const;
  });
}

/** Whether a local stream is being captured (a refused publish must leave the camera off). */
export function capturing(kind: 'camera' | 'screen'): boolean {
  return room?.localStream(kind)?.getVideoTracks()[0]?.readyState === 'live';
}

/** The remote videos shown now. */
export function videos(): ShownVideo[] {
  return [...shown.values()].map(({ video, info }) => ({ ...info, videoWidth: video.videoWidth, videoHeight: video.videoHeight }));
}

/** Decoded frames and the candidate pair in use, per remote member. */
export async function peers(): Promise<PeerSample[]> {
  const current = requireRoom();
  const samples: PeerSample[] = [];
  for (const member of current.members) {
    const stats = await current.stats(member.peerId);
    samples.push({ account: member.account, peerId: member.peerId, framesDecoded: stats?.video.framesDecoded ?? 0, pair: stats?.pair });
  }
  return samples;
}

export function log(): { events: string[]; serviceErrors: Array<{ code: string; message: string }> } {
  return { events: [...events], serviceErrors: [...serviceErrors] };
}

/** Sends a raw protocol message (for refusals the room object would never send). */
export function sendRaw(message: Record<string, unknown>): void {
  requireSignalling().send(message as never);
}

export function leave(): Promise<true | PageFailure> {
  return attempt(async () => {
    await room?.leave();
    room = undefined;
    for (const { video } of shown.values()) video.remove();
    shown.clear();
    return true as const;
  });
}

export async function close(): Promise<void> {
  await leave();
  signalling?.close();
  signalling = undefined;
}

/**
 * Gathers ICE candidates through TURN only, with the credentials given: a TURN server that accepts
 * them yields relay candidates, one that refuses them (401) yields none and an icecandidateerror.
 */
export async function probeTurn(server: RTCIceServer): Promise<{ relayCandidates: number; errorCodes: number[] }> {
  const pc = new RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'relay' });
  const errorCodes: number[] = [];
  let relayCandidates = 0;
  pc.addEventListener('icecandidateerror', (e) => errorCodes.push((e as RTCPeerConnectionIceErrorEvent).errorCode));
  const done = new Promise<void>((resolve) => {
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate === null) resolve();
      else if (e.candidate.type === 'relay') relayCandidates += 1;
    });
  });
  pc.createDataChannel('probe');
  await pc.setLocalDescription(await pc.createOffer());
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  pc.close();
  return { relayCandidates, errorCodes };
}

function requireSignalling(): SignallingConnection {
  if (!signalling) throw new VideoError('connection_closed', 'connect first');
  return signalling;
}

function requireRoom(): VideoRoom {
  if (!room) throw new VideoError('not_in_room', 'join first');
  return room;
}

