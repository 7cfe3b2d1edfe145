#!/usr/bin/env node
import { ConfigError, loadConfig } from './config/config.js';
import { createLogger } from './log/logger.js';
import { startControlServer } from './server.js';

/** The control server process: `node services/control/dist/main.js`, configured by env and file. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`alloquy control: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  const server = await startControlServer(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    server.stop().then(
      () => process.exit(0),
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
  process.stderr.write(`alloquy control: failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
