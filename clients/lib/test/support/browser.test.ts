/**
 * Proves the browser harness end to end: simple-peer bundled by esbuild runs
 * in Debian's headless Chromium, two pages exchange the fake camera over a
 * real WebRTC connection (signals relayed through this test), directly and
 * through a real coturn with TURN REST credentials, and the fake screen is
 * capturable.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCoturn, turnRestCredentials, type CoturnHandle } from '@alloquy/stack/coturn/process.js';
import { freePort, freeUdpPortRange } from '@alloquy/stack';
import type { Page } from 'playwright-core';
import type { SignalData } from 'simple-peer';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type * as MeshSmoke from './browser-fixtures/mesh-smoke.js';
import { bundleForBrowser, launchChromium, serveStatic, type ChromiumSession, type StaticServer } from './browser.js';

declare global {
  // The fixture bundle's exports, as its IIFE assigns them on each page.
  var meshSmoke: typeof MeshSmoke;
}

const FIXTURE = fileURLToPath(new URL('./browser-fixtures/mesh-smoke.ts', import.meta.url));
const SIGNAL_BINDING = 'relaySignal';
const TURN_REALM = 'alloquy.test';
const WAIT_MS = 30_000;

const PAGE = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>mesh smoke</title></head>
  <body><script src="/mesh-smoke.js"></script></body>
</html>
`;

let session: ChromiumSession;
let server: StaticServer;
let turnDir: string;
let coturn: CoturnHandle;
let turnPort: number;
const turnSecret = randomBytes(32).toString('hex');

beforeAll(async () => {
  const script = await bundleForBrowser(FIXTURE, { globalName: 'meshSmoke' });
  server = await serveStatic({
    '/': { contentType: 'text/html; charset=utf-8', body: PAGE },
    '/mesh-smoke.js': { contentType: 'text/javascript; charset=utf-8', body: script },
  });
  session = await launchChromium();
  turnDir = await mkdtemp(join(tmpdir(), 'alloquy-browser-coturn-'));
  turnPort = await freePort();
  const relay = await freeUdpPortRange(20);
  coturn = await startCoturn({
    workDir: turnDir,
    port: turnPort,
    relayMin: relay.min,
    relayMax: relay.max,
    secret: turnSecret,
    realm: TURN_REALM,
    allowLoopbackPeers: true,
  });
}, 60_000);

afterAll(async () => {
  await session?.close();
  await coturn?.stop();
  await server?.close();
  if (turnDir !== undefined) await rm(turnDir, { recursive: true, force: true });
});

/** A fresh page with the fixture loaded; uncaught page errors are collected for failure messages. */
async function openPage(pageErrors: string[], bindSignals?: (signal: SignalData) => Promise<void>): Promise<Page> {
  const page = await session.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  if (bindSignals !== undefined) await page.exposeFunction(SIGNAL_BINDING, bindSignals);
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => typeof globalThis.meshSmoke?.startPeer === 'function');
  return page;
}

interface Pair {
  sender: Page;
  receiver: Page;
  pageErrors: string[];
}

/** Two pages, each with one peer; the sender offers its fake camera, signals go page → Node → page. */
async function connectPair(config: { iceServers?: RTCIceServer[]; iceTransportPolicy?: RTCIceTransportPolicy }): Promise<Pair> {
  const pageErrors: string[] = [];
  // The bindings refer to each other's page, which exists only once both are open.
  const pages: { sender?: Page; receiver?: Page } = {};
  const relayTo =
    (target: 'sender' | 'receiver') =>
    async (signal: SignalData): Promise<void> => {
      const page = pages[target];
      if (page === undefined) throw new Error(`signal for the ${target} before its page was open`);
      await page.evaluate((data) => globalThis.meshSmoke.signal(data), signal);
    };
  const sender = await openPage(pageErrors, relayTo('receiver'));
  const receiver = await openPage(pageErrors, relayTo('sender'));
  Object.assign(pages, { sender, receiver });
  onTestFinished(async () => {
    // pc.close() releases the TURN allocations; stale ones make coturn answer 437 on port reuse.
    for (const page of [sender, receiver]) {
      await page.evaluate(() => globalThis.meshSmoke.close()).catch(() => undefined);
      await page.close();
    }
  });
  const common = { signalBinding: SIGNAL_BINDING, ...config };
  // The receiver exists before the sender's first signal can reach it.
  await receiver.evaluate((options) => globalThis.meshSmoke.startPeer(options), { ...common, initiator: false, sendCamera: false });
  await sender.evaluate((options) => globalThis.meshSmoke.startPeer(options), { ...common, initiator: true, sendCamera: true });
  return { sender, receiver, pageErrors };
}

type PeerSample = MeshSmoke.PeerSample;

/** Polls the page's peer until `ready` holds; on timeout the error shows the last sample and page errors. */
async function waitForSample(page: Page, pageErrors: string[], what: string, ready: (sample: PeerSample) => boolean): Promise<PeerSample> {
  const deadline = Date.now() + WAIT_MS;
  let last: PeerSample | undefined;
  while (Date.now() < deadline) {
    last = await page.evaluate(() => globalThis.meshSmoke.sample());
    if (ready(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}; last sample ${JSON.stringify(last)}; page errors ${JSON.stringify(pageErrors)}`);
}

/** The receiver shows the sender's camera: a sized <video> and a frame counter that keeps moving. */
async function expectVideoFlowing(pair: Pair): Promise<void> {
  const { receiver, pageErrors } = pair;
  const shown = await waitForSample(receiver, pageErrors, 'remote video to have a size', (sample) => sample.videoWidth > 0);
  expect(shown.errors).toEqual([]);
  const first = await waitForSample(receiver, pageErrors, 'a decoded frame', (sample) => sample.framesDecoded > 0);
  await waitForSample(receiver, pageErrors, 'more decoded frames', (sample) => sample.framesDecoded > first.framesDecoded);
}

async function selectedCandidateTypes(pair: Pair): Promise<{ sender: PeerSample; receiver: PeerSample }> {
  const chosen = (sample: PeerSample): boolean => sample.localCandidateType !== undefined && sample.remoteCandidateType !== undefined;
  return {
    sender: await waitForSample(pair.sender, pair.pageErrors, 'a selected candidate pair (sender)', chosen),
    receiver: await waitForSample(pair.receiver, pair.pageErrors, 'a selected candidate pair (receiver)', chosen),
  };
}

describe('browser harness', () => {
  it('streams a fake camera between two pages over a direct connection', async () => {
    const pair = await connectPair({});
    await expectVideoFlowing(pair);
    const selected = await selectedCandidateTypes(pair);
    // Loopback host candidates: the contrast that makes the relay case meaningful.
    expect(selected.sender.localCandidateType).toBe('host');
    expect(selected.receiver.localCandidateType).toBe('host');
    expect(pair.pageErrors).toEqual([]);
  });

  it('streams a fake camera through coturn with relay-only ICE and TURN REST credentials', async () => {
    const { username, password } = turnRestCredentials(turnSecret, 'browser-test', new Date(Date.now() + 600_000));
    const pair = await connectPair({
      iceServers: [{ urls: `turn:127.0.0.1:${turnPort}?transport=udp`, username, credential: password }],
      iceTransportPolicy: 'relay',
    });
    await expectVideoFlowing(pair);
    const selected = await selectedCandidateTypes(pair);
    expect(selected.sender.localCandidateType).toBe('relay');
    expect(selected.receiver.localCandidateType).toBe('relay');
    expect(pair.pageErrors).toEqual([]);
  });

  it('captures the fake screen with getDisplayMedia', async () => {
    const pageErrors: string[] = [];
    const page = await openPage(pageErrors);
    onTestFinished(() => page.close());
    const screen = await page.evaluate(() => globalThis.meshSmoke.captureScreen());
    expect(screen.kind).toBe('video');
    expect(screen.readyState).toBe('live');
    expect(screen.width).toBeGreaterThan(0);
    expect(screen.height).toBeGreaterThan(0);
  });

  it('serves only the files it was given', async () => {
    const missing = await fetch(`${server.url}/nope.js`);
    expect(missing.status).toBe(404);
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toBe(PAGE);
  });

  it('names scripts/test when the Chromium binary is missing', async () => {
    await expect(launchChromium({ executablePath: '/nonexistent/chromium' })).rejects.toThrow(/scripts\/test installs Debian's "chromium"/);
  });

  it('builds each entry once per process', () => {
    // The same promise, not merely an equal script: esbuild did not run again.
    expect(bundleForBrowser(FIXTURE, { globalName: 'meshSmoke' })).toBe(bundleForBrowser(FIXTURE, { globalName: 'meshSmoke' }));
    expect(bundleForBrowser(FIXTURE)).not.toBe(bundleForBrowser(FIXTURE, { globalName: 'meshSmoke' }));
  });
});
