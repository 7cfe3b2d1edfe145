import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildOpenApi } from './openapi.js';
import { rawRouteDeclarer, routeDeclarer, type RouteTable } from './route.js';

const route = routeDeclarer<{ name: string }>();
const rawRoute = rawRouteDeclarer<{ name: string }>();

const jsonRoutes: RouteTable<{ name: string }> = [
  route({
    method: 'post',
    path: '/api/v1/things/{thing}/notes',
    summary: 'Add a note',
    tag: 'things',
    auth: 'user',
    body: z.strictObject({ text: z.string().min(1).max(100) }),
    query: z.object({ draft: z.enum(['yes', 'no']).optional().describe('keep it unpublished') }),
    responses: { 201: z.object({ id: z.number().int() }) },
    errors: [404, 409],
    handler: () => ({ status: 201, body: { id: 1 } }),
  }),
  route({
    method: 'delete',
    path: '/api/v1/things/{thing}',
    summary: 'Remove a thing',
    tag: 'things',
    auth: 'admin',
    responses: { 204: null },
    handler: () => ({ status: 204 }),
  }),
];

/**
 * What the generator answered for `jsonRoutes` before raw routes existed, byte for byte: JSON
 * routes (the control server's whole API) must document exactly as they did.
 */
const JSON_ROUTES_DOCUMENT =
  '{"openapi":"3.1.0","info":{"title":"T","version":"1"},"servers":[{"url":"/"}],"paths":{"/api/v1/things/{thing}/notes":{"post":{"summary":"Add a note","tags":["things"],"parameters":[{"name":"thing","in":"path","required":true,"schema":{"type":"string"}},{"name":"draft","in":"query","required":false,"description":"keep it unpublished","schema":{"type":"string","enum":["yes","no"]}}],"security":[{"bearer":[]}],"requestBody":{"required":true,"content":{"application/json":{"schema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"text":{"type":"string","minLength":1,"maxLength":100}},"required":["text"],"additionalProperties":false}}}},"responses":{"201":{"description":"Created","content":{"application/json":{"schema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"id":{"type":"integer","minimum":-9007199254740991,"maximum":9007199254740991}},"required":["id"],"additionalProperties":false}}}},"400":{"description":"Bad request","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}},"401":{"description":"Unauthorized","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}},"404":{"description":"Not found","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}},"409":{"description":"Conflict","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}},"415":{"description":"Unsupported media type","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}}}}},"/api/v1/things/{thing}":{"delete":{"summary":"Remove a thing","tags":["things"],"parameters":[{"name":"thing","in":"path","required":true,"schema":{"type":"string"}}],"security":[{"bearer":[]}],"responses":{"204":{"description":"No Content"},"401":{"description":"Unauthorized","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}},"403":{"description":"Forbidden","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}}}}}},"components":{"securitySchemes":{"bearer":{"type":"http","scheme":"bearer","bearerFormat":"JWT"}},"schemas":{"Error":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"error":{"type":"object","properties":{"code":{"type":"string","description":"stable machine-readable code"},"message":{"type":"string","description":"human-readable explanation"}},"required":["code","message"],"additionalProperties":false}},"required":["error"],"additionalProperties":false}}}}';

const Stored = z.object({ id: z.string(), size: z.number().int() });

const rawRoutes: RouteTable<{ name: string }> = [
  rawRoute({
    method: 'post',
    path: '/api/v1/uploads',
    summary: 'Start an upload',
    description: 'The size comes first; the bytes follow in PATCH requests.',
    tag: 'uploads',
    auth: 'token',
    headers: z.object({ 'Upload-Length': z.string().regex(/^\d+$/).describe('the size in bytes'), 'Upload-Metadata': z.string().optional() }),
    body: { required: false, description: 'The first bytes', content: { 'application/offset+octet-stream': null } },
    responses: {
      201: { description: 'Created', headers: { Location: 'the upload' } },
      200: { description: 'Created and complete', content: { 'application/json': Stored } },
    },
    errors: [413, 400],
    handler: () => undefined,
  }),
  rawRoute({
    method: 'get',
    path: '/files/{id}/thumbnails/{size}',
    summary: 'A thumbnail',
    tag: 'files',
    auth: 'optional-token',
    params: {
      size: z
        .string()
        .regex(/^\d+x\d+$/)
        .describe('<width>x<height>'),
    },
    query: z.object({ sig: z.string().optional().describe('signed links: the signature') }),
    responses: {
      200: { description: 'The image', content: { 'image/webp': null } },
      206: { description: 'A byte range', headers: { 'Content-Range': 'which bytes' } },
    },
    errors: { 404: 'no such file or thumbnail', 403: 'a private file, without a valid signature' },
    handler: () => undefined,
  }),
  rawRoute({
    method: 'options',
    path: '/api/v1/uploads',
    summary: 'Discovery',
    tag: 'uploads',
    auth: 'none',
    responses: { 204: { description: 'Versions and extensions' } },
    handler: () => undefined,
  }),
  rawRoute({
    method: 'delete',
    path: '/api/v1/uploads/{id}',
    summary: 'Abandon',
    tag: 'uploads',
    auth: 'admin',
    responses: { 204: { description: 'Gone' } },
    handler: () => undefined,
  }),
];

type Operation = Record<string, any>;
const ERROR = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };

describe('buildOpenApi', () => {
  it('documents JSON routes exactly as before raw routes existed', () => {
    expect(JSON.stringify(buildOpenApi(jsonRoutes, { title: 'T', version: '1' }))).toBe(JSON_ROUTES_DOCUMENT);
  });

  it('documents a raw route from its declaration: headers, an optional body, answers with their headers and content', () => {
    const doc = buildOpenApi(rawRoutes, { title: 'T', version: '1' }) as { paths: Record<string, Record<string, Operation>> };
    const post = doc.paths['/api/v1/uploads']!.post!;
    expect(post.summary).toBe('Start an upload');
    expect(post.description).toBe('The size comes first; the bytes follow in PATCH requests.');
    expect(post.tags).toEqual(['uploads']);
    expect(post.security).toEqual([{ bearer: [] }]);
    expect(post.parameters).toEqual([
      { name: 'Upload-Length', in: 'header', required: true, description: 'the size in bytes', schema: { type: 'string', pattern: '^\\d+$' } },
      { name: 'Upload-Metadata', in: 'header', required: false, schema: { type: 'string' } },
    ]);
    expect(post.requestBody).toEqual({ required: false, description: 'The first bytes', content: { 'application/offset+octet-stream': {} } });
    expect(Object.keys(post.responses)).toEqual(['200', '201', '400', '401', '413']);
    expect(post.responses['201']).toEqual({ description: 'Created', headers: { Location: { description: 'the upload', schema: { type: 'string' } } } });
    expect(post.responses['200'].content['application/json'].schema).toMatchObject({
      type: 'object',
      properties: { id: { type: 'string' }, size: { type: 'integer' } },
      required: ['id', 'size'],
    });
    expect(post.responses['401']).toEqual({ description: 'Unauthorized', ...ERROR });
    expect(post.responses['413']).toEqual({ description: 'Payload too large', ...ERROR });
  });

  it('documents declared path parameters, the query, an optional token, bytes without a schema and errors with their causes', () => {
    const doc = buildOpenApi(rawRoutes, { title: 'T', version: '1' }) as { paths: Record<string, Record<string, Operation>> };
    const get = doc.paths['/files/{id}/thumbnails/{size}']!.get!;
    expect(get.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
      { name: 'size', in: 'path', required: true, description: '<width>x<height>', schema: { type: 'string', pattern: '^\\d+x\\d+$' } },
      { name: 'sig', in: 'query', required: false, description: 'signed links: the signature', schema: { type: 'string' } },
    ]);
    // Anyone may call; a bearer token may open more. No 401 is added.
    expect(get.security).toEqual([{}, { bearer: [] }]);
    expect(get.requestBody).toBeUndefined();
    expect(get.responses).toEqual({
      200: { description: 'The image', content: { 'image/webp': {} } },
      206: { description: 'A byte range', headers: { 'Content-Range': { description: 'which bytes', schema: { type: 'string' } } } },
      403: { description: 'a private file, without a valid signature', ...ERROR },
      404: { description: 'no such file or thumbnail', ...ERROR },
    });
  });

  it('puts several methods of one path together, with no security for public routes and 401 and 403 for admin ones', () => {
    const doc = buildOpenApi(rawRoutes, { title: 'T', version: '1' }) as { paths: Record<string, Record<string, Operation>> };
    expect(Object.keys(doc.paths['/api/v1/uploads']!)).toEqual(['post', 'options']);
    const options = doc.paths['/api/v1/uploads']!.options!;
    expect(options.security).toBeUndefined();
    expect(options.responses).toEqual({ 204: { description: 'Versions and extensions' } });
    const remove = doc.paths['/api/v1/uploads/{id}']!.delete!;
    expect(Object.keys(remove.responses)).toEqual(['204', '401', '403']);
    expect(remove.security).toEqual([{ bearer: [] }]);
  });

  it('documents JSON and raw routes of one table in one document', () => {
    const doc = buildOpenApi([...jsonRoutes, ...rawRoutes], { title: 'T', version: '1' }) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual([
      '/api/v1/things/{thing}/notes',
      '/api/v1/things/{thing}',
      '/api/v1/uploads',
      '/files/{id}/thumbnails/{size}',
      '/api/v1/uploads/{id}',
    ]);
  });
});
