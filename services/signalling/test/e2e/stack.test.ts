/**
 * Signalling and coturn as `scripts/up` runs them: the credentials the signalling service hands
 * out are accepted by the stack's coturn, and expired or forged ones are refused by it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type RunningStack, forgedTokens } from '@alloquy/stack';
import { turnRestCredentials } from '@alloquy/stack/coturn/process.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let stack: RunningStack;
let token: string;

/** Two turnutils clients relaying to each other through coturn (exit 0 only if allocations succeed). */
function allocate(username: string, password: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/turnutils_uclient',
      ['-p', String(stack.turn.port), '-u', username, '-w', password, '-y', '-n', '3', '-m', '1', '-l', '100', '127.0.0.1'],
      { timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, output: stdout + stderr }),
    );
  });
}

beforeAll(async () => {
  stack = await startStack({ home: mkdtempSync(join(tmpdir(), 'alloquy-signalling-e2e-')) });
  const headers = { 'content-type': 'application/json' };
  const body = JSON.stringify({ username: 'alice', password: 'alice-password' });
  expect((await fetch(`${stack.httpUrl}/api/v1/accounts`, { method: 'POST', headers, body })).status).toBe(201);
  token = ((await (await fetch(`${stack.httpUrl}/api/v1/sessions`, { method: 'POST', headers, body })).json()) as { access_token: string }).access_token;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

describe('signalling and coturn in the stack', () => {
  it("hands out TURN credentials that the stack's coturn accepts", async () => {
    const res = await fetch(`http://127.0.0.1:${stack.ports.signalling}/api/v1/turn-credentials`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const creds = (await res.json()) as { urls: string[]; username: string; credential: string; ttl: number };
    expect(creds.urls).toContain(`turn:127.0.0.1:${stack.turn.port}?transport=udp`);
    expect(creds.username).toMatch(/^\d+:alice$/);
    const run = await allocate(creds.username, creds.credential);
    expect(run.code, run.output.slice(-500)).toBe(0);
  });

  it('refuses no token and forged tokens at the signalling service, and expired or forged credentials at coturn', async () => {
    const url = `http://127.0.0.1:${stack.ports.signalling}/api/v1/turn-credentials`;
    expect((await fetch(url)).status).toBe(401);
    for (const forged of forgedTokens(token)) {
      expect((await fetch(url, { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    }
    const expired = turnRestCredentials(stack.turn.secret, 'alice', new Date(Date.now() - 60_000));
    expect((await allocate(expired.username, expired.password)).code).not.toBe(0);
    const forged = turnRestCredentials('not-the-secret', 'alice', new Date(Date.now() + 600_000));
    expect((await allocate(forged.username, forged.password)).code).not.toBe(0);
  });
});
