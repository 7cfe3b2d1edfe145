import { createHmac } from 'node:crypto';

/** What a WebRTC client needs for `RTCConfiguration.iceServers`. */
export interface TurnCredentials {
  urls: string[];
  /** `<expiry, Unix seconds>:<account>`: coturn refuses it after the expiry. */
  username: string;
  /** base64(HMAC-SHA1(secret, username)). */
  credential: string;
  /** Seconds from now until the credential expires. */
  ttl: number;
}

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
