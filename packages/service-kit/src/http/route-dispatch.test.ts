import { createServer, request as httpRequest, type Server } from 'node:http';
import express, { type RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { requestError } from '../errors/service-error.js';
import { TestError, testError } from '../../test/support/test-error.js';
import { Health } from '../health/health.js';
import type { Logger } from '../log/logger.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import { rawRouteDeclarer, routeDeclarer, type RouteTable } from './route.js';
import { PreparedJson } from './prepared-json.js';
import { mountRoutes } from './route-table.js';
import { bearerApiHeaders, closeHttp, createServiceApp, listenHttp, nodeMiddleware } from './service-app.js';

/**
 * The route table's direct path must answer exactly what express answers. Each request goes to
 * two copies of one service: one whose `before` middleware is all node-only (the direct path
 * serves its JSON routes) and one with an unmarked middleware besides (express serves
 * everything). Status, headers in order (all but Date) and bytes must be the same, and a marker
 * middleware tells which path served each request.
 */

const error = testError;

interface Caller {
  name: string;
  admin: boolean;
}
const route = routeDeclarer<Caller>();
const rawRoute = rawRouteDeclarer<Caller>();

/** Tokens are `name` or `name:admin`; `forged` is refused. */
function authenticate(token: string): Caller {
  const [name, role] = token.split(':');
  if (!name || name === 'forged') throw error('invalid_token', 'the access token is not valid');
  return { name, admin: role === 'admin' };
}

const SHARED_PAGE = {
  items: [
    { id: 1, text: 'é ✓ "quoted" \u2028' },
    { id: 2, text: null, tags: {} },
  ],
};
const PREPARED_PAGE = new PreparedJson(SHARED_PAGE);

const table: RouteTable<Caller> = [
  route({
    method: 'get',
    path: '/api/pages/{kind}',
    summary: 'One body for every request, serialized once or every time',
    tag: 'pages',
    auth: 'user',
    responses: { 200: z.object({}) },
    handler: ({ params }) => ({ status: 200, body: params.kind === 'prepared' ? PREPARED_PAGE : SHARED_PAGE }),
  }),
  route({
    method: 'get',
    path: '/api/things/{id}',
    summary: 'A thing',
    tag: 'things',
    auth: 'user',
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(10).optional(), tag: z.union([z.string(), z.array(z.string())]).optional() }),
    responses: { 200: z.object({}) },
    // express's request API works on both paths.
    handler: ({ params, query, name, req }) => ({
      status: 200,
      body: { id: params.id, owner: name, query, accepts: req.get('accept') ?? null, url: req.originalUrl, unicode: 'é ✓' },
    }),
  }),
  rawRoute({
    method: 'get',
    path: '/api/files/{id}/{name}',
    summary: 'Bytes',
    tag: 'files',
    auth: 'none',
    responses: { 200: { description: 'The file' } },
    handler({ res, params }) {
      res.setHeader('Content-Type', 'text/plain');
      res.end(`raw ${params.id}/${params.name}`);
    },
  }),
  route({
    method: 'get',
    path: '/api/files/{id}/meta',
    summary: 'Shadowed by the raw route above, in express and on the direct path alike',
    tag: 'files',
    auth: 'none',
    responses: { 200: z.object({}) },
    handler: ({ params }) => ({ status: 200, body: { meta: params.id } }),
  }),
  route({
    method: 'post',
    path: '/api/things',
    summary: 'Make a thing',
    tag: 'things',
    auth: 'user',
    body: z.strictObject({ name: z.string().min(1), size: z.number().int().optional() }),
    responses: { 201: z.object({}) },
    handler: ({ body, name }) => ({ status: 201, body: { made: body.name, size: body.size ?? null, by: name } }),
  }),
  route({
    method: 'delete',
    path: '/api/things/{id}',
    summary: 'Remove a thing',
    tag: 'things',
    auth: 'admin',
    responses: { 204: null },
    handler: () => ({ status: 204 }),
  }),
  route({
    method: 'get',
    path: '/api/trouble/{kind}',
    summary: 'Fails as told',
    tag: 'trouble',
    auth: 'none',
    responses: { 200: z.object({}) },
    handler: ({ params }) => {
      if (params.kind === 'limit') throw error('rate_limited', 'slow down', 30);
      if (params.kind === 'missing') throw error('not_found', 'no such trouble');
      if (params.kind === 'crash') throw new Error('secret internals');
      if (params.kind === 'empty') return { status: 204, body: { ignored: true } };
      return { status: 200, body: { kind: params.kind } };
    },
  }),
];

const JSON_LIMIT = '1kb';
/** Which path served each request, by its `x-test-id` header. */
const servedBy = new Map<string, 'direct' | 'express'>();
const marker = nodeMiddleware((req, res, next) => {
  const id = req.headers['x-test-id'];
  // Only express gives the response its own methods.
  if (typeof id === 'string') servedBy.set(id, typeof (res as { json?: unknown }).json === 'function' ? 'express' : 'direct');
  next();
});
/** Does nothing, but is not marked node-only: the shell must not serve around express. */
const unmarked: RequestHandler = (_req, _res, next) => next();

function service(before: RequestHandler[], logged: unknown[], mountFirst?: (app: express.Express) => void): { app: express.Express; metrics: ServiceMetrics } {
  const metrics = new ServiceMetrics({ httpDurationName: 'test_http_request_duration_seconds', processPrefix: 'test_' });
  const log = { error: (obj: unknown) => logged.push(obj) } as unknown as Logger;
  const app = createServiceApp({
    health: new Health(),
    metrics,
    log,
    before: [
      marker,
      bearerApiHeaders({ methods: 'GET, POST, DELETE, OPTIONS', allowHeaders: 'Authorization, Content-Type', exposeHeaders: 'Retry-After' }),
      ...before,
    ],
    toError: (err) => (err instanceof TestError ? err : requestError(err, (code, message) => error(code, message), JSON_LIMIT)),
    notFound: () => error('not_found', 'no such endpoint'),
    mount(app) {
      mountFirst?.(app);
      mountRoutes(app, table, { authenticate, isAdmin: (caller) => caller.admin, error: (code, message) => error(code, message) });
    },
  });
  return { app, metrics };
}

interface Answer {
  status: number;
  headers: string[];
  body: string;
}

function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const raw = res.rawHeaders;
        const kept: string[] = [];
        for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() !== 'date') kept.push(`${raw[i]}: ${raw[i + 1]}`);
        resolve({ status: res.statusCode!, headers: kept, body: Buffer.concat(chunks).toString('latin1') });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const direct = { logged: [] as unknown[], port: 0, server: undefined as Server | undefined, metrics: undefined as ServiceMetrics | undefined };
const viaExpress = { logged: [] as unknown[], port: 0, server: undefined as Server | undefined, metrics: undefined as ServiceMetrics | undefined };

beforeAll(async () => {
  for (const [target, before] of [
    [direct, [nodeMiddleware(express.json({ limit: JSON_LIMIT }))]],
    [viaExpress, [express.json({ limit: JSON_LIMIT }), unmarked]],
  ] as const) {
    const { app, metrics } = service([...before], target.logged);
    target.metrics = metrics;
    target.server = createServer(app);
    target.port = await listenHttp(target.server, 0, '127.0.0.1');
  }
});

afterAll(async () => {
  await Promise.all([direct.server, viaExpress.server].map((server) => server && closeHttp(server)));
});

let sequence = 0;
/** Sends the request to both services; expects the same answer; returns it with the path each took. */
async function both(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const id = String(++sequence);
  const a = await send(direct.port, method, path, { ...headers, 'x-test-id': `d${id}` }, body);
  const b = await send(viaExpress.port, method, path, { ...headers, 'x-test-id': `e${id}` }, body);
  expect(a, `${method} ${path}`).toEqual(b);
  expect(servedBy.get(`e${id}`)).not.toBe('direct');
  return { ...a, path: servedBy.get(`d${id}`) };
}

const user = { authorization: 'Bearer alice' };
const admin = { authorization: 'Bearer root:admin' };
const jsonBody = { 'content-type': 'application/json' };

describe('the route table served around express', () => {
  it('answers JSON routes byte for byte as express does, and serves them directly', async () => {
    const got = await both('GET', '/api/things/abc?limit=3&tag=a&tag=b', { ...user, accept: 'application/json' });
    expect(got.status).toBe(200);
    expect(JSON.parse(got.body)).toMatchObject({ id: 'abc', owner: 'alice', query: { limit: 3, tag: ['a', 'b'] }, accepts: 'application/json' });
    expect(got.headers).toContain('Content-Type: application/json; charset=utf-8');
    expect(got.headers).toContain('Access-Control-Allow-Origin: *');
    expect(got.path).toBe('direct');
    expect((await both('POST', '/api/things', { ...user, ...jsonBody }, JSON.stringify({ name: 'lamp', size: 3 }))).path).toBe('direct');
    expect((await both('DELETE', '/api/things/abc', admin)).status).toBe(204);
  });

  it('sends a prepared body as the same bytes as its value, on either path', async () => {
    const prepared = await both('GET', '/api/pages/prepared', user);
    expect(prepared).toMatchObject({ status: 200, path: 'direct' });
    const plain = await both('GET', '/api/pages/plain', user);
    expect(prepared.headers).toEqual(plain.headers);
    expect(prepared.body).toBe(plain.body);
    expect(Buffer.from(prepared.body, 'latin1').toString('utf8')).toBe(JSON.stringify(SHARED_PAGE));
    // A conditional request goes through express's res.json(), which serializes the value.
    expect((await both('GET', '/api/pages/prepared', { ...user, 'if-modified-since': 'Tue, 01 Jan 2030 00:00:00 GMT' })).body).toBe(plain.body);
    expect(() => new PreparedJson(undefined)).toThrow(TypeError);
  });

  it('matches static segments without regard to ASCII case, as express does', async () => {
    const got = await both('GET', '/API/Things/AbC', user);
    expect(got).toMatchObject({ status: 200, path: 'direct' });
    expect(JSON.parse(got.body)).toMatchObject({ id: 'AbC' });
  });

  it('leaves express what it cannot tell apart: escapes, trailing slashes, HEAD, preflights, conditional requests', async () => {
    expect(await both('GET', '/api/things/a%20b', user)).toMatchObject({ status: 200, path: 'express' });
    expect(await both('GET', '/api/things/abc/', user)).toMatchObject({ status: 200, path: 'express' });
    expect(await both('HEAD', '/api/things/abc', user)).toMatchObject({ status: 200, path: 'express' });
    expect(await both('OPTIONS', '/api/things/abc', { origin: 'https://app.example', 'access-control-request-method': 'GET' })).toMatchObject({
      status: 204,
      path: 'express',
    });
    // express answers 304 to `If-None-Match: *`; the direct path must not answer 200 instead.
    expect((await both('GET', '/api/things/abc', { ...user, 'if-none-match': '*' })).status).toBe(304);
    expect((await both('GET', '/api/things/%E0%A4%A', user)).status).toBe(400);
  });

  it('keeps the table order: a raw route first in the table serves a path a later JSON route also matches', async () => {
    expect(await both('GET', '/api/files/7/meta')).toMatchObject({ status: 200, body: 'raw 7/meta', path: 'express' });
  });

  it('sends every refusal and failure as the service error, with Retry-After, and logs internal ones', async () => {
    expect((await both('GET', '/api/things/abc')).status).toBe(401);
    expect((await both('GET', '/api/things/abc', { authorization: 'Bearer forged' })).status).toBe(401);
    expect((await both('GET', '/api/things/abc?limit=99', user)).body).toContain('invalid query string');
    expect((await both('GET', '/api/things/abc?other=1', user)).status).toBe(400);
    expect((await both('DELETE', '/api/things/abc', user)).status).toBe(403);
    expect((await both('POST', '/api/things', { ...user, ...jsonBody }, '{"name":')).body).toContain('not valid JSON');
    expect((await both('POST', '/api/things', { ...user, ...jsonBody }, JSON.stringify({ name: 'x'.repeat(2000) }))).status).toBe(413);
    expect((await both('POST', '/api/things', { ...user, 'content-type': 'text/plain' }, 'lamp')).status).toBe(415);
    expect((await both('POST', '/api/things', { ...user, ...jsonBody }, JSON.stringify({ size: 1 }))).body).toContain('invalid request body');
    const limited = await both('GET', '/api/trouble/limit');
    expect(limited).toMatchObject({ status: 429, path: 'direct' });
    expect(limited.headers).toContain('Retry-After: 30');
    expect((await both('GET', '/api/trouble/missing')).status).toBe(404);
    const crash = await both('GET', '/api/trouble/crash');
    expect(crash.status).toBe(500);
    expect(crash.body).not.toContain('secret');
    expect(direct.logged).toHaveLength(1);
    expect(viaExpress.logged).toHaveLength(1);
    expect((await both('GET', '/api/trouble/empty')).status).toBe(204);
    expect((await both('GET', '/api/nothing-here', user)).status).toBe(404);
  });

  it('labels the request metrics alike: route pattern, method and status', async () => {
    const series = async (metrics: ServiceMetrics | undefined) => {
      const text = await metrics!.registry.getSingleMetricAsString('test_http_request_duration_seconds');
      return text
        .split('\n')
        .filter((line) => line.startsWith('test_http_request_duration_seconds_count'))
        .sort();
    };
    const directSeries = await series(direct.metrics);
    expect(directSeries).toEqual(await series(viaExpress.metrics));
    expect(directSeries).toContain('test_http_request_duration_seconds_count{method="GET",route="/api/things/:id",status="200"} 4');
    expect(directSeries).toContain('test_http_request_duration_seconds_count{method="POST",route="unmatched",status="400"} 1');
  });

  it('serves around express only a table mounted before anything else', async () => {
    const { app } = service([], [], (first) => first.get('/api/elsewhere', (_req, res) => res.json({})));
    const server = createServer(app);
    const port = await listenHttp(server, 0, '127.0.0.1');
    try {
      const got = await send(port, 'GET', '/api/things/abc', { ...user, 'x-test-id': 'late-table' });
      expect(got.status).toBe(200);
      expect(servedBy.get('late-table')).toBe('express');
    } finally {
      await closeHttp(server);
    }
  });
});
