import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TestError, testError } from '../../test/support/test-error.js';
import { rawRouteDeclarer, routeDeclarer, type RouteTable } from './route.js';
import { mountRoutes } from './route-table.js';
import { closeHttp, listenHttp } from './service-app.js';

const error = testError;

/** The caller of this test service: who the token names, and whether they administer it. */
interface Caller {
  name: string;
  admin: boolean;
}
const route = routeDeclarer<Caller>();
const rawRoute = rawRouteDeclarer<Caller>();

/** Tokens are `name` or `name:admin`; `slow:` tokens authenticate after a while, as over gRPC. */
async function authenticate(token: string): Promise<Caller> {
  if (token.startsWith('slow:')) await new Promise((r) => setTimeout(r, 20));
  const [name, role] = token.replace(/^slow:/, '').split(':');
  if (!name || name === 'forged') throw error('invalid_token', 'the access token is not valid');
  return { name, admin: role === 'admin' };
}

const authenticated: { token: string }[] = [];
const seen: Record<string, unknown> = {};

const table: RouteTable<Caller> = [
  rawRoute({
    method: 'head',
    path: '/things/{id}',
    summary: 'How large a thing is',
    tag: 'things',
    auth: 'user',
    responses: { 200: { description: 'Its size', headers: { 'Thing-Size': 'bytes' } } },
    handler({ res, params, name }) {
      res.setHeader('Thing-Size', String(params.id.length));
      res.setHeader('Thing-Owner', name);
      res.status(200).end();
    },
  }),
  route({
    method: 'get',
    path: '/things/{id}',
    summary: 'A thing as JSON',
    tag: 'things',
    auth: 'user',
    responses: { 200: z.object({ id: z.string(), owner: z.string() }) },
    handler: ({ params, name }) => ({ status: 200, body: { id: params.id, owner: name } }),
  }),
  rawRoute({
    method: 'get',
    path: '/files/{id}/{name}',
    summary: 'Bytes of a file',
    tag: 'files',
    auth: 'optional-token',
    responses: { 200: { description: 'The file', content: { 'application/octet-stream': null } } },
    handler({ res, params, token }) {
      seen.optionalToken = token;
      res.setHeader('Content-Type', 'application/octet-stream');
      res.end(`${params.id}/${params.name}`);
    },
  }),
  rawRoute({
    method: 'put',
    path: '/uploads/{id}',
    summary: 'Stream bytes in',
    tag: 'files',
    auth: 'token',
    body: { content: { 'application/octet-stream': null } },
    responses: { 204: { description: 'Stored' } },
    async handler({ req, res, token, params }) {
      seen.uploadToken = token;
      // The route's own question checks the token (here: only "writer" may write).
      if (token !== 'writer') throw error('forbidden', 'you may not write here');
      if (params.id === 'refuse-after-reading') {
        for await (const _ of req) void _;
        throw error('invalid_request', 'read it all, then refused');
      }
      let bytes = 0;
      for await (const chunk of req) bytes += (chunk as Buffer).length;
      res.setHeader('Bytes', String(bytes));
      res.status(204).end();
    },
  }),
  rawRoute({
    method: 'delete',
    path: '/things/{id}',
    summary: 'Remove a thing (admins)',
    tag: 'things',
    auth: 'admin',
    responses: { 204: { description: 'Removed' } },
    handler({ res, name }) {
      seen.deletedBy = name;
      res.status(204).end();
    },
  }),
  rawRoute({
    method: 'options',
    path: '/uploads',
    summary: 'Discovery',
    tag: 'files',
    auth: 'none',
    responses: { 204: { description: 'What is offered', headers: { Offers: 'a list' } } },
    handler({ res }) {
      res.setHeader('Offers', 'everything');
      res.status(204).end();
    },
  }),
];

let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  mountRoutes(app, table, {
    async authenticate(token) {
      authenticated.push({ token });
      return authenticate(token);
    },
    isAdmin: (caller) => caller.admin,
    error,
  });
  app.use((_req: Request, _res: Response, next: NextFunction) => next(error('not_found', 'no such endpoint')));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err instanceof TestError ? err : error('internal', 'internal error');
    res.status(e.status).json(e.toJSON());
  });
  server = (await import('node:http')).createServer(app);
  const port = await listenHttp(server, 0, '127.0.0.1');
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await closeHttp(server);
});

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
}

describe('raw routes in the route table', () => {
  it('are matched in table order beside JSON routes: a raw HEAD before a JSON GET of the same path', async () => {
    const head = await call('HEAD', '/things/abcd', { authorization: 'Bearer alice' });
    expect(head.status).toBe(200);
    expect(head.headers.get('thing-size')).toBe('4');
    expect(head.headers.get('thing-owner')).toBe('alice');
    const get = await call('GET', '/things/abcd', { authorization: 'Bearer alice' });
    expect([get.status, get.json]).toEqual([200, { id: 'abcd', owner: 'alice' }]);
  });

  it('authenticate a `user` route through the async authenticate, as JSON routes do', async () => {
    expect((await call('HEAD', '/things/x', { authorization: 'Bearer slow:bob' })).headers.get('thing-owner')).toBe('bob');
    const none = await call('DELETE', '/things/x');
    expect([none.status, none.json]).toEqual([
      401,
      { error: { code: 'unauthorized', message: 'an "Authorization: Bearer <access token>" header is required' } },
    ]);
    const basic = await call('DELETE', '/things/x', { authorization: 'Basic YTpi' });
    expect(basic.json.error.code).toBe('unauthorized');
    const forged = await call('DELETE', '/things/x', { authorization: 'Bearer forged' });
    expect([forged.status, forged.json.error.code]).toEqual([401, 'invalid_token']);
  });

  it('keep `admin` routes to callers the service calls admins', async () => {
    const plain = await call('DELETE', '/things/x', { authorization: 'Bearer alice' });
    expect([plain.status, plain.json]).toEqual([403, { error: { code: 'forbidden', message: 'only an admin may do this' } }]);
    expect((await call('DELETE', '/things/x', { authorization: 'Bearer root:admin' })).status).toBe(204);
    expect(seen.deletedBy).toBe('root');
  });

  it('hand a `token` route its bearer token without authenticating it, and refuse it without one', async () => {
    authenticated.length = 0;
    const ok = await call('PUT', '/uploads/1', { authorization: 'Bearer writer' }, 'hello');
    expect([ok.status, ok.headers.get('bytes')]).toEqual([204, '5']);
    expect(seen.uploadToken).toBe('writer');
    const other = await call('PUT', '/uploads/1', { authorization: 'Bearer reader' }, 'hello');
    expect([other.status, other.json.error.code]).toEqual([403, 'forbidden']);
    expect(authenticated).toEqual([]);
    const none = await call('PUT', '/uploads/1', {}, 'hello');
    expect([none.status, none.json.error.code]).toEqual([401, 'unauthorized']);
  });

  it('hand an `optional-token` route the token when there is one, and serve it without', async () => {
    const anonymous = await call('GET', '/files/7/a.txt');
    expect([anonymous.status, anonymous.text, seen.optionalToken]).toEqual([200, '7/a.txt', undefined]);
    await call('GET', '/files/7/a.txt', { authorization: 'Bearer reader' });
    expect(seen.optionalToken).toBe('reader');
    await call('GET', '/files/7/a.txt', { authorization: 'Basic YTpi' });
    expect(seen.optionalToken).toBeUndefined();
  });

  it('answer HEAD from a raw GET route, and serve OPTIONS routes', async () => {
    const head = await call('HEAD', '/files/7/a.txt');
    expect([head.status, head.text]).toEqual([200, '']);
    const options = await call('OPTIONS', '/uploads');
    expect([options.status, options.headers.get('offers')]).toEqual([204, 'everything']);
  });
});

/** Sends `total` bytes to PUT /uploads/{id} as fast as the server takes them; resolves with the answer and how much was written. */
function streamUpload(id: string, token: string, total: number): Promise<{ status: number; connection: string | undefined; written: number; cut: boolean }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${base}/uploads/${id}`);
    const req = httpRequest({
      host: url.hostname,
      port: (server.address() as AddressInfo).port,
      path: url.pathname,
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-length': String(total) },
    });
    let written = 0;
    let answer: { status: number; connection: string | undefined } | undefined;
    let cut = false;
    const chunk = Buffer.alloc(64 * 1024);
    const finish = () => answer && resolve({ ...answer, written, cut });
    req.on('response', (res) => {
      answer = { status: res.statusCode ?? 0, connection: res.headers.connection };
      res.resume();
      res.on('end', () => {
        // Stop sending once answered; a cut connection shows as an error on the request.
        setTimeout(() => {
          req.destroy();
          finish();
        }, 2500);
      });
    });
    req.on('error', () => {
      cut = true;
      if (answer) finish();
      else reject(new Error('no answer before the connection ended'));
    });
    const pump = () => {
      while (written < total && !req.destroyed) {
        written += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (written >= total) req.end();
    };
    pump();
  });
}

describe('a raw route that reads its body', () => {
  it('closes the connection after a refusal sent before the body was read, without reading it all', async () => {
    const total = 256 * 1024 * 1024;
    const res = await streamUpload('1', 'reader', total);
    expect(res.status).toBe(403);
    expect(res.connection).toBe('close');
    // Cut after a short drain: the client never got to send the quarter gigabyte.
    expect(res.written).toBeLessThan(total);
  });

  it('keeps the connection when the refusal comes after the whole body was read', async () => {
    const res = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = httpRequest(`${base}/uploads/refuse-after-reading`, { method: 'PUT', headers: { authorization: 'Bearer writer' } });
      req.on('response', (answer) => {
        answer.resume();
        resolve({ status: answer.statusCode ?? 0, connection: answer.headers.connection });
      });
      req.on('error', reject);
      req.end('x'.repeat(1000));
    });
    expect(res).toEqual({ status: 400, connection: 'keep-alive' });
  });

  it('also closes after an authentication refusal, which comes before the handler runs', async () => {
    const res = await streamUpload('1', '', 32 * 1024 * 1024);
    expect(res.status).toBe(401);
    expect(res.connection).toBe('close');
  });
});
