import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../support/client.js';
import { startTestStack, TURN_URLS, type TestStack } from '../support/stack.js';
import { forgedTokens } from '@alloquy/stack';

let stack: TestStack;
let secret: string;

beforeAll(async () => {
  stack = await startTestStack();
  secret = readFileSync(join(stack.home, 'secrets', 'turn.key'), 'utf8').trim();
});

afterAll(async () => {
  await stack?.stop();
});

/** What coturn does with `use-auth-secret`: recompute the HMAC and check the expiry. */
function verifyLikeCoturn(turn: { username: string; credential: string; ttl: number }, account: string): void {
  const [expiry, name] = turn.username.split(/:(.*)/s) as [string, string];
  expect(name).toBe(account);
  const now = Math.floor(Date.now() / 1000);
  expect(Number(expiry)).toBeGreaterThan(now);
  expect(Number(expiry)).toBeLessThanOrEqual(now + turn.ttl + 1);
  expect(turn.ttl).toBe(600);
  expect(turn.credential).toBe(createHmac('sha1', secret).update(turn.username).digest('base64'));
}

describe('TURN credentials', () => {
  it('created the shared secret file with mode 0600', async () => {
    const { statSync } = await import('node:fs');
    expect(statSync(join(stack.home, 'secrets', 'turn.key')).mode & 0o777).toBe(0o600);
    expect(secret.length).toBeGreaterThanOrEqual(32);
  });

  it('are served over HTTP to a bearer of a valid token', async () => {
    const res = await fetch(`${stack.baseUrl}/api/v1/turn-credentials`, { headers: { Authorization: `Bearer ${stack.tokens.alice}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const body = (await res.json()) as { urls: string[]; username: string; credential: string; ttl: number };
    expect(Object.keys(body).sort()).toEqual(['credential', 'ttl', 'urls', 'username']);
    expect(body.urls).toEqual(TURN_URLS);
    verifyLikeCoturn(body, 'alice');
  });

  it('answer a browser preflight from any origin: GET with an Authorization header', async () => {
    const res = await fetch(`${stack.baseUrl}/api/v1/turn-credentials`, {
      method: 'OPTIONS',
      headers: { origin: 'https://chat.example.org', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, OPTIONS');
    expect(res.headers.get('access-control-allow-headers')).toBe('Authorization');
    expect(res.headers.get('access-control-max-age')).toBe('86400');
  });

  it('come in the welcome message', async () => {
    const { client, welcome } = await TestClient.hello(stack.wsUrl, stack.tokens.bob);
    const turn = welcome.turn as { urls: string[]; username: string; credential: string; ttl: number };
    expect(turn.urls).toEqual(TURN_URLS);
    verifyLikeCoturn(turn, 'bob');
    client.close();
  });

  it('are refused without a token (401) and with a forged one (401)', async () => {
    const none = await fetch(`${stack.baseUrl}/api/v1/turn-credentials`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: 'unauthorized' } });
    for (const token of forgedTokens(stack.tokens.alice)) {
      const forged = await fetch(`${stack.baseUrl}/api/v1/turn-credentials`, { headers: { Authorization: `Bearer ${token}` } });
      expect(forged.status).toBe(401);
      expect(await forged.json()).toMatchObject({ error: { code: 'invalid_token' } });
    }
  });
});
