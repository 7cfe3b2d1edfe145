import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, uploadFile } from '../../bench/client.js';
import { makeJpeg } from '../support/files.js';
import { startTestStack, type TestStack } from '../support/stack.js';
import { forgedTokens } from '@alloquy/stack';

describe('downloads', () => {
  let stack: TestStack;
  const data = randomBytes(100_000);
  let publicFile: { id: string; url: string };

  beforeAll(async () => {
    stack = await startTestStack({ media: true });
    const res = await uploadFile(stack.baseUrl, stack.tokens.bob, 'general', 'data.bin', data);
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    publicFile = res.json;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const range = (url: string, header: string) => request(url, { headers: { range: header } });

  describe('byte ranges', () => {
    it('advertises ranges and sends the whole file without one', async () => {
      const res = await request(publicFile.url);
      expect(res.status).toBe(200);
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(res.headers['content-length']).toBe(String(data.length));
      expect(res.body).toEqual(data);
    });

    it('answers the first bytes', async () => {
      const res = await range(publicFile.url, 'bytes=0-99');
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes 0-99/${data.length}`);
      expect(res.headers['content-length']).toBe('100');
      expect(res.body).toEqual(data.subarray(0, 100));
    });

    it('answers a range in the middle', async () => {
      const res = await range(publicFile.url, 'bytes=40000-59999');
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes 40000-59999/${data.length}`);
      expect(res.body).toEqual(data.subarray(40_000, 60_000));
    });

    it('answers a suffix and an open-ended range', async () => {
      const suffix = await range(publicFile.url, 'bytes=-500');
      expect(suffix.status).toBe(206);
      expect(suffix.headers['content-range']).toBe(`bytes ${data.length - 500}-${data.length - 1}/${data.length}`);
      expect(suffix.body).toEqual(data.subarray(data.length - 500));
      const open = await range(publicFile.url, 'bytes=99990-');
      expect(open.status).toBe(206);
      expect(open.body).toEqual(data.subarray(99_990));
    });

    it('answers 416 for a range past the end', async () => {
      const res = await range(publicFile.url, `bytes=${data.length}-`);
      expect(res.status).toBe(416);
      expect(res.headers['content-range']).toBe(`bytes */${data.length}`);
      expect(res.json.error.code).toBe('range_not_satisfiable');
    });

    it('sends the whole file for several ranges and for an If-Range that no longer matches', async () => {
      const multi = await range(publicFile.url, 'bytes=0-1,5-6');
      expect(multi.status).toBe(200);
      expect(multi.body).toEqual(data);
      const stale = await request(publicFile.url, { headers: { range: 'bytes=0-9', 'if-range': '"some-other-version"' } });
      expect(stale.status).toBe(200);
      expect(stale.body.length).toBe(data.length);
    });

    it('answers HEAD without a body and 304 for a matching ETag', async () => {
      const head = await request(publicFile.url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe(String(data.length));
      expect(head.body.length).toBe(0);
      const etag = String(head.headers.etag);
      const again = await request(publicFile.url, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
    });
  });

  it('serves public files to anyone with the URL, cacheable for a long time', async () => {
    const res = await request(publicFile.url);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="data.bin"/);
  });

  it('answers 404 for an unknown file or thumbnail', async () => {
    expect((await request(`${stack.baseUrl}/files/nope/x.bin`)).status).toBe(404);
    expect((await request(`${stack.baseUrl}/files/${publicFile.id}/thumbnails/160x120.webp`)).status).toBe(404);
  });

  describe('a file posted in a private channel', () => {
    let secret: { id: string; url: string; url_expires_at: string; irc_text: string; thumbnails: { url: string }[] };
    const unsigned = () => `${stack.baseUrl}/files/${secret.id}/plans.jpg`;

    beforeAll(async () => {
      const res = await uploadFile(stack.baseUrl, stack.tokens.alice, 'secret', 'plans.jpg', await makeJpeg(800, 600));
      expect(res.status, JSON.stringify(res.json)).toBe(201);
      secret = res.json;
    });

    it('is handed out with signed, expiring URLs', () => {
      expect(secret.url).toMatch(/\?expires=\d+&sig=[\w-]+$/);
      expect(Date.parse(secret.url_expires_at)).toBeGreaterThan(Date.now());
      // The message URL is signed too, and lives longer (stock clients cannot ask for a fresh one).
      expect(secret.irc_text).toMatch(/\?expires=\d+&sig=/);
      expect(Number(new URL(secret.irc_text).searchParams.get('expires'))).toBeGreaterThan(Number(new URL(secret.url).searchParams.get('expires')));
    });

    it('is not readable by a non-member without a valid signature', async () => {
      const plain = await request(unsigned());
      expect(plain.status).toBe(403);
      const forged = await request(`${unsigned()}?expires=${Math.floor(Date.now() / 1000) + 3600}&sig=${'A'.repeat(43)}`);
      expect(forged.status).toBe(403);
      // A genuine signature for another file does not open this one.
      const borrowed = new URL(publicFile.url);
      const other = await uploadFile(stack.baseUrl, stack.tokens.alice, 'secret', 'other.bin', randomBytes(10));
      const otherSig = new URL(other.json.url).search;
      expect((await request(`${unsigned()}${otherSig}`)).status).toBe(403);
      expect(borrowed.search).toBe('');
      // An expired (but genuine) signature.
      const past = Math.floor(Date.now() / 1000) - 60;
      const stale = await request(`${unsigned()}?expires=${past}&sig=${stack.attachments.signer.sign(secret.id, past)}`);
      expect(stale.status).toBe(403);
      expect(stale.json.error.message).toMatch(/expired/);
      // Bob's token does not help him: he cannot read #secret.
      const bob = await request(unsigned(), { headers: { authorization: `Bearer ${stack.tokens.bob}` } });
      expect(bob.status).toBe(403);
      // Nor do thumbnails leak.
      const thumb = new URL(secret.thumbnails[0]!.url);
      expect((await request(`${thumb.origin}${thumb.pathname}`)).status).toBe(403);
    });

    it('is not opened by a tampered signed URL: a later expiry, the parameters doubled, a forged bearer token', async () => {
      const signed = new URL(secret.url);
      const expires = signed.searchParams.get('expires')!;
      const sig = signed.searchParams.get('sig')!;
      const extended = await request(`${unsigned()}?expires=${Number(expires) + 365 * 86_400}&sig=${sig}`);
      expect([extended.status, extended.json.error.message]).toEqual([403, 'this link is not valid']);
      const doubled = await request(`${unsigned()}?expires=${expires}&expires=${expires}&sig=${sig}&sig=${sig}`);
      expect(doubled.status).toBe(403);
      for (const token of forgedTokens(stack.tokens.alice)) {
        const forgedToken = await request(unsigned(), { headers: { authorization: `Bearer ${token}` } });
        expect(forgedToken.status).toBe(401);
      }
    });

    it('is readable through the signed URL, thumbnails included, privately cacheable', async () => {
      const res = await request(secret.url);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('image/jpeg');
      expect(res.headers['cache-control']).toMatch(/^private, max-age=\d+$/);
      expect((await request(secret.thumbnails[0]!.url)).status).toBe(200);
    });

    it('is readable by a member with a bearer token', async () => {
      const res = await request(unsigned(), { headers: { authorization: `Bearer ${stack.tokens.alice}` } });
      expect(res.status).toBe(200);
    });

    it('gets fresh signed URLs from GET /api/v1/attachments/{id}, for members only', async () => {
      const fresh = await request(`${stack.baseUrl}/api/v1/attachments/${secret.id}`, { headers: { authorization: `Bearer ${stack.tokens.alice}` } });
      expect(fresh.status).toBe(200);
      expect(fresh.json).toMatchObject({ id: secret.id, channel: 'secret', content_type: 'image/jpeg', width: 800, height: 600 });
      expect(fresh.json.url).toMatch(/\?expires=\d+&sig=/);
      expect((await request(fresh.json.url)).status).toBe(200);

      const bob = await request(`${stack.baseUrl}/api/v1/attachments/${secret.id}`, { headers: { authorization: `Bearer ${stack.tokens.bob}` } });
      expect(bob.status).toBe(404);
      const nobody = await request(`${stack.baseUrl}/api/v1/attachments/${secret.id}`);
      expect(nobody.status).toBe(401);
    });

    it('stops being readable by a member removed from the channel, except through a link handed out before', async () => {
      const { OPERATOR } = await import('@alloquy/control/testing');
      const { Permission } = await import('@alloquy/protocol/permissions');
      const carol = stack.control.accounts.get('carol');
      stack.control.guild.setOverwrite(OPERATOR, 'secret', { type: 'member', target: String(carol.id), allow: Permission.VIEW_CHANNEL, deny: 0n });
      const asCarol = { headers: { authorization: `Bearer ${stack.tokens.carol}` } };
      const granted = await request(`${stack.baseUrl}/api/v1/attachments/${secret.id}`, asCarol);
      expect(granted.status).toBe(200);
      stack.control.guild.deleteOverwrite(OPERATOR, 'secret', 'member', String(carol.id));
      expect((await request(`${stack.baseUrl}/api/v1/attachments/${secret.id}`, asCarol)).status).toBe(404);
      expect((await request(unsigned(), asCarol)).status).toBe(403);
      // A signed link is a capability until it expires.
      expect((await request(granted.json.url)).status).toBe(200);
    });
  });

  it('answers CORS preflights for the web client', async () => {
    const res = await request(`${stack.baseUrl}/api/v1/uploads`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://127.0.0.1:8080',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'authorization, upload-offset, tus-resumable',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(String(res.headers['access-control-allow-methods'])).toContain('PATCH');
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('upload-offset');
  });
});
