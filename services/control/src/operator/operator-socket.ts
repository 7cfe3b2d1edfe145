import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '@alloquy/service-kit/log';
import { z } from 'zod';
import type { AccountService } from '../accounts/account-service.js';
import type { GuildChange, MemberRemoval } from '../guild/model.js';

/**
 * The operator CLI writes to the database directly (it works while the server is down), then
 * tells a running server what changed over this Unix socket so it can act at once: log out
 * and disconnect a disabled account, re-sync a changed password, create a voice channel in
 * Murmur. The socket is 0600 in the data folder: whoever can open it can already read the
 * database. With `created` and `password-changed` the CLI also sends the password it set
 * (`{"password"}`), because Murmur needs the plaintext; the server checks it against the
 * stored hash before handing it to the relays, and never logs it. Guild changes travel as the
 * `GuildChange` and `MemberRemoval` the CLI's own GuildService emitted, in the same order.
 */
export type AccountChange = 'created' | 'disabled' | 'enabled' | 'password-changed';
const CHANGES: readonly AccountChange[] = ['created', 'disabled', 'enabled', 'password-changed'];
const ACCOUNT_CHANGE_PATH = new RegExp(`^/accounts/([^/]+)/(${CHANGES.join('|')})$`);

/** The changes that carry the plaintext password the operator just set (for Murmur). */
function carriesPassword(change: AccountChange): boolean {
  return change === 'created' || change === 'password-changed';
}

/** What else a running server reacts to, besides account changes. */
export interface OperatorHooks {
  voiceChannelsChanged?(): void;
  /** The CLI changed the guild in the database: reload it (`guild.reload(change)`) and enforce. */
  guildChanged?(change: GuildChange): void;
  /** The CLI kicked or banned someone: disconnect them with the reason (before the `guildChanged` that follows). */
  memberRemoved?(removal: MemberRemoval): void;
}

const GuildChangeBody = z.strictObject({
  action: z.string().min(1).max(64),
  targetId: z.string().min(1).max(64).optional(),
});

/** With `created` and `password-changed`: anything else, or no body, is no password. */
const PasswordBody = z.object({ password: z.string() });

const MemberRemovalBody = z.strictObject({
  accountId: z.number().int().min(1),
  username: z.string().min(1).max(64),
  kind: z.enum(['kick', 'ban']),
  reason: z.string().max(512),
  by: z.string().min(1).max(64),
});

/** Parses a JSON body against `schema`; null when it is not JSON or does not fit. */
function parseBody<T>(schema: z.ZodType<T>, body: string): T | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return null;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

const MAX_BODY = 64 * 1024;

/** The body as text, or null when it is larger than anything the CLI sends. */
function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    const onData = (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY) {
        req.off('data', onData);
        req.resume();
        resolve(null);
      }
    };
    req.on('data', onData);
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** A path segment, or null when its percent-encoding is malformed. */
function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** The body for `hook`, parsed and handed over: the status to answer (404 with no hook). */
function deliver<T>(body: string, schema: z.ZodType<T>, hook: ((value: T) => void) | undefined, announce: (value: T) => void): number {
  if (!hook) return 404;
  const value = parseBody(schema, body);
  if (value === null) return 400;
  announce(value);
  hook(value);
  return 204;
}

export function startOperatorSocket(path: string, accounts: AccountService, log: Logger, hooks: OperatorHooks = {}): Promise<Server> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // A socket file left by a killed server would make listen fail with EADDRINUSE.
  if (existsSync(path)) unlinkSync(path);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method === 'POST' && req.url === '/voice-channels/changed') {
      log.info('operator changed the voice channels');
      hooks.voiceChannelsChanged?.();
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'POST' && (req.url === '/guild/changed' || req.url === '/guild/removed')) {
      const body = await readBody(req);
      if (body === null) {
        res.writeHead(413, { connection: 'close' }).end();
        return;
      }
      const status =
        req.url === '/guild/changed'
          ? deliver(body, GuildChangeBody, hooks.guildChanged, (c) => log.info({ action: c.action, target: c.targetId }, 'operator changed the guild'))
          : deliver(body, MemberRemovalBody, hooks.memberRemoved, (r) => log.info({ username: r.username, kind: r.kind }, 'operator removed a member'));
      res.writeHead(status).end();
      return;
    }
    const match = ACCOUNT_CHANGE_PATH.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) {
      res.writeHead(404).end();
      return;
    }
    const username = decodeSegment(match[1]!);
    const change = match[2] as AccountChange;
    const body = await readBody(req);
    if (body === null) {
      res.writeHead(413, { connection: 'close' }).end();
      return;
    }
    const password = parseBody(PasswordBody, body)?.password;
    const account = username === null ? undefined : accounts.find(username);
    if (!account) {
      res.writeHead(404).end();
      return;
    }
    log.info({ username: account.username, change }, 'operator changed an account');
    if (password !== undefined && carriesPassword(change)) {
      if (!(await accounts.confirmPassword(account.username, password))) {
        log.warn({ username: account.username }, "the operator sent a password that is not the account's current one; ignored");
      }
    }
    accounts.emit(change, account);
    res.writeHead(204).end();
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'operator request failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
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

/**
 * Tells a running server about a change; false when no server is listening. `password` (with
 * `created` and `password-changed`) is the plaintext the operator just set, for Murmur.
 */
export function notifyOperatorSocket(path: string, username: string, change: AccountChange, password?: string): Promise<boolean> {
  if (!CHANGES.includes(change)) return Promise.resolve(false);
  const body = password !== undefined && carriesPassword(change) ? JSON.stringify({ password }) : undefined;
  return post(path, `/accounts/${encodeURIComponent(username)}/${change}`, body);
}

/** Tells a running server that voice channels were added, so it creates them in Murmur now. */
export function notifyVoiceChannelsChanged(path: string): Promise<boolean> {
  return post(path, '/voice-channels/changed');
}

/** Tells a running server the guild changed in the database, so it reloads and enforces now. */
export function notifyGuildChanged(path: string, change: GuildChange): Promise<boolean> {
  return post(path, '/guild/changed', JSON.stringify(change));
}

/** Tells a running server a member was kicked or banned, so it disconnects them with the reason. */
export function notifyMemberRemoved(path: string, removal: MemberRemoval): Promise<boolean> {
  return post(path, '/guild/removed', JSON.stringify(removal));
}

function post(socketPath: string, path: string, body?: string): Promise<boolean> {
  if (!existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = request({ socketPath, method: 'POST', path, headers, timeout: 10_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 204);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end(body);
  });
}
