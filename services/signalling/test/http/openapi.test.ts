/**
 * The signalling service's HTTP endpoints are documented by an OpenAPI document generated from the
 * route table that serves them; the WebSocket is documented in PROTOCOL.md.
 */
import { TurnCredentialsView } from '@alloquy/protocol/http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { VERSION } from '../../src/server.js';
import { startTestStack, type TestStack } from '../support/stack.js';

type Operation = { security?: unknown; responses: Record<string, { content?: Record<string, { schema?: unknown }> }> };
interface Document {
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
}

const NO_SUCH_ENDPOINT = { error: { code: 'not_found', message: 'no such endpoint' } };

let stack: TestStack;
let doc: Document;

beforeAll(async () => {
  stack = await startTestStack();
  const res = await fetch(`${stack.baseUrl}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Document;
});

afterAll(async () => {
  await stack?.stop();
});

describe('the signalling OpenAPI document', () => {
  it('is generated under the service name and version', () => {
    expect(doc.info).toEqual({ title: 'Alloquy signalling API', version: VERSION });
  });

  it('lists the one HTTP endpoint, authenticated, and the WebSocket path is no HTTP endpoint', async () => {
    expect(Object.keys(doc.paths)).toEqual(['/api/v1/turn-credentials']);
    expect(Object.keys(doc.paths['/api/v1/turn-credentials']!)).toEqual(['get']);
    expect(doc.paths['/api/v1/turn-credentials']!.get!.security).toEqual([{ bearer: [] }]);
    // Every other method of the path is no endpoint; the GET is.
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const res = await fetch(`${stack.baseUrl}/api/v1/turn-credentials`, { method });
      expect([method, res.status, await res.json()]).toEqual([method, 404, NO_SUCH_ENDPOINT]);
    }
    const get = await fetch(`${stack.baseUrl}/api/v1/turn-credentials`);
    expect((await get.json()) as unknown).not.toEqual(NO_SUCH_ENDPOINT);
  });

  it('describes the answer with the protocol package schema, which describes a real answer', async () => {
    const documented = doc.paths['/api/v1/turn-credentials']!.get!.responses['200']!.content!['application/json']!.schema;
    expect(documented).toEqual(z.toJSONSchema(TurnCredentialsView, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' }));
    const res = await fetch(`${stack.baseUrl}/api/v1/turn-credentials`, { headers: { Authorization: `Bearer ${stack.tokens.carol}` } });
    const answer: unknown = await res.json();
    // Parsing keeps every field of a valid answer and drops unknown ones: equal means valid and fully described.
    expect(TurnCredentialsView.parse(answer)).toEqual(answer);
    expect(TurnCredentialsView.safeParse({ ...(answer as object), ttl: 'ten minutes' }).success).toBe(false);
  });
});
