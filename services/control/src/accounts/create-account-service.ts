import { type ControlConfig } from '../config/config.js';
import type { Db } from '../store/database.js';
import { AccountService } from './account-service.js';
import { AccessTokens } from './tokens.js';
import { ensureSecret } from '@alloquy/service-kit/config';

/**
 * The account service as configured: what the server and the operator CLI both use. It lives
 * here, not in server.ts, so the CLI does not load the HTTP, IRC and Murmur stacks to list users.
 */
export function createAccountService(config: ControlConfig, db: Db): AccountService {
  const tokens = new AccessTokens(ensureSecret(config.auth.jwtSecretPath), config.auth.issuer, config.auth.accessTokenTtlSeconds);
  return new AccountService(db, {
    registration: config.registration,
    accessTokens: tokens,
    refreshTtlSeconds: config.auth.refreshTokenTtlSeconds,
    maxFailuresPerAccount: config.auth.maxFailuresPerAccount,
    maxFailuresPerAddress: config.auth.maxFailuresPerAddress,
    failureWindowSeconds: config.auth.failureWindowSeconds,
  });
}
