import { TurnCredentialsView } from '@alloquy/protocol/http';
import { route, type SignallingRouteTable } from '../http/route.js';

/** `GET /api/v1/turn-credentials` (bearer): TURN credentials for the caller's account. */
export function turnRoutes(deps: { mintTurn(account: string, via: 'http'): TurnCredentialsView }): SignallingRouteTable {
  return [
    route({
      method: 'get',
      path: '/api/v1/turn-credentials',
      summary: "TURN credentials for the caller's account (the same the WebSocket's `welcome` and `turn` carry)",
      tag: 'turn',
      auth: 'user',
      responses: { 200: TurnCredentialsView },
      errors: [503],
      handler: ({ identity }) => ({ status: 200, body: deps.mintTurn(identity.account, 'http') }),
    }),
  ];
}
