import { createServiceApp, buildOpenApi, mountRoutes, nodeMiddleware } from '@alloquy/service-kit/http';
import { requestError } from '@alloquy/service-kit/errors';
import type { Health } from '@alloquy/service-kit/health';
import type { Logger } from '@alloquy/service-kit/log';
import express from 'express';
import type { AccountService } from '../accounts/account-service.js';
import { ControlError } from '../errors/control-error.js';
import { accountActor } from '../guild/service.js';
import type { ControlMetrics } from '../metrics/metrics.js';
import type { ControlRoute } from './route.js';

export interface HttpAppDeps {
  routes: readonly ControlRoute[];
  accounts: AccountService;
  health: Health;
  metrics: ControlMetrics;
  log: Logger;
  version: string;
}

/** Largest JSON body any endpoint accepts: credentials and settings are small. */
const JSON_LIMIT = '64kb';

const controlError = (code: ConstructorParameters<typeof ControlError>[0], message: string) => new ControlError(code, message);

/**
 * The HTTP API. Every route comes from the route table, validated by its schemas and authorized
 * by its `auth`, and every failure leaves as `{"error":{"code","message"}}` with a stable code.
 */
export function createHttpApp(deps: HttpAppDeps): express.Express {
  const { routes, accounts, health, metrics, log } = deps;
  const openapi = buildOpenApi(routes, { title: 'Alloquy control API', version: deps.version });
  return createServiceApp({
    health,
    metrics,
    log,
    // body-parser reads only node's request API: the route table's direct path may run it.
    before: [nodeMiddleware(express.json({ limit: JSON_LIMIT, strict: true }))],
    toError: (err) => (err instanceof ControlError ? err : requestError(err, controlError, JSON_LIMIT)),
    notFound: () => new ControlError('not_found', 'no such endpoint'),
    mount(app) {
      // The table first, so its routes take the shell's direct path; no route shares the document's path.
      mountRoutes(app, routes, {
        authenticate(token) {
          const account = accounts.authenticateAccessToken(token);
          return { account, actor: accountActor(account) };
        },
        isAdmin: (caller) => caller.account.isAdmin,
        error: controlError,
      });
      app.get('/api/v1/openapi.json', (_req, res) => {
        res.json(openapi);
      });
    },
  });
}
