import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '@alloquy/service-kit/log';
import { startControlServer, type ControlServer } from '../../src/server.js';
import { forgedTokens } from '@alloquy/stack';

let server: ControlServer;
let base: string;

beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), 'alloquy-http-'));
  const config = loadConfig({ ALLOQUY_HOME: home, ALLOQUY_HTTP_HOST: '127.0.0.1', ALLOQUY_HTTP_PORT: '0', ALLOQUY_IRC_LINK: 'false', ALLOQUY_MURMUR: 'false' });
  server = await startControlServer(config, createLogger('silent'));
  base = `http://127.0.0.1:${server.httpPort}`;
});
afterAll(() => server.stop());

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

function expectError(r: { status: number; json: any }, status: number, code: string) {
  expect(r.status).toBe(status);
  expect(r.json).toEqual({ error: { code, message: expect.any(String) } });
}

describe('accounts and sessions', () => {
  it('registers, logs in, and answers /me', async () => {
    const created = await call('POST', '/api/v1/accounts', { username: 'alice', password: 'alice-password' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ username: 'alice', is_admin: true, disabled: false });
    const session = await call('POST', '/api/v1/sessions', { username: 'alice', password: 'alice-password' });
    expect(session.status).toBe(200);
    expect(session.json).toMatchObject({ access_token: expect.any(String), refresh_token: expect.any(String), token_type: 'Bearer' });
    const me = await call('GET', '/api/v1/me', undefined, { authorization: `Bearer ${session.json.access_token}` });
    expect(me.status).toBe(200);
    expect(me.json.username).toBe('alice');

    const refreshed = await call('POST', '/api/v1/sessions/refresh', { refresh_token: session.json.refresh_token });
    expect(refreshed.status).toBe(200);
    expectError(await call('POST', '/api/v1/sessions/refresh', { refresh_token: session.json.refresh_token }), 401, 'invalid_token');
  });

  it('maps domain failures to stable codes', async () => {
    expectError(await call('POST', '/api/v1/accounts', { username: 'ALICE', password: 'other-password' }), 409, 'username_taken');
    expectError(await call('POST', '/api/v1/accounts', { username: '9lives', password: 'other-password' }), 400, 'invalid_username');
    expectError(await call('POST', '/api/v1/accounts', { username: 'carol', password: 'short' }), 400, 'weak_password');
    expectError(await call('POST', '/api/v1/sessions', { username: 'alice', password: 'wrong-password' }), 401, 'invalid_credentials');
    expectError(await call('POST', '/api/v1/sessions', { username: 'nobody', password: 'wrong-password' }), 401, 'invalid_credentials');
  });

  it('changes a password; the old one and old tokens stop working', async () => {
    await call('POST', '/api/v1/accounts', { username: 'dave', password: 'dave-password' });
    const s = (await call('POST', '/api/v1/sessions', { username: 'dave', password: 'dave-password' })).json;
    const auth = { authorization: `Bearer ${s.access_token}` };
    expect((await call('POST', '/api/v1/me/password', { current_password: 'dave-password', new_password: 'dave-password-2' }, auth)).status).toBe(204);
    expectError(await call('GET', '/api/v1/me', undefined, auth), 401, 'invalid_token');
    expectError(await call('POST', '/api/v1/sessions', { username: 'dave', password: 'dave-password' }), 401, 'invalid_credentials');
    expect((await call('POST', '/api/v1/sessions', { username: 'dave', password: 'dave-password-2' })).status).toBe(200);
  });
});

describe('bad input gets a clear error', () => {
  it.each([
    ['malformed JSON', '{"username": "x", ', 400, 'invalid_request'],
    ['a JSON array', '[1,2,3]', 400, 'invalid_request'],
    ['a bare string', '"alice"', 400, 'invalid_request'],
    ['missing fields', { username: 'x' }, 400, 'invalid_request'],
    ['wrong types', { username: 42, password: ['x'] }, 400, 'invalid_request'],
    ['unknown fields', { username: 'erin', password: 'erin-password', admin: true }, 400, 'invalid_request'],
    ['a huge body', { username: 'x', password: 'p'.repeat(200_000) }, 413, 'payload_too_large'],
  ])('%s', async (_name, body, status, code) => {
    expectError(await call('POST', '/api/v1/accounts', body), status, code);
  });

  it('a body that is not JSON', async () => {
    const res = await fetch(`${base}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'username=alice' });
    expectError({ status: res.status, json: await res.json() }, 415, 'unsupported_media_type');
  });

  it('an unknown endpoint', async () => {
    expectError(await call('GET', '/api/v1/nope'), 404, 'not_found');
  });

  it('missing, malformed, forged and alg-none tokens', async () => {
    const alice = (await call('POST', '/api/v1/sessions', { username: 'alice', password: 'alice-password' })).json;
    // Alice's own claims: only the signature can be what refuses these.
    const forgeries = forgedTokens(alice.access_token); // another key, alg none, garbage
    const tampered = alice.access_token.slice(0, -3) + (alice.access_token.endsWith('AAA') ? 'BBB' : 'AAA');
    expectError(await call('GET', '/api/v1/me'), 401, 'unauthorized');
    expectError(await call('GET', '/api/v1/me', undefined, { authorization: 'Basic YWxpY2U6eA==' }), 401, 'unauthorized');
    for (const t of [...forgeries, tampered]) {
      expectError(await call('GET', '/api/v1/me', undefined, { authorization: `Bearer ${t}` }), 401, 'invalid_token');
    }
  });

  it('throttles repeated failures with Retry-After', async () => {
    await call('POST', '/api/v1/accounts', { username: 'frank', password: 'frank-password' });
    for (let i = 0; i < 10; i++) await call('POST', '/api/v1/sessions', { username: 'frank', password: `wrong-${i}-password` });
    const r = await call('POST', '/api/v1/sessions', { username: 'frank', password: 'frank-password' });
    expectError(r, 429, 'too_many_attempts');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('admin', () => {
  it('only admins manage accounts; a disabled account cannot log in', async () => {
    const alice = (await call('POST', '/api/v1/sessions', { username: 'alice', password: 'alice-password' })).json;
    await call('POST', '/api/v1/accounts', { username: 'gina', password: 'gina-password' });
    const gina = (await call('POST', '/api/v1/sessions', { username: 'gina', password: 'gina-password' })).json;
    expectError(await call('GET', '/api/v1/accounts', undefined, { authorization: `Bearer ${gina.access_token}` }), 403, 'forbidden');
    const list = await call('GET', '/api/v1/accounts', undefined, { authorization: `Bearer ${alice.access_token}` });
    expect(list.json.accounts.map((a: { username: string }) => a.username)).toContain('gina');
    const disabled = await call('POST', '/api/v1/accounts/gina/disable', undefined, { authorization: `Bearer ${alice.access_token}` });
    expect(disabled.json.disabled).toBe(true);
    expectError(await call('GET', '/api/v1/me', undefined, { authorization: `Bearer ${gina.access_token}` }), 403, 'account_disabled');
    expectError(await call('POST', '/api/v1/sessions', { username: 'gina', password: 'gina-password' }), 403, 'account_disabled');
    expectError(await call('POST', '/api/v1/accounts/nobody/disable', undefined, { authorization: `Bearer ${alice.access_token}` }), 404, 'not_found');
    const invite = await call('POST', '/api/v1/registration-invites', { max_uses: 2 }, { authorization: `Bearer ${alice.access_token}` });
    expect(invite.status).toBe(201);
    expect(invite.json.code).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe('operations', () => {
  it('serves an OpenAPI document generated from the route schemas', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json')).json;
    expect(doc.openapi).toBe('3.1.0');
    const post = doc.paths['/api/v1/accounts'].post;
    expect(post.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['username', 'password']),
      additionalProperties: false,
    });
    expect(post.responses['201'].content['application/json'].schema.properties.username).toEqual({ type: 'string' });
    expect(doc.paths['/api/v1/sessions'].post.responses['429']).toBeDefined();
    expect(doc.paths['/api/v1/me'].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/v1/accounts/{username}/disable'].post.parameters[0]).toMatchObject({ name: 'username', in: 'path' });
  });

  it('reports health and metrics', async () => {
    const health = await call('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: 'ok', components: { database: { status: 'up' }, grpc: { status: 'up', address: expect.any(String) } } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/alloquy_logins_total\{via="http",result="ok"\} \d+/);
    expect(metrics).toMatch(/alloquy_logins_total\{via="http",result="invalid"\} \d+/);
    expect(metrics).toMatch(/alloquy_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/api\/v1\/sessions",status="200"\}/);
  });
});

describe('every route refuses bad input', () => {
  async function adminToken(): Promise<string> {
    return (await call('POST', '/api/v1/sessions', { username: 'alice', password: 'alice-password' })).json.access_token;
  }

  it.each([
    ['/api/v1/sessions', { username: 'alice' }],
    ['/api/v1/sessions', { username: 'alice', password: 7 }],
    ['/api/v1/sessions/refresh', {}],
    ['/api/v1/sessions/refresh', { refresh_token: 'x'.repeat(257) }],
    ['/api/v1/sessions/logout', { refresh_token: 1 }],
    ['/api/v1/me/password', { new_password: 'long-enough-password' }],
    ['/api/v1/me/password', { current_password: 'alice-password', new_password: 'x', extra: true }],
    ['/api/v1/registration-invites', { max_uses: 0 }],
    ['/api/v1/registration-invites', { max_uses: 1.5 }],
    ['/api/v1/registration-invites', { expires_in: 59 }],
    ['/api/v1/registration-invites', { x: 1 }],
    ['/api/v1/channels', { name: 'x'.repeat(65), kind: 'voice' }],
    ['/api/v1/channels', { name: 'lounge' }],
    ['/api/v1/me/voice-certificates', {}],
    ['/api/v1/me/voice-certificates', { hash: 40 }],
    ['/api/v1/me/voice-certificates', { hash: 'a'.repeat(39) }],
  ])('POST %s %j → 400 invalid_request', async (path, body) => {
    expectError(await call('POST', path, body, { authorization: `Bearer ${await adminToken()}` }), 400, 'invalid_request');
  });

  it('reads malformed JSON as a bad request even where a token is needed', async () => {
    expectError(await call('POST', '/api/v1/me/password', '{', { authorization: `Bearer ${await adminToken()}` }), 400, 'invalid_request');
  });

  it('takes no body as an empty object: all-optional routes work, others name what is missing', async () => {
    const invite = await call('POST', '/api/v1/registration-invites', undefined, { authorization: `Bearer ${await adminToken()}` });
    expect(invite.status).toBe(201);
    const session = await call('POST', '/api/v1/sessions');
    expectError(session, 400, 'invalid_request');
    expect(session.json.error.message).toMatch(/username/);
  });

  it('refuses forged, alg-none, expired and refresh tokens on every route that needs a token', async () => {
    const session = (await call('POST', '/api/v1/sessions', { username: 'alice', password: 'alice-password' })).json;
    // The real password version: only the signature (or the expiry) can be what refuses these.
    const { sub, pwv } = jwt.decode(session.access_token) as { sub: string; pwv: number };
    const claims = { name: 'alice', pwv, typ: 'access' };
    const bad = {
      forged: jwt.sign(claims, 'guessed-secret', { algorithm: 'HS256', issuer: 'alloquy', subject: sub }),
      none: jwt.sign(claims, '', { algorithm: 'none', issuer: 'alloquy', subject: sub }),
      expired: jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }, 'guessed-secret', { algorithm: 'HS256', issuer: 'alloquy', subject: sub }),
      refresh: session.refresh_token,
    };
    const doc = (await call('GET', '/api/v1/openapi.json')).json;
    let checked = 0;
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>)) {
      for (const [method, op] of Object.entries(methods)) {
        if (!op.security) continue;
        const url = path.replace('{username}', 'alice').replace('{hash}', 'a'.repeat(40));
        for (const [kind, token] of Object.entries(bad)) {
          const r = await call(method.toUpperCase(), url, undefined, { authorization: `Bearer ${token}` });
          expect({ kind, method, path, status: r.status, code: r.json?.error?.code }).toEqual({ kind, method, path, status: 401, code: 'invalid_token' });
          checked++;
        }
      }
    }
    // Every secured route was tried (me, password, accounts, disable/enable, invites, channels, voice, certificates).
    expect(checked).toBeGreaterThanOrEqual(4 * 10);
  });
});
