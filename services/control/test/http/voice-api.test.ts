/** The voice endpoints on a server with Murmur switched off (ALLOQUY_MURMUR=false). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '@alloquy/service-kit/log';
import { startControlServer, type ControlServer } from '../../src/server.js';
import { httpApi } from '../support/http-api.js';

let server: ControlServer;
let base: string;

beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), 'alloquy-voice-api-'));
  const config = loadConfig({ ALLOQUY_HOME: home, ALLOQUY_HTTP_HOST: '127.0.0.1', ALLOQUY_HTTP_PORT: '0', ALLOQUY_IRC_LINK: 'false', ALLOQUY_MURMUR: 'false' });
  server = await startControlServer(config, createLogger('silent'));
  base = `http://127.0.0.1:${server.httpPort}`;
});
afterAll(() => server.stop());

const { call } = httpApi(() => base);

describe('voice endpoints without Murmur', () => {
  it('records voice channels (for when Murmur is switched on) and says voice is unavailable', async () => {
    expect((await call('POST', '/api/v1/accounts', { username: 'alice', password: 'alice-password' })).status).toBe(201);
    const token = (await call('POST', '/api/v1/sessions', { username: 'alice', password: 'alice-password' })).json.access_token;

    const created = await call('POST', '/api/v1/channels', { name: 'Lounge', kind: 'voice' }, token);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'Lounge', kind: 'voice', murmur_channel_id: null });
    expect((await call('POST', '/api/v1/channels', { name: 'x', kind: 'video' }, token)).status).toBe(400);
    expect((await call('POST', '/api/v1/channels', { name: 'a/b', kind: 'voice' }, token)).json.error.code).toBe('invalid_request');

    const voice = await call('GET', '/api/v1/voice', undefined, token);
    expect(voice.status).toBe(503);
    expect(voice.json.error.code).toBe('voice_unavailable');

    const cert = await call('POST', '/api/v1/me/voice-certificates', { hash: 'c'.repeat(40) }, token);
    expect(cert.status).toBe(201);
    expect((await call('GET', '/api/v1/me/voice-certificates', undefined, token)).json).toEqual({
      certificates: [{ hash: 'c'.repeat(40), created_at: expect.any(String), active: true }],
    });

    expect((await call('GET', '/healthz')).json.components.murmur).toBeUndefined();
    const doc = (await call('GET', '/api/v1/openapi.json')).json;
    expect(doc.paths['/api/v1/voice'].get.responses['503']).toBeDefined();
    expect(doc.paths['/api/v1/me/voice-certificates/{hash}'].delete.parameters[0]).toMatchObject({ name: 'hash', in: 'path' });
  });
});
