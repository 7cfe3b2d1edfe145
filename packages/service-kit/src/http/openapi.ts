import { z } from 'zod';
import { ErrorBody } from '@alloquy/protocol/http';
import type { RouteDescription } from './route.js';

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 400: 'Bad request', 401: 'Unauthorized', 403: 'Forbidden',
  404: 'Not found', 409: 'Conflict', 413: 'Payload too large', 415: 'Unsupported media type', 429: 'Too many requests',
  503: 'Service unavailable',
};

function schemaOf(s: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  return z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
}

/** One `in: query` parameter per field of the route's query schema; a field's description moves up to the parameter. */
function queryParameters(query: z.ZodObject): Record<string, unknown>[] {
  return Object.entries(query.shape as Record<string, z.ZodType>).map(([name, field]) => {
    const { description, $schema: _, ...schema } = schemaOf(field, 'input');
    return {
      name,
      in: 'query',
      required: !field.safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema,
    };
  });
}

/** Builds the OpenAPI 3.1 document from the same route table that serves the API. */
export function buildOpenApi(routes: readonly RouteDescription[], info: { title: string; version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params: Record<string, unknown>[] = [...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    if (r.query) params.push(...queryParameters(r.query));
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(r.responses)) {
      responses[status] = schema
        ? { description: STATUS_TEXT[Number(status)] ?? 'OK', content: { 'application/json': { schema: schemaOf(schema, 'output') } } }
        : { description: STATUS_TEXT[Number(status)] ?? 'OK' };
    }
    const errorStatuses = new Set([...(r.errors ?? []), ...(r.body ? [400, 415] : []), ...(r.query ? [400] : []), ...(r.auth !== 'none' ? [401] : []), ...(r.auth === 'admin' ? [403] : [])]);
    for (const status of [...errorStatuses].sort()) {
      responses[String(status)] = {
        description: STATUS_TEXT[status] ?? 'Error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    paths[r.path] ??= {};
    paths[r.path]![r.method] = {
      summary: r.summary,
      tags: [r.tag],
      ...(params.length ? { parameters: params } : {}),
      ...(r.auth !== 'none' ? { security: [{ bearer: [] }] } : {}),
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(r.body, 'input') } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Error: schemaOf(ErrorBody, 'output') },
    },
  };
}
