/**
 * Browser side of the video tests and benchmark: the library's SignallingConnection and VideoRoom
 * in a page, driven from Node through `page.evaluate`. Bundled by bundleForBrowser with
 * `globalName: 'videoPage'`. Every remote stream is shown in its own <video>, as an application
 * would; the page records what Node asserts on and never asserts itself.
 */
import { SignallingConnection, VideoError, VideoRoom, type CandidatePairInfo } from '@alloquy/client/video';

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
  /** When the first frame had been received and decoded (WebRTC's receiveTime + processingDuration). */
  firstFrameDecodedAt: number | undefined;
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
/** When the connection to each account came up (performance.now()). */
const connectedAt = new Map<string, number>();
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
      const info: ShownVideo = {
        account: member.account,
        peerId: member.peerId,
        kind,
        videoWidth: 0,
        videoHeight: 0,
        shownAt: performance.now(),
        firstFrameAt: undefined,
        firstFrameDecodedAt: undefined,
      };
      // The callback's own `now` is when the rendering step began, often before the frame even
      // arrived; the metadata says when it was received, decoded (processingDuration, seconds) and presented.
      video.requestVideoFrameCallback((_now, frame) => {
        info.firstFrameAt = frame.presentationTime;
        info.firstFrameDecodedAt = frame.receiveTime !== undefined ? frame.receiveTime + (frame.processingDuration ?? 0) * 1000 : frame.presentationTime;
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
    joined.on('peerConnected', (m) => {
      events.push(`connected ${m.account}`);
      connectedAt.set(m.account, performance.now());
    });
    joined.on('peerError', ({ member, error }) => events.push(`error ${member.account} ${error.message}`));
    return { room: joined.name, peers: joined.members.map((m) => m.account) };
  });
}

export interface FirstFrameTiming {
  /** Milliseconds from asking to join: until the service answered, the peer connection was up, the
   * remote stream was handed over, its first frame was decoded, and that frame was presented. */
  joinedMs: number;
  connectedMs: number;
  streamMs: number;
  decodedMs: number;
  presentedMs: number;
  pair: CandidatePairInfo | undefined;
}

/**
 * Joins `roomName` and times the way to the first frame of `account`'s `kind` (the benchmark).
 * Everything is measured here, in the page, on one clock.
 */
export function timeFirstFrame(
  roomName: string,
  policy: RTCIceTransportPolicy,
  account: string,
  kind: 'camera' | 'screen',
  timeoutMs: number,
): Promise<FirstFrameTiming | PageFailure> {
  return attempt(async () => {
    connectedAt.delete(account);
    const started = performance.now();
    const joined = await join(roomName, policy);
    if ('failed' in joined) throw new Error(`join failed: ${joined.message}`);
    const joinedAt = performance.now();
    const deadline = started + timeoutMs;
    for (;;) {
      const entry = [...shown.values()].find((v) => v.info.account === account && v.info.kind === kind);
      if (entry?.info.firstFrameDecodedAt !== undefined && entry.info.firstFrameAt !== undefined) {
        const peer = requireRoom().members.find((m) => m.account === account);
        const stats = peer ? await requireRoom().stats(peer.peerId) : undefined;
        return {
          joinedMs: joinedAt - started,
          connectedMs: (connectedAt.get(account) ?? Number.NaN) - started,
          streamMs: entry.info.shownAt - started,
          decodedMs: entry.info.firstFrameDecodedAt - started,
          presentedMs: entry.info.firstFrameAt - started,
          pair: stats?.pair,
        };
      }
      if (performance.now() > deadline) throw new Error(`no frame of ${account}'s ${kind} within ${timeoutMs} ms; events: ${events.slice(-8).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
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
