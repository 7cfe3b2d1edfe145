import { createServer, type Server as HttpServer } from 'node:http';
import type { Logger } from '@alloquy/service-kit/log';
import { WebSocketServer, type WebSocket } from 'ws';
import type { VoiceAccess } from './authz/voice-access.js';
import type { SignallingConfig } from './config/config.js';
import { Health } from '@alloquy/service-kit/health';
import { bearerFromHeader, closeHttp, listenHttp } from '@alloquy/service-kit/http';
import { createSignallingApp } from './http/app.js';
import { SignallingMetrics } from './metrics/metrics.js';
import { Rooms } from './rooms/rooms.js';
import { mintTurnCredentials } from './turn/turn-credentials.js';
import { turnRoutes } from './turn/turn-routes.js';
import { Session } from './ws/session.js';
import { ensureSecret } from '@alloquy/service-kit/config';

export const VERSION = '0.1.0';
export const SIGNALLING_PATH = '/api/v1/signalling';

/** A connection that answers no ping for this long is dropped (and leaves its room). */
const HEARTBEAT_MS = 30_000;

export interface SignallingServerDeps {
  access: VoiceAccess;
  /** Injectable clock (ms), for tests of expiry. */
  now?: () => number;
}

export interface SignallingServer {
  config: SignallingConfig;
  rooms: Rooms;
  metrics: SignallingMetrics;
  /** The HTTP port actually bound (differs from config when it asked for 0). */
  httpPort: number;
  stop(): Promise<void>;
}

/** Starts the signalling service: WebSocket rooms at SIGNALLING_PATH, TURN credentials, health and metrics. */
export async function startSignallingServer(config: SignallingConfig, log: Logger, deps: SignallingServerDeps): Promise<SignallingServer> {
  const now = deps.now ?? Date.now;
  // Created here if coturn's setup has not made it yet; both read the same file.
  const turnSecret = ensureSecret(config.turn.secretPath);
  const metrics = new SignallingMetrics();
  const health = new Health();
  const rooms = new Rooms();
  const mintTurn = (account: string, via: 'welcome' | 'refresh' | 'renew' | 'http') => {
    metrics.turnCredentials.inc({ via });
    return mintTurnCredentials({ secret: turnSecret, account, urls: config.turn.urls, ttlSeconds: config.turn.ttlSeconds, nowMs: now() });
  };

  const app = createSignallingApp({
    routes: turnRoutes({ mintTurn }),
    access: deps.access,
    health,
    metrics,
    log: log.child({ component: 'http' }),
    version: VERSION,
  });
  const http: HttpServer = createServer(app);
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.limits.maxMessageBytes });
  health.register('websocket', () => ({ status: 'up', connections: wss.clients.size, rooms: rooms.size, members: rooms.memberCount }));

  const alive = new WeakSet<WebSocket>();
  http.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== SIGNALLING_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      metrics.connections.inc();
      alive.add(ws);
      ws.on('pong', () => alive.add(ws));
      ws.on('error', (err) => log.debug({ err }, 'websocket error'));
      new Session(
        ws,
        { access: deps.access, rooms, metrics, log: log.child({ component: 'session' }), mintTurn, limits: config.limits, now },
        bearerFromHeader(req.headers.authorization),
      );
    });
  });
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  const httpPort = await listenHttp(http, config.http.port, config.http.host);
  log.info({ http: `${config.http.host}:${httpPort}`, turn: config.turn.urls }, 'signalling service started');

  return {
    config,
    rooms,
    metrics,
    httpPort,
    async stop() {
      clearInterval(heartbeat);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await closeHttp(http);
    },
  };
}
