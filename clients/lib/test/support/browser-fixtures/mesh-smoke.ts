/**
 * Browser side of browser.test.ts: one simple-peer per page, bundled by
 * bundleForBrowser with `globalName: 'meshSmoke'`. The test relays signals
 * between pages through Node: each page sends its signals to a function the
 * test exposed under `signalBinding`, and the test hands them to the other
 * page's `signal()`.
 *
 * It records what the test asserts on (remote video size, decoded frames,
 * the selected ICE candidates) and never asserts itself.
 */
import SimplePeer from 'simple-peer';
import { inboundVideo, selectedCandidatePair, type StatsReport } from '@alloquy/client/video';

export interface StartPeerOptions {
  initiator: boolean;
  /** Send the fake camera (getUserMedia video) to the other page. */
  sendCamera: boolean;
  /** Name of the page function (Playwright exposeFunction) that carries this peer's signals out. */
  signalBinding: string;
  iceServers?: RTCIceServer[];
  iceTransportPolicy?: RTCIceTransportPolicy;
}

export interface PeerSample {
  connected: boolean;
  /** Errors simple-peer reported, as messages (a failing test prints them). */
  errors: string[];
  /** Of the <video> showing the remote stream; 0 until a frame has been decoded. */
  videoWidth: number;
  /** Summed over inbound video RTP streams. */
  framesDecoded: number;
  /** candidateType ('host', 'srflx', 'prflx', 'relay') of the selected pair's ends, once ICE has chosen one. */
  localCandidateType: string | undefined;
  remoteCandidateType: string | undefined;
}

export interface ScreenTrackInfo {
  kind: string;
  readyState: MediaStreamTrackState;
  width: number | undefined;
  height: number | undefined;
}

let peer: SimplePeer.Instance | undefined;
let connection: RTCPeerConnection | undefined;
let connected = false;
const errors: string[] = [];

/**
 * simple-peer keeps its RTCPeerConnection private; handing it this subclass
 * through the documented `wrtc` option lets the page read standard getStats().
 */
class RecordedPeerConnection extends RTCPeerConnection {
  constructor(configuration?: RTCConfiguration) {
    super(configuration);
    connection = this;
  }
}

function remoteVideo(): HTMLVideoElement {
  let video = document.querySelector<HTMLVideoElement>('video#remote');
  if (video === null) {
    video = document.createElement('video');
    video.id = 'remote';
    // Muted and inline so autoplay is allowed without a user gesture.
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    document.body.append(video);
  }
  return video;
}

export async function startPeer(options: StartPeerOptions): Promise<void> {
  if (peer !== undefined) throw new Error('this page already has a peer');
  const send = (globalThis as unknown as Record<string, unknown>)[options.signalBinding];
  if (typeof send !== 'function') throw new Error(`no signal binding named ${options.signalBinding}`);
  const stream = options.sendCamera ? await navigator.mediaDevices.getUserMedia({ video: true }) : undefined;
  const config: RTCConfiguration = {
    iceServers: options.iceServers ?? [],
    ...(options.iceTransportPolicy === undefined ? {} : { iceTransportPolicy: options.iceTransportPolicy }),
  };
  const created = new SimplePeer({
    initiator: options.initiator,
    config,
    ...(stream === undefined ? {} : { stream }),
    wrtc: { RTCPeerConnection: RecordedPeerConnection, RTCSessionDescription, RTCIceCandidate },
  });
  peer = created;
  created.on('signal', (data: SimplePeer.SignalData) => {
    void Promise.resolve(send(data)).catch((error: unknown) => errors.push(`relaying a signal: ${String(error)}`));
  });
  created.on('connect', () => {
    connected = true;
  });
  created.on('stream', (remote: MediaStream) => {
    const video = remoteVideo();
    video.srcObject = remote;
    void video.play().catch((error: unknown) => errors.push(`video.play(): ${String(error)}`));
  });
  created.on('error', (error: Error) => errors.push(error.message));
}

/** Feeds a signal that the other page's peer produced. */
export function signal(data: SimplePeer.SignalData): void {
  if (peer === undefined) throw new Error('signal() before startPeer()');
  peer.signal(data);
}

export async function sample(): Promise<PeerSample> {
  const result: PeerSample = {
    connected,
    errors: [...errors],
    videoWidth: document.querySelector<HTMLVideoElement>('video#remote')?.videoWidth ?? 0,
    framesDecoded: 0,
    localCandidateType: undefined,
    remoteCandidateType: undefined,
  };
  if (connection === undefined) return result;
  const stats = (await connection.getStats()) as unknown as StatsReport;
  result.framesDecoded = inboundVideo(stats).framesDecoded;
  const pair = selectedCandidatePair(stats);
  result.localCandidateType = pair?.local.type;
  result.remoteCandidateType = pair?.remote.type;
  return result;
}

/** Starts a screen capture (the fake 1280x720 screen when headless) and reports its video track. */
export async function captureScreen(): Promise<ScreenTrackInfo> {
  const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
  const [track] = stream.getVideoTracks();
  if (track === undefined) throw new Error('getDisplayMedia returned no video track');
  const settings = track.getSettings();
  const info: ScreenTrackInfo = { kind: track.kind, readyState: track.readyState, width: settings.width, height: settings.height };
  track.stop();
  return info;
}

export function close(): void {
  peer?.destroy();
  peer = undefined;
  connection = undefined;
  connected = false;
}
