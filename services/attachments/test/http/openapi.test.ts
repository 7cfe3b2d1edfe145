/**
 * The OpenAPI document is generated from the route tables that serve the API: it lists every
 * endpoint the service answers and nothing else, and the protocol package's schemas it names
 * describe the real answers.
 */
import { Permission } from '@alloquy/protocol/permissions';
import { AssetImageView, AttachmentView, EmojiList, EmojiView, UploadStatusView } from '@alloquy/protocol/http';
import { OPERATOR } from '@alloquy/control/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { request, tusCreate, uploadFile } from '../../bench/client.js';
import { createAssets } from '../../src/assets/index.js';
import { createEmbeds } from '../../src/embeds/index.js';
import { VERSION, type AttachmentsCore } from '../../src/server.js';
import { makePng } from '../support/files.js';
import { startTestStack, type TestStack } from '../support/stack.js';

/** As main.ts wires them: every feature of the service. */
const allModules = (core: AttachmentsCore) => [
  createEmbeds({ config: core.config, db: core.store.db, blobs: core.blobs }).routes,
  createAssets({ config: core.config, db: core.store.db, blobs: core.blobs, authorizer: core.authorizer, log: core.log }).routes,
];

/** Every endpoint of the service, as `METHOD path`. */
const ENDPOINTS = [
  'POST /api/v1/attachments',
  'GET /api/v1/attachments/{id}',
  'OPTIONS /api/v1/uploads',
  'POST /api/v1/uploads',
  'HEAD /api/v1/uploads/{id}',
  'PATCH /api/v1/uploads/{id}',
  'DELETE /api/v1/uploads/{id}',
  'GET /api/v1/uploads/{id}',
  'GET /files/{id}/thumbnails/{size}',
  'GET /files/{id}/{filename}',
  'GET /api/v1/embeds',
  'GET /api/v1/embeds/previews/{file}',
  'PUT /api/v1/me/avatar',
  'DELETE /api/v1/me/avatar',
  'GET /avatars/{file}',
  'PUT /api/v1/me/banner',
  'DELETE /api/v1/me/banner',
  'GET /banners/{file}',
  'PUT /api/v1/guild/icon',
  'DELETE /api/v1/guild/icon',
  'GET /guild/icon.webp',
  'POST /api/v1/emoji',
  'GET /api/v1/emoji',
  'DELETE /api/v1/emoji/{name}',
  'GET /emoji/{file}',
];

/** HEAD is left to the OPTIONS check below: its answers have no body to tell "no such endpoint" by. */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const NO_SUCH_ENDPOINT = { error: { code: 'not_found', message: 'no such endpoint' } };

type Operation = { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> };
interface Document {
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
}

let stack: TestStack;
let doc: Document;

beforeAll(async () => {
  stack = await startTestStack({ attachments: { extraModules: allModules } });
  stack.control.guild.createRole(OPERATOR, { name: 'emoji keepers', permissions: Permission.MANAGE_EMOJIS });
  stack.control.guild.addMemberRole(OPERATOR, 'carol', 'emoji keepers');
  const res = await request(`${stack.baseUrl}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  doc = res.json;
});

afterAll(async () => {
  await stack?.stop();
});

const documented = () => Object.entries(doc.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));

/** A concrete URL for an OpenAPI path: each parameter filled with something no route will find. */
const concrete = (path: string) => `${stack.baseUrl}${path.replace(/\{[^}]+\}/g, 'nothing-here')}`;

describe('the attachments OpenAPI document', () => {
  it('is generated under the service name and version', () => {
    expect(doc.info).toEqual({ title: 'Alloquy attachments API', version: VERSION });
  });

  it('lists every endpoint of the service, and only those', () => {
    expect(documented().sort()).toEqual([...ENDPOINTS].sort());
  });

  it('documents what is served: every documented operation answers, every other method of its path is no endpoint', async () => {
    for (const [path, operations] of Object.entries(doc.paths)) {
      const served = new Set(Object.keys(operations).map((m) => m.toUpperCase()));
      // express answers HEAD with a GET route.
      if (served.has('GET')) served.add('HEAD');
      for (const method of METHODS) {
        const res = await request(concrete(path), { method });
        if (served.has(method)) expect(res.json, `${method} ${path}`).not.toEqual(NO_SUCH_ENDPOINT);
        else expect([res.status, res.json], `${method} ${path}`).toEqual([404, NO_SUCH_ENDPOINT]);
      }
      // An OPTIONS request that is no CORS preflight: tus discovery where documented, else express's list of the path's methods.
      const options = await request(concrete(path), { method: 'OPTIONS' });
      if (served.has('OPTIONS')) expect(options.headers['tus-version'], path).toContain('1.0.0');
      else expect(String(options.headers.allow).split(', ').sort(), path).toEqual([...served].sort());
    }
  });

  it('describes JSON answers with the protocol package schemas', () => {
    const schema = (endpoint: string, status: number) => {
      const [method, path] = endpoint.split(' ') as [string, string];
      return doc.paths[path]![method.toLowerCase()]!.responses[status]!.content!['application/json']!.schema;
    };
    const json = (s: z.ZodType) => z.toJSONSchema(s, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' });
    expect(schema('POST /api/v1/attachments', 201)).toEqual(json(AttachmentView));
    expect(schema('GET /api/v1/attachments/{id}', 200)).toEqual(json(AttachmentView));
    expect(schema('GET /api/v1/uploads/{id}', 200)).toEqual(json(UploadStatusView));
    expect(schema('PUT /api/v1/me/avatar', 200)).toEqual(json(AssetImageView));
    expect(schema('GET /api/v1/emoji', 200)).toEqual(json(EmojiList));
  });
});

describe('the protocol schemas', () => {
  /** Parsing keeps every field of a valid answer and drops unknown ones: equal means valid and fully described. */
  const describes = (schema: z.ZodType, answer: unknown) => expect(schema.parse(answer)).toEqual(answer);

  it('describe a real upload answer, its metadata and a resumable upload status', async () => {
    const upload = await uploadFile(stack.baseUrl, stack.tokens.alice, 'secret', 'dot.png', await makePng(40, 30));
    expect(upload.status).toBe(201);
    describes(AttachmentView, upload.json);
    const metadata = await request(`${stack.baseUrl}/api/v1/attachments/${upload.json.id}`, { headers: { authorization: `Bearer ${stack.tokens.alice}` } });
    describes(AttachmentView, metadata.json);

    const created = await tusCreate(stack.baseUrl, stack.tokens.bob, 10, { channel: 'general', filename: 'ten.bin' });
    const status = await request(String(created.headers.location), { headers: { authorization: `Bearer ${stack.tokens.bob}` } });
    expect(status.json).toMatchObject({ offset: 0, length: 10, complete: false, attachment: null });
    describes(UploadStatusView, status.json);
  });

  it('describe a real avatar and emoji answer', async () => {
    const png = await makePng(64, 64);
    const avatar = await request(`${stack.baseUrl}/api/v1/me/avatar`, { method: 'PUT', headers: { authorization: `Bearer ${stack.tokens.alice}` }, body: png });
    expect(avatar.status).toBe(200);
    describes(AssetImageView, avatar.json);
    const emoji = await request(`${stack.baseUrl}/api/v1/emoji?name=dot`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.tokens.carol}` },
      body: png,
    });
    expect(emoji.status).toBe(201);
    describes(EmojiView, emoji.json);
    const list = await request(`${stack.baseUrl}/api/v1/emoji`, { headers: { authorization: `Bearer ${stack.tokens.bob}` } });
    expect(list.json).toHaveLength(1);
    describes(EmojiList, list.json);
  });

  it('refuse an answer that lacks a field or has one of the wrong type', () => {
    expect(AttachmentView.safeParse({ id: 'x' }).success).toBe(false);
    expect(EmojiView.safeParse({ name: 'dot', url: 'u', animated: 'no', created_by: 'carol' }).success).toBe(false);
  });
});
