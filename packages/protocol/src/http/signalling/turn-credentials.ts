import { z } from 'zod';

/**
 * `GET /api/v1/turn-credentials`: what a WebRTC client puts in `RTCConfiguration.iceServers`
 * (TURN REST API credentials, the same as the WebSocket's `welcome` and `turn` messages carry).
 */
export const TurnCredentialsView = z.object({
  urls: z.array(z.string()).describe('turn: and turns: URLs of the relay'),
  username: z.string().describe('`<expiry, Unix seconds>:<account>`: the relay refuses it after the expiry'),
  credential: z.string().describe('base64(HMAC-SHA1(secret, username))'),
  ttl: z.number().int().describe('seconds from now until the credential expires'),
});
export type TurnCredentialsView = z.infer<typeof TurnCredentialsView>;
