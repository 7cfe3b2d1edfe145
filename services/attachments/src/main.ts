#!/usr/bin/env node
import { runService } from '@alloquy/service-kit/process';
import { createAssets } from './assets/index.js';
import { GrpcAuthorizer } from './authz/grpc-authorizer.js';
import { loadAttachmentsConfig } from './config/config.js';
import { createEmbeds } from './embeds/index.js';
import { createMediaProcessor } from './media/media-processor.js';
import { startAttachmentsServer } from './server.js';

/** The attachments process: `node services/attachments/dist/main.js`, configured by env and file. */
runService({
  name: 'attachments',
  loadConfig: loadAttachmentsConfig,
  async start(config, log) {
    const authorizer = new GrpcAuthorizer({ address: config.control.grpcAddress });
    const server = await startAttachmentsServer(config, log, {
      authorizer,
      mediaProcessor: (core) => createMediaProcessor(config, { metrics: core.metrics, log: log.child({ component: 'media' }) }),
      extraModules: (core) => [
        createEmbeds({
          config: core.config,
          db: core.store.db,
          blobs: core.blobs,
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
    return {
      async stop() {
        await server.stop();
        authorizer.close();
      },
    };
  },
});
