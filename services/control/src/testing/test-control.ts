import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Account } from '../accounts/account-service.js';
import { loadConfig } from '../config/config.js';
import { createLogger, type Logger } from '@alloquy/service-kit/log';
import { startControlServer, type ControlServer } from '../server.js';

export interface TestControl<User extends string> {
  control: ControlServer;
  /** The temporary ALLOQUY_HOME, shared with the service under test. */
  home: string;
  /** Silent unless TEST_LOG_LEVEL says otherwise. */
  log: Logger;
  accounts: Record<User, Account>;
  /** An access token per user, from a login. */
  tokens: Record<User, string>;
  /** Stops the control server and removes the home. */
  stop(): Promise<void>;
}

/**
 * A real control server for the tests of the services beside it (attachments, signalling):
 * accounts, guild and the gRPC Access service on free loopback ports in a temporary home, IRC and
 * Murmur off. `owner` is registered first (the server's administrator, kept out of the cast),
 * then `users`, each signed in.
 */
export async function startTestControl<User extends string>(name: string, users: readonly User[], password: string): Promise<TestControl<User>> {
  const home = mkdtempSync(join(tmpdir(), `alloquy-${name}-`));
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'test');
  const config = loadConfig({
    ALLOQUY_HOME: home,
    ALLOQUY_HTTP_HOST: '127.0.0.1',
    ALLOQUY_HTTP_PORT: '0',
    ALLOQUY_IRC_LINK: 'false',
    ALLOQUY_MURMUR: 'false',
    ALLOQUY_OPERATOR_SOCKET: join(home, 'run', 'control.sock'),
  });
  let control: ControlServer | undefined;
  try {
    control = await startControlServer(config, log.child({ service: 'control' }));
    await control.accounts.register('owner', password);
    const accounts = {} as Record<User, Account>;
    const tokens = {} as Record<User, string>;
    for (const user of users) accounts[user] = await control.accounts.register(user, password);
    for (const user of users) tokens[user] = (await control.accounts.login(user, password, { via: 'cli' })).access_token;
    const running = control;
    return {
      control: running,
      home,
      log,
      accounts,
      tokens,
      async stop() {
        await running.stop();
        rmSync(home, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await control?.stop();
    rmSync(home, { recursive: true, force: true });
    throw err;
  }
}
