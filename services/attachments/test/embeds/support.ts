import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import sharp from 'sharp';

export interface SeenRequest {
  path: string;
  host: string | undefined;
  servername?: string | false | null;
  userAgent: string | undefined;
}

/** A real HTTP(S) server on loopback that records what reached it. */
export interface TestServer {
  port: number;
  /** `http://127.0.0.1:<port>` (or https). */
  origin: string;
  requests: SeenRequest[];
  /** Responses the client dropped before the server finished writing them. */
  abandoned: number;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

export async function startServer(handler: Handler, options: { host?: string; tls?: { key: string; cert: string } } = {}): Promise<TestServer> {
  const host = options.host ?? '127.0.0.1';
  const requests: SeenRequest[] = [];
  const state = { abandoned: 0 };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    requests.push({
      path: req.url ?? '',
      host: req.headers.host,
      userAgent: req.headers['user-agent'],
      ...(options.tls ? { servername: (req.socket as TLSSocket).servername } : {}),
    });
    res.on('close', () => {
      if (!res.writableFinished) state.abandoned++;
    });
    Promise.resolve(handler(req, res)).catch((err: unknown) => {
      res.destroy(err as Error);
    });
  };
  const server: Server = options.tls ? createHttpsServer(options.tls, listener) : createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    port,
    origin: `${options.tls ? 'https' : 'http'}://${hostPart}:${port}`,
    requests,
    get abandoned() {
      return state.abandoned;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function ogPage(fields: {
  title?: string;
  description?: string;
  image?: string;
  siteName?: string;
  oembed?: string;
  extraHead?: string;
  body?: string;
}): string {
  const meta = [
    fields.title && `<meta property="og:title" content="${fields.title}">`,
    fields.description && `<meta property="og:description" content="${fields.description}">`,
    fields.siteName && `<meta property="og:site_name" content="${fields.siteName}">`,
    fields.image && `<meta property="og:image" content="${fields.image}">`,
    fields.oembed && `<link rel="alternate" type="application/json+oembed" href="${fields.oembed}">`,
    fields.extraHead,
  ]
    .filter(Boolean)
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Fallback title</title>${meta}</head><body>${fields.body ?? '<p>Hello</p>'}</body></html>`;
}

export function sendHtml(res: ServerResponse, html: string): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
  res.end(html);
}

/** A real PNG made by sharp (a gradient, so it does not compress to nothing). */
export async function makePng(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7) & 255;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** Writes `total` bytes of `chunk` with backpressure; stops when the client goes away. */
export async function streamBytes(res: ServerResponse, chunk: Buffer, total: number): Promise<void> {
  let sent = 0;
  while (sent < total && !res.destroyed) {
    const ok = res.write(chunk);
    sent += chunk.length;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end();
}

/** A self-signed certificate for `hostname` (openssl). */
export function selfSignedCert(hostname: string): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'alloquy-embed-tls-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      `/CN=${hostname}`,
      '-addext',
      `subjectAltName=DNS:${hostname}`,
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

/** A resolver that knows only the names it is given (and counts how often it was asked). */
export function fakeResolver(
  names: Record<string, string[] | (() => string[])>,
): ((hostname: string) => Promise<Array<{ address: string }>>) & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    const entry = names[hostname];
    if (!entry) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return (typeof entry === 'function' ? entry() : entry).map((address) => ({ address }));
  };
  return Object.assign(resolve, { calls });
}
