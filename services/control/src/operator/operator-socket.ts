import { createServer, request, type Server } from 'node:http';
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { AccountService } from '../accounts/account-service.js';

/**
 * The operator CLI writes to the database directly (it works while the server is down), then
 * tells a running server what changed over this Unix socket so it can act at once: log out
 * and disconnect a disabled account, re-sync a changed password. The socket is 0600 in the
 * data folder: whoever can open it can already read the database.
 */
export type AccountChange = 'created' | 'disabled' | 'enabled' | 'password-changed';
const CHANGES: readonly AccountChange[] = ['created', 'disabled', 'enabled', 'password-changed'];

export function startOperatorSocket(path: string, accounts: AccountService, log: Logger): Promise<Server> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // A socket file left by a killed server would make listen fail with EADDRINUSE.
  if (existsSync(path)) unlinkSync(path);
  const server = createServer((req, res) => {
    const match = /^\/accounts\/([^/]+)\/(created|disabled|enabled|password-changed)$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) {
      res.writeHead(404).end();
      return;
    }
    const username = decodeURIComponent(match[1]!);
    const change = match[2] as AccountChange;
    const account = accounts.find(username);
    if (!account) {
      res.writeHead(404).end();
      return;
    }
    log.info({ username: account.username, change }, 'operator changed an account');
    accounts.emit(change, account);
    res.writeHead(204).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      chmodSync(path, 0o600);
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Tells a running server about a change; false when no server is listening. */
export function notifyOperatorSocket(path: string, username: string, change: AccountChange): Promise<boolean> {
  if (!CHANGES.includes(change) || !existsSync(path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = request({ socketPath: path, method: 'POST', path: `/accounts/${encodeURIComponent(username)}/${change}`, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 204);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
