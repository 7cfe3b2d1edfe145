/**
 * Headless Chromium for browser tests of the client library: Debian's
 * `chromium` driven by playwright-core (npm browsers download their own
 * binaries, which cannot be had here), test code bundled for the page by
 * esbuild, and a loopback HTTP server to load it from.
 *
 * Pages served from http://127.0.0.1 are a secure context, so getUserMedia and
 * getDisplayMedia work; the fake-media flags give every page a synthetic
 * camera, microphone and 1280x720 screen without prompting.
 */
import { constants, existsSync } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/**
 * Exactly these, and not `--auto-select-desktop-capture-source`: with it,
 * headless getDisplayMedia never resolves, while without it the fake-UI flag
 * already accepts the fake screen.
 */
export const CHROMIUM_ARGS: readonly string[] = Object.freeze([
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  // On a loopback-only host Chromium otherwise gathers no host candidate at all.
  '--allow-loopback-in-peer-connection',
]);

export interface LaunchChromiumOptions {
  /** Default: $ALLOQUY_CHROMIUM, else /usr/bin/chromium. */
  executablePath?: string;
}

export interface ChromiumSession {
  /** One browser profile; its pages share cookies and storage. */
  context: BrowserContext;
  newPage(): Promise<Page>;
  /** Closes the browser and removes its profile folder. Safe to call twice. */
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile in a temporary folder and camera/microphone granted. */
export async function launchChromium(options: LaunchChromiumOptions = {}): Promise<ChromiumSession> {
  const executablePath = options.executablePath ?? process.env.ALLOQUY_CHROMIUM ?? DEFAULT_CHROMIUM;
  try {
    await access(executablePath, constants.X_OK);
  } catch {
    throw new Error(
      `Chromium not found at ${executablePath}: scripts/test installs Debian's "chromium" package ` +
        `(apt-get install chromium), or set ALLOQUY_CHROMIUM to another Chromium binary.`,
    );
  }
  // Playwright refuses --user-data-dir in args; a persistent context is how it takes a profile folder.
  const profileDir = await mkdtemp(join(tmpdir(), 'alloquy-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
      permissions: ['camera', 'microphone'],
    });
  } catch (error) {
    await rm(profileDir, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    context,
    newPage: () => context.newPage(),
    close: () => (closing ??= context.close().finally(() => rm(profileDir, { recursive: true, force: true }))),
  };
}

export interface BundleOptions {
  /** Name of the global the entry's exports are assigned to (IIFE `globalName`); none by default. */
  globalName?: string;
}

/**
 * clients/lib: the nearest folder with a package.json, whether this runs from test/support (tests)
 * or from dist-bench/test/support (the video benchmark).
 */
export function clientPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

const packageRoot = clientPackageRoot();
const requireFromPackage = createRequire(join(packageRoot, 'package.json'));
/** esbuild reads the TypeScript sources, so the benchmark bundles the same files as the tests. */
const nodeGlobalsShim = join(packageRoot, 'test', 'support', 'browser-shims', 'node-globals.ts');
const bundles = new Map<string, Promise<string>>();

/**
 * Bundles a TypeScript entry and everything it imports into one IIFE script
 * for a page. Node built-ins that simple-peer needs (`events`, `buffer`,
 * `process`) come from their npm polyfills. Bundles are cached for the life of
 * the process, keyed by entry and options; a failed build is not cached.
 */
export function bundleForBrowser(entryPath: string, options: BundleOptions = {}): Promise<string> {
  const entry = resolve(entryPath);
  const key = JSON.stringify([entry, options.globalName ?? null]);
  let bundle = bundles.get(key);
  if (bundle === undefined) {
    bundle = buildBundle(entry, options);
    bundles.set(key, bundle);
    bundle.catch(() => bundles.delete(key));
  }
  return bundle;
}

async function buildBundle(entry: string, options: BundleOptions): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    ...(options.globalName === undefined ? {} : { globalName: options.globalName }),
    sourcemap: 'inline',
    logLevel: 'silent',
    // The trailing slash makes require.resolve find the npm package, not Node's built-in of the same name.
    alias: {
      events: requireFromPackage.resolve('events/'),
      buffer: requireFromPackage.resolve('buffer/'),
      process: requireFromPackage.resolve('process/browser.js'),
    },
    inject: [nodeGlobalsShim],
    // randombytes (via simple-peer) reads `global.crypto`.
    define: { global: 'globalThis' },
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error(`esbuild produced no output for ${entry}`);
  return output.text;
}

export interface StaticFile {
  contentType: string;
  body: string | Buffer;
}

export interface StaticServer {
  /** Base address without a trailing slash, e.g. http://127.0.0.1:40123. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves exactly `files` (keys are paths such as "/index.html") on
 * 127.0.0.1, a free port; anything else is 404. Loopback http counts as a
 * secure context, which the media APIs require.
 */
export async function serveStatic(files: Record<string, StaticFile>): Promise<StaticServer> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const file = Object.hasOwn(files, path) ? files[path] : undefined;
    if (file === undefined || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    response.writeHead(200, { 'content-type': file.contentType, 'cache-control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : file.body);
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') {
    server.close();
    throw new Error('static server has no TCP address');
  }
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      (closing ??= new Promise<void>((resolveClose, reject) => {
        server.close((error) => (error === undefined ? resolveClose() : reject(error)));
        // Pages keep connections alive; without this close() waits for them to time out.
        server.closeAllConnections();
      })),
  };
}
