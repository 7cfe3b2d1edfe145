/**
 * The attachments service as `scripts/up` runs it: supervised beside InspIRCd, Murmur and the
 * control server, asking the control server over gRPC on the stack's own ports.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type RunningStack } from '@alloquy/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePng } from '../support/files.js';

let stack: RunningStack;
let token: string;
const files = () => `http://127.0.0.1:${stack.ports.attachments}`;

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  stack = await startStack({ home: mkdtempSync(join(tmpdir(), 'alloquy-attachments-e2e-')) });
  const headers = { 'content-type': 'application/json' };
  const body = JSON.stringify({ username: 'alice', password: 'alice-password' });
  expect((await fetch(`${stack.httpUrl}/api/v1/accounts`, { method: 'POST', headers, body })).status).toBe(201);
  token = (await json(`${stack.httpUrl}/api/v1/sessions`, { method: 'POST', headers, body })).body.access_token;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

describe('attachments in the stack', () => {
  it('is healthy and reaches the control server', async () => {
    const health = await json(`${files()}/healthz`);
    expect(health.status).toBe(200);
  });

  it('takes an image into #general with thumbnails, and serves it back byte for byte', async () => {
    const png = await makePng(1600, 900);
    const form = new FormData();
    form.set('channel', 'general');
    form.set('file', new Blob([png]), 'picture.png');
    const upload = await json(`${files()}/api/v1/attachments`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    expect(upload.status).toBe(201);
    expect(upload.body).toMatchObject({ content_type: 'image/png', size: png.length, width: 1600, height: 900, channel: 'general', kind: 'image' });
    expect(upload.body.thumbnails.map((t: { width: number }) => t.width)).toEqual([160, 480, 1280]);
    expect(upload.body.irc_text).toContain(upload.body.url.split('?')[0]);

    const download = await fetch(upload.body.url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await download.arrayBuffer()).equals(png)).toBe(true);
  });

  it('refuses an upload with a forged token', async () => {
    const form = new FormData();
    form.set('channel', 'general');
    form.set('file', new Blob([Buffer.from('hello')]), 'hello.txt');
    const refused = await json(`${files()}/api/v1/attachments`, { method: 'POST', body: form, headers: { authorization: 'Bearer not.a.token' } });
    expect(refused.status).toBe(401);
  });
});
