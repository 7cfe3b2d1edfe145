import { z } from 'zod';
import { ErrorBody } from '@alloquy/protocol/http';
import { isRawRoute, type RawAuth, type RawRouteDescription, type RouteDescription, type RouteErrors } from './route.js';

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  206: 'Partial content',
  304: 'Not modified',
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload too large',
  415: 'Unsupported media type',
  416: 'Range not satisfiable',
  422: 'Unprocessable content',
  429: 'Too many requests',
  500: 'Internal error',
  502: 'Bad gateway',
  503: 'Service unavailable',
  504: 'Gateway timeout',
};

function schemaOf(s: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  return z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
}

/** One `in: query` (or `in: header`) parameter per field of the schema; a field's description moves up to the parameter. */
function queryParameters(query: z.ZodObject, where: 'query' | 'header' = 'query'): Record<string, unknown>[] {
  return Object.entries(query.shape as Record<string, z.ZodType>).map(([name, field]) => {
    const { description, $schema: _, ...schema } = schemaOf(field, 'input');
    return {
      name,
      in: where,
      required: !field.safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema,
    };
  });
}

/** Builds the OpenAPI 3.1 document from the same route table that serves the API. */
export function buildOpenApi(routes: readonly (RouteDescription | RawRouteDescription)[], info: { title: string; version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (isRawRoute(r)) {
      paths[r.path] ??= {};
      paths[r.path]![r.method] = rawOperation(r);
      continue;
    }
    const params = pathParameters(r.path);
    if (r.query) params.push(...queryParameters(r.query));
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(r.responses)) {
      responses[status] = schema
        ? { description: STATUS_TEXT[Number(status)] ?? 'OK', content: { 'application/json': { schema: schemaOf(schema, 'output') } } }
        : { description: STATUS_TEXT[Number(status)] ?? 'OK' };
    }
    // A validated body is refused as 400 (bad) or 415 (not JSON), a validated query as 400.
    Object.assign(responses, errorResponses(r.auth, r.errors, [...(r.body ? [400, 415] : []), ...(r.query ? [400] : [])]));
    paths[r.path] ??= {};
    paths[r.path]![r.method] = {
      summary: r.summary,
      tags: [r.tag],
      ...(params.length ? { parameters: params } : {}),
      ...security(r.auth),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(r.body, 'input') } } } } : {}),
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

function declaredStatuses(errors: RouteErrors | undefined): number[] {
  if (!errors) return [];
  return isStatusList(errors) ? [...errors] : Object.keys(errors).map(Number);
}

function isStatusList(errors: RouteErrors): errors is readonly number[] {
  return Array.isArray(errors);
}

/** One `in: path` parameter per `{name}` of the path: a string, or what the route declares of it. */
function pathParameters(path: string, declared?: Record<string, z.ZodType>): Record<string, unknown>[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => {
    const schema = declared?.[m[1]!];
    if (!schema) return { name: m[1], in: 'path', required: true, schema: { type: 'string' } };
    const { description, $schema: _, ...rest } = schemaOf(schema, 'input');
    return { name: m[1], in: 'path', required: true, ...(typeof description === 'string' ? { description } : {}), schema: rest };
  });
}

/**
 * The error answers of a route, by status in order: what it declares, what its validation implies,
 * 401 when it needs a token and 403 when it needs an admin.
 */
function errorResponses(auth: RawAuth, errors: RouteErrors | undefined, implied: readonly number[]): Record<string, unknown> {
  const needsToken = auth !== 'none' && auth !== 'optional-token';
  const statuses = new Set([...declaredStatuses(errors), ...implied, ...(needsToken ? [401] : []), ...(auth === 'admin' ? [403] : [])]);
  return Object.fromEntries([...statuses].sort().map((status) => [String(status), errorResponse(status, errors)]));
}

/** An error answer: the route's own words for when it comes, else the status's name; the body is always the Error schema. */
function errorResponse(status: number, errors: RouteErrors | undefined): Record<string, unknown> {
  const when = errors && !isStatusList(errors) ? errors[status] : undefined;
  return { description: when ?? STATUS_TEXT[status] ?? 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
}

/** The security requirement of an `auth` level: a bearer token, an optional one, or none. */
function security(auth: RawAuth): Record<string, unknown> {
  if (auth === 'none') return {};
  if (auth === 'optional-token') return { security: [{}, { bearer: [] }] };
  return { security: [{ bearer: [] }] };
}

/** `{ content type: { schema } }`; bytes of any shape get no schema. */
function contentOf(content: Record<string, z.ZodType | null>, io: 'input' | 'output'): Record<string, unknown> {
  return Object.fromEntries(Object.entries(content).map(([type, schema]) => [type, schema ? { schema: schemaOf(schema, io) } : {}]));
}

/** A raw route's operation: everything it declares, for a request and an answer the kit does not read. */
function rawOperation(r: RawRouteDescription): Record<string, unknown> {
  const params = pathParameters(r.path, r.params);
  if (r.query) params.push(...queryParameters(r.query));
  if (r.headers) params.push(...queryParameters(r.headers, 'header'));
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(r.responses)) {
    responses[status] = {
      description: answer.description,
      ...(answer.headers
        ? { headers: Object.fromEntries(Object.entries(answer.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }])) }
        : {}),
      ...(answer.content ? { content: contentOf(answer.content, 'output') } : {}),
    };
  }
  Object.assign(responses, errorResponses(r.auth, r.errors, []));
  return {
    summary: r.summary,
    ...(r.description ? { description: r.description } : {}),
    tags: [r.tag],
    ...(params.length ? { parameters: params } : {}),
    ...security(r.auth),
    ...(r.body
      ? {
          requestBody: {
            required: r.body.required ?? true,
            ...(r.body.description ? { description: r.body.description } : {}),
            content: contentOf(r.body.content, 'input'),
          },
        }
      : {}),
    responses,
  };
}
