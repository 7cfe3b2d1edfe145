#!/usr/bin/env node
import { ConfigError } from '@alloquy/control/config/config.js';
import { createLogger } from '@alloquy/control/log/logger.js';
import { GrpcVoiceAccess } from './authz/voice-access.js';
import { loadSignallingConfig } from './config/config.js';
import { startSignallingServer } from './server.js';

/** The signalling process: `node services/signalling/dist/main.js`, configured by env and file. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadSignallingConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`alloquy signalling: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, 'signalling');
  const access = new GrpcVoiceAccess({ address: config.control.grpcAddress, timeoutMs: config.control.timeoutMs });
  const server = await startSignallingServer(config, log, { access });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    server.stop().then(
      () => {
        access.close();
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
  process.stderr.write(`alloquy signalling: failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
