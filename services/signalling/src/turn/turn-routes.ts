import { Router } from 'express';
import type { VoiceAccess } from '../authz/voice-access.js';
import { bearerToken } from '../http/app.js';
import type { TurnCredentials } from './turn-credentials.js';

/** `GET /api/v1/turn-credentials` (bearer): TURN credentials for the caller's account. */
export function turnRoutes(deps: { access: VoiceAccess; mintTurn(account: string, via: 'http'): TurnCredentials }): Router {
  const router = Router();
  router.get('/api/v1/turn-credentials', async (req, res) => {
    const identity = await deps.access.identify(bearerToken(req));
    res.json(deps.mintTurn(identity.account, 'http'));
  });
  return router;
}
