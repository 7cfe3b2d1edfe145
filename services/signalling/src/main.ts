#!/usr/bin/env node
import { runService } from '@alloquy/service-kit/process';
import { GrpcVoiceAccess } from './authz/voice-access.js';
import { loadSignallingConfig } from './config/config.js';
import { startSignallingServer } from './server.js';

/** The signalling process: `node services/signalling/dist/main.js`, configured by env and file. */
runService({
  name: 'signalling',
  loadConfig: loadSignallingConfig,
  async start(config, log) {
    const access = new GrpcVoiceAccess({ address: config.control.grpcAddress, timeoutMs: config.control.timeoutMs });
    const server = await startSignallingServer(config, log, { access });
    return {
      async stop() {
        await server.stop();
        access.close();
      },
    };
  },
});
