/**
 * The shared shape of a service process (control, attachments, signalling): load the config (a
 * ConfigError exits 2 with its message), start, and stop once on SIGINT or SIGTERM (exit 0, or 1
 * when the stop fails). A start that throws exits 1 with its stack.
 */
import { ConfigError } from '../config/layered-config.js';
import { createLogger, type Logger } from '../log/logger.js';

export interface ServiceSpec<C extends { logLevel: string }> {
  /** The name in messages and in the logger, e.g. `attachments`. */
  name: string;
  loadConfig(): C;
  /** Starts the service; the returned stop is called once, on the first signal. */
  start(config: C, log: Logger): Promise<{ stop(): Promise<void> }>;
}

/** Runs a service as the process's main; never resolves (the process exits on a signal or failure). */
export function runService<C extends { logLevel: string }>(spec: ServiceSpec<C>): void {
  main(spec).catch((err) => {
    process.stderr.write(`alloquy ${spec.name}: failed to start: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}

async function main<C extends { logLevel: string }>(spec: ServiceSpec<C>): Promise<void> {
  let config: C;
  try {
    config = spec.loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`alloquy ${spec.name}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, spec.name);
  const service = await spec.start(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    service.stop().then(
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
