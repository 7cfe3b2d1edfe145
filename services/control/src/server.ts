import { createServer } from 'node:http';
import type { Logger } from '@alloquy/service-kit/log';
import { AccountService } from './accounts/account-service.js';
import { createAccountService } from './accounts/create-account-service.js';
import type { ControlConfig } from './config/config.js';
import { GuildService, accountActor } from './guild/service.js';
import { HistoryStore } from './history/store.js';
import { startHistServ, type HistServ } from './histserv/index.js';
import { Health } from '@alloquy/service-kit/health';
import { startAccessServer, type AccessServer } from './grpc/access-server.js';
import { createHttpApp } from './http/app.js';
import { closeHttp, listenHttp } from '@alloquy/service-kit/http';
import { accountRoutes } from './http/routes/account-routes.js';
import { adminRoutes } from './http/routes/admin-routes.js';
import { guildRoutes } from './http/routes/guild-routes.js';
import { historyRoutes } from './http/routes/history-routes.js';
import { voiceRoutes } from './http/routes/voice-routes.js';
import { ControlMetrics } from './metrics/metrics.js';
import { startOperatorSocket } from './operator/operator-socket.js';
import { openControlDatabase, type Db } from './store/database.js';
import { startIrcServices, type IrcServices } from './irc-services.js';
import { startMurmurServices, type MurmurServices } from './murmur/index.js';
import { MurmurStore } from './murmur/store.js';
import { VoiceChannels } from './guild/voice-channels.js';

export const VERSION = '0.1.0';

/** The running control server: every part, wired once, stoppable as a whole. */
export interface ControlServer {
  config: ControlConfig;
  db: Db;
  accounts: AccountService;
  metrics: ControlMetrics;
  health: Health;
  irc: IrcServices | undefined;
  /** Undefined when Murmur is switched off (ALLOQUY_MURMUR=false). */
  murmur: MurmurServices | undefined;
  voiceChannels: VoiceChannels;
  guild: GuildService;
  /** The HTTP port actually bound (differs from config when it asked for 0). */
  httpPort: number;
  /** The gRPC Access service for attachments and signalling; `grpc.port` is the port actually bound. */
  grpc: AccessServer;
  stop(): Promise<void>;
}

export async function startControlServer(config: ControlConfig, log: Logger): Promise<ControlServer> {
  const db = openControlDatabase(config.database.path);
  const accounts = createAccountService(config, db);
  const metrics = new ControlMetrics();
  metrics.observeAccounts(accounts);
  const health = new Health();
  health.register('database', () => {
    db.prepare('SELECT 1').get();
    return { status: 'up' };
  });

  // History owns its tables; the guild moves or forgets a text channel's history through it.
  const historyStore = new HistoryStore(db);
  const guild = new GuildService(db, accounts, { history: historyStore, log: log.child({ component: 'guild' }) });

  const irc = config.irc.enabled
    ? startIrcServices(config, accounts, metrics, health, log.child({ component: 'irc-link' }), guild, {
        // A topic set on IRC by someone with MANAGE_CHANNELS there is a model change, audited like any other.
        onTopicFromIrc: (username, channel, topic) => {
          const account = accounts.find(username);
          if (account) guild.updateChannel(accountActor(account), channel.id, { topic });
        },
      })
    : undefined;
  const histserv: HistServ | undefined = irc
    ? startHistServ({ link: irc.link, histserv: irc.histserv, guild, store: historyStore, log: log.child({ component: 'histserv' }) })
    : undefined;
  const voiceChannels = new VoiceChannels(db);
  const murmur = config.murmur.enabled
    ? startMurmurServices(config, {
        db,
        accounts,
        channels: voiceChannels,
        metrics,
        health,
        log: log.child({ component: 'murmur' }),
        guild,
        // The relay records Murmur's ids for new channels; the guild snapshot must see them.
        murmurChannelIdsChanged: () => guild.reload({ action: 'murmur.channels' }),
      })
    : undefined;

  const app = createHttpApp({
    routes: [
      ...accountRoutes(accounts),
      ...adminRoutes(accounts),
      ...historyRoutes({ store: historyStore, guild }),
      ...voiceRoutes({ store: new MurmurStore(db), relay: murmur?.relay }),
      ...guildRoutes({ guild, relay: murmur?.relay }),
    ],
    accounts,
    health,
    metrics,
    log: log.child({ component: 'http' }),
    version: VERSION,
  });
  const http = createServer(app);
  // Keep-alive sockets must not hold shutdown hostage.
  http.keepAliveTimeout = 5000;
  const httpPort = await listenHttp(http, config.http.port, config.http.host);
  const grpc = await startAccessServer({
    host: config.grpc.host,
    port: config.grpc.port,
    accounts,
    guild,
    defaultMaxUploadBytes: config.attachments.defaultMaxUploadBytes,
    log: log.child({ component: 'grpc' }),
    registry: metrics.registry,
  });
  let grpcUp = true;
  health.register('grpc', () => (grpcUp ? { status: 'up', address: grpc.address } : { status: 'down', address: grpc.address }));
  const operator = await startOperatorSocket(config.operatorSocketPath, accounts, log.child({ component: 'operator' }), {
    voiceChannelsChanged: () => void murmur?.relay.syncChannels().catch(() => undefined),
    // The CLI changed the guild in the database: reread it and enforce at once.
    guildChanged: (change) => guild.reload(change),
    memberRemoved: (removal) => guild.publishRemoval(removal),
  });
  const sweeper = setInterval(() => accounts.sweep(), 60_000).unref();

  log.info({ http: `${config.http.host}:${httpPort}`, grpc: grpc.address, irc: config.irc.enabled, murmur: config.murmur.enabled }, 'control server started');

  return {
    config,
    db,
    accounts,
    metrics,
    health,
    irc,
    murmur,
    voiceChannels,
    guild,
    httpPort,
    grpc,
    async stop() {
      clearInterval(sweeper);
      // Callers of the gRPC API get their answers before the guild and the database go.
      grpcUp = false;
      await grpc.stop();
      guild.close();
      // HistServ commits what it holds before the link and the database go.
      await histserv?.stop();
      await irc?.stop();
      await murmur?.stop();
      await new Promise<void>((resolve) => operator.close(() => resolve()));
      await closeHttp(http);
      db.close();
    },
  };
}
