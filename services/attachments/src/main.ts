#!/usr/bin/env node
import { ConfigError } from '@alloquy/control/config/config.js';
import { createLogger } from '@alloquy/control/log/logger.js';
import { createAssets } from './assets/index.js';
import { GrpcAuthorizer } from './authz/grpc-authorizer.js';
import { loadAttachmentsConfig } from './config/config.js';
import { createEmbeds } from './embeds/index.js';
import { createMediaProcessor } from './media/media-processor.js';
import { startAttachmentsServer } from './server.js';

/** The attachments process: `node services/attachments/dist/main.js`, configured by env and file. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadAttachmentsConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`alloquy attachments: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, 'attachments');
  const authorizer = new GrpcAuthorizer({ address: config.control.grpcAddress });
  const server = await startAttachmentsServer(config, log, {
    authorizer,
    mediaProcessor: (core) => createMediaProcessor(config, { metrics: core.metrics, log: log.child({ component: 'media' }) }),
    extraModules: (core) => [
      createEmbeds({
        config: core.config,
        db: core.store.db,
        blobs: core.blobs,
        authorizer: core.authorizer,
        metrics: core.metrics,
        log: core.log.child({ component: 'embeds' }),
      }).routes,
      createAssets({
        config: core.config,
        db: core.store.db,
        blobs: core.blobs,
        authorizer: core.authorizer,
        log: core.log.child({ component: 'assets' }),
      }).routes,
    ],
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    server.stop().then(
      () => {
        authorizer.close();
        process.exit(0);
      },
      (err) => {
        log.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`alloquy attachments: failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
