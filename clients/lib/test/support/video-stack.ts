/**
 * What the video browser tests and the video benchmark stand on: the whole stack as `scripts/up`
 * runs it (control server, signalling service, coturn, ...) on free loopback ports, accounts
 * made through the control server's HTTP API, headless Chromium, and a page per user running the
 * library's video module (video-page.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type RunningStack } from '@alloquy/stack';
import type { Page } from 'playwright-core';
import { bundleForBrowser, clientPackageRoot, launchChromium, serveStatic, type ChromiumSession, type StaticServer } from './browser.js';
import type * as VideoPageModule from './video-page.js';

type VideoPageApi = typeof VideoPageModule;
declare global {
  // The bundle's exports, as the page sees them.
  var videoPage: VideoPageApi;
}

/** The page's TypeScript source, for the tests and the benchmark alike: esbuild reads it. */
const PAGE_ENTRY = join(clientPackageRoot(), 'test', 'support', 'video-page.ts');

export interface VideoStack {
  stack: RunningStack;
  /** ws://127.0.0.1:<port>/api/v1/signalling */
  signallingUrl: string;
  /** An access token per account created. */
  tokens: Record<string, string>;
  /** Calls the control server's HTTP API as `token`; throws on a status of 300 or more. */
  api(method: string, path: string, body: unknown, token: string): Promise<any>;
  /** A new page (its own tab) running the video module. */
  newUserPage(): Promise<VideoPage>;
  close(): Promise<void>;
}

/**
 * Starts the stack and the browser; `accounts` are registered in order (the first one is the
 * server's owner and administrator) and signed in.
 */
export async function startVideoStack(accounts: readonly string[]): Promise<VideoStack> {
  const home = await mkdtemp(join(tmpdir(), 'alloquy-video-'));
  let stack: RunningStack | undefined;
  let browser: ChromiumSession | undefined;
  let server: StaticServer | undefined;
  try {
    const bundle = await bundleForBrowser(PAGE_ENTRY, { globalName: 'videoPage' });
    stack = await startStack({ home, timeoutMs: 60_000 });
    const baseUrl = stack.httpUrl;
    const api = async (method: string, path: string, body: unknown, token?: string): Promise<any> => {
      const response = await fetch(`${baseUrl}/api/v1${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };
    const tokens: Record<string, string> = {};
    for (const username of accounts) {
      const credentials = { username, password: `${username}-password-123` };
      await api('POST', '/accounts', credentials);
      tokens[username] = ((await api('POST', '/sessions', credentials)) as { access_token: string }).access_token;
    }
    server = await serveStatic({
      '/': {
        contentType: 'text/html; charset=utf-8',
        body: '<!doctype html><meta charset="utf-8"><title>Alloquy video</title><script src="/video-page.js"></script>',
      },
      '/video-page.js': { contentType: 'text/javascript; charset=utf-8', body: bundle },
    });
    browser = await launchChromium();
    const running = { stack, browser, server };
    const pages: VideoPage[] = [];
    return {
      stack,
      signallingUrl: `ws://127.0.0.1:${stack.ports.signalling}/api/v1/signalling`,
      tokens,
      api,
      async newUserPage() {
        const page = await running.browser.newPage();
        await page.goto(`${running.server.url}/`);
        const videoPage = new VideoPage(page);
        pages.push(videoPage);
        return videoPage;
      },
      async close() {
        // Peer connections closed before the browser, or coturn keeps their allocations.
        for (const page of pages) await page.close().catch(() => undefined);
        await running.browser.close();
        await running.server.close();
        await running.stack.stop();
        await rm(home, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    await stack?.stop().catch(() => undefined);
    await rm(home, { recursive: true, force: true });
    throw err;
  }
}

/** One user's tab, driving video-page.ts. */
export class VideoPage {
  constructor(readonly page: Page) {}

  connect(url: string, token: string) {
    return this.page.evaluate(([u, t]) => globalThis.videoPage.connect(u, t), [url, token] as const);
  }

  join(room: string, policy: RTCIceTransportPolicy = 'all') {
    return this.page.evaluate(([r, p]) => globalThis.videoPage.join(r, p), [room, policy] as const);
  }

  start(kind: 'camera' | 'screen') {
    return this.page.evaluate((k) => globalThis.videoPage.start(k), kind);
  }

  stop(kind: 'camera' | 'screen') {
    return this.page.evaluate((k) => globalThis.videoPage.stop(k), kind);
  }

  capturing(kind: 'camera' | 'screen') {
    return this.page.evaluate((k) => globalThis.videoPage.capturing(k), kind);
  }

  videos() {
    return this.page.evaluate(() => globalThis.videoPage.videos());
  }

  peers() {
    return this.page.evaluate(() => globalThis.videoPage.peers());
  }

  log() {
    return this.page.evaluate(() => globalThis.videoPage.log());
  }

  sendRaw(message: Record<string, unknown>) {
    return this.page.evaluate((m) => globalThis.videoPage.sendRaw(m), message);
  }

  leave() {
    return this.page.evaluate(() => globalThis.videoPage.leave());
  }

  timeFirstFrame(room: string, policy: RTCIceTransportPolicy, account: string, kind: 'camera' | 'screen', timeoutMs: number) {
    return this.page.evaluate(([r, p, a, k, t]) => globalThis.videoPage.timeFirstFrame(r, p, a, k, t), [room, policy, account, kind, timeoutMs] as const);
  }

  probeTurn(server: RTCIceServer) {
    return this.page.evaluate((s) => globalThis.videoPage.probeTurn(s), server);
  }

  async close(): Promise<void> {
    if (this.page.isClosed()) return;
    await this.page.evaluate(() => globalThis.videoPage.close()).catch(() => undefined);
    await this.page.close();
  }
}
