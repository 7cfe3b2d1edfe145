import { createHmac } from 'node:crypto';
import type { TurnCredentialsView } from '@alloquy/protocol/http';

/** What a WebRTC client needs for `RTCConfiguration.iceServers`: the wire shape, over HTTP and the WebSocket alike. */
export type TurnCredentials = TurnCredentialsView;

/**
 * TURN REST API credentials (draft-uberti-behave-turn-rest, coturn's `use-auth-secret`): coturn
 * recomputes the HMAC with the same shared secret, so nothing is stored and nothing needs revoking;
 * a short TTL bounds what a leaked credential is worth.
 */
export function mintTurnCredentials(options: { secret: string; account: string; urls: readonly string[]; ttlSeconds: number; nowMs: number }): TurnCredentials {
  const expiry = Math.floor(options.nowMs / 1000) + options.ttlSeconds;
  const username = `${expiry}:${options.account}`;
  return { urls: [...options.urls], username, credential: turnPassword(options.secret, username), ttl: options.ttlSeconds };
}

export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}
