import type { Logger } from '@alloquy/service-kit/log';
import type { AccountService } from '../accounts/account-service.js';
import { type ControlConfig } from '../config/config.js';
import type { GuildSource } from '../guild/model.js';
import type { Health } from '@alloquy/service-kit/health';
import type { ControlMetrics } from '../metrics/metrics.js';
import type { Db } from '../store/database.js';
import { MurmurIceClient } from './ice-client.js';
import { MurmurRelay } from './relay.js';
import { MurmurStore } from './store.js';
import type { VoiceChannels } from '../guild/voice-channels.js';
import { ensureSecret } from '@alloquy/service-kit/config';

export { MurmurIceClient, MurmurRejectedError, MurmurUnavailableError, Permission } from './ice-client.js';
export { MurmurRelay } from './relay.js';
export { MurmurStore } from './store.js';

/** The control server's link to Murmur: the Ice client and the relay that keeps Murmur in step. */
export interface MurmurServices {
  client: MurmurIceClient;
  relay: MurmurRelay;
  stop(): Promise<void>;
}

export function startMurmurServices(
  config: ControlConfig,
  deps: {
    db: Db;
    accounts: AccountService;
    channels: VoiceChannels;
    metrics: ControlMetrics;
    health: Health;
    log: Logger;
    /** Voice-channel ACLs derive from the guild; without it every account may enter and speak. */
    guild?: GuildSource;
    /** Told when the relay recorded new Murmur channel ids (so the guild snapshot rereads them). */
    murmurChannelIdsChanged?: () => void;
  },
): MurmurServices {
  const { murmur } = config;
  const client = new MurmurIceClient({
    host: murmur.iceHost,
    port: murmur.icePort,
    secret: ensureSecret(murmur.iceSecretPath),
    serverId: murmur.serverId,
    log: deps.log,
  });
  const store = new MurmurStore(deps.db);
  const relay = new MurmurRelay({
    client,
    accounts: deps.accounts,
    store,
    channels: deps.channels,
    metrics: deps.metrics,
    log: deps.log,
    pollIntervalMs: murmur.pollIntervalMs,
    ...(deps.guild ? { guild: deps.guild } : {}),
    ...(deps.murmurChannelIdsChanged ? { murmurChannelIdsChanged: deps.murmurChannelIdsChanged } : {}),
  });
  deps.health.register('murmur', () => {
    const s = client.status();
    const r = relay.status();
    return {
      status: s.state === 'up' ? 'up' : 'down',
      state: s.state,
      since: s.since,
      endpoint: s.endpoint,
      serverId: s.serverId,
      version: s.version,
      lastError: s.lastError,
      lastSyncAt: r.lastSyncAt,
      lastSyncError: r.lastSyncError,
      voiceAcls: r.voiceAcls,
      aclWrites: r.aclWrites,
      voiceCorrections: r.voiceCorrections,
      staleAccounts: store.staleCount(),
    };
  });
  relay.start();
  client.start();
  return {
    client,
    relay,
    async stop() {
      await relay.stop();
      await client.stop();
    },
  };
}
