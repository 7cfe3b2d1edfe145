import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';

/**
 * A small HTTP client for uploads (multipart and tus) with streamed bodies, shared by the upload
 * benchmark and the integration tests: node:http, no buffering of the file.
 */
export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON (undefined when empty). */
  json: any;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | AsyncIterable<Uint8Array>;
  /** Called as body bytes are handed to the socket (upload progress). */
  onProgress?: (bytesWritten: number) => void;
  /** Destroy the connection once this many body bytes were written (a dropped connection). */
  cutAfterBytes?: number;
}

/**
 * One HTTP request over node:http, the body written chunk by chunk with backpressure (a
 * generator body is never held whole). Resolves with the response, even when the server
 * answered early and closed while the body was still being sent; rejects when there is none.
 */
export function request(url: string, options: RequestOptions = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} });
    let responded = false;
    req.on('response', (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const type = String(res.headers['content-type'] ?? '');
        let json: unknown;
        if (body.length > 0 && type.includes('json')) json = JSON.parse(body.toString('utf8'));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (!responded) reject(err);
    });
    const body = options.body;
    if (body === undefined) {
      req.end();
      return;
    }
    if (body instanceof Uint8Array) {
      req.end(body, () => options.onProgress?.(body.length));
      return;
    }
    void (async () => {
      let written = 0;
      for await (const chunk of body) {
        if (req.destroyed || responded) return;
        if (options.cutAfterBytes !== undefined && written + chunk.length > options.cutAfterBytes) {
          const head = chunk.subarray(0, options.cutAfterBytes - written);
          if (head.length > 0) await new Promise<void>((done) => req.write(head, () => done()));
          // Give the bytes a moment on the wire, then drop the connection like a lost network.
          await new Promise((r) => setTimeout(r, 50));
          req.destroy(new Error('connection cut (simulated network loss)'));
          return;
        }
        written += chunk.length;
        const more = req.write(chunk);
        options.onProgress?.(written);
        if (!more) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch((err: unknown) => req.destroy(err as Error));
  });
}

export type FormPart = { name: string; value: string } | { name: string; filename: string; contentType?: string; data: Uint8Array | AsyncIterable<Uint8Array> };

/** A multipart/form-data body as a stream of chunks (file parts are streamed, never joined). */
export async function* multipartBody(boundary: string, parts: readonly FormPart[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    if ('value' in part) {
      yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`);
      continue;
    }
    yield Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\n` +
        `Content-Type: ${part.contentType ?? 'application/octet-stream'}\r\n\r\n`,
    );
    if (part.data instanceof Uint8Array) yield part.data;
    else yield* part.data;
    yield Buffer.from('\r\n');
  }
  yield Buffer.from(`--${boundary}--\r\n`);
}

export interface UploadOptions {
  token?: string;
  parts: readonly FormPart[];
  query?: string;
  onProgress?: (bytesWritten: number) => void;
}

/** POST /api/v1/attachments with a streamed multipart body. */
export function uploadMultipart(baseUrl: string, options: UploadOptions): Promise<HttpResult> {
  const boundary = `----alloquy-test-${randomBytes(8).toString('hex')}`;
  return request(`${baseUrl}/api/v1/attachments${options.query ?? ''}`, {
    method: 'POST',
    headers: {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: multipartBody(boundary, options.parts),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}

/** Uploads a small buffer as `file` with `channel` first. */
export function uploadFile(
  baseUrl: string,
  token: string | undefined,
  channel: string,
  filename: string,
  data: Uint8Array,
  contentType?: string,
): Promise<HttpResult> {
  return uploadMultipart(baseUrl, {
    ...(token ? { token } : {}),
    parts: [
      { name: 'channel', value: channel },
      { name: 'file', filename, data, ...(contentType ? { contentType } : {}) },
    ],
  });
}

/**
 * Deterministic bytes by position: any range can be produced again (to resume an upload from
 * an offset) without keeping the file anywhere.
 */
export class PatternFile {
  private static readonly BLOCK = 1 << 20;
  private readonly block = randomBytes(PatternFile.BLOCK);

  constructor(readonly size: number) {}

  /** The bytes from `start` to `end` (exclusive; default the end of the file), in chunks of at most `chunkSize`. */
  async *chunks(start = 0, chunkSize = 256 * 1024, end = this.size): AsyncGenerator<Buffer> {
    for (let offset = start; offset < end;) {
      const length = Math.min(chunkSize, end - offset);
      yield this.slice(offset, length);
      offset += length;
    }
  }

  slice(offset: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length;) {
      const at = offset + i;
      const inBlock = at % PatternFile.BLOCK;
      const n = Math.min(length - i, PatternFile.BLOCK - inBlock);
      this.block.copy(out, i, inBlock, inBlock + n);
      // Each megabyte starts differently, so a misplaced block changes the hash.
      if (inBlock === 0) out[i] = (out[i]! ^ (Math.floor(at / PatternFile.BLOCK) + 1)) & 0xff;
      i += n;
    }
    return out;
  }

  async sha256(): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of this.chunks()) hash.update(chunk);
    return hash.digest('hex');
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---- tus 1.0 -----------------------------------------------------------------------------------

const TUS = { 'tus-resumable': '1.0.0' };

function tusMetadata(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([k, v]) => `${k} ${Buffer.from(v, 'utf8').toString('base64')}`)
    .join(',');
}

/** POST /api/v1/uploads: creates a resumable upload; the answer's `location` header names it. */
export function tusCreate(baseUrl: string, token: string | undefined, length: number, metadata: Record<string, string>): Promise<HttpResult> {
  return request(`${baseUrl}/api/v1/uploads`, {
    method: 'POST',
    headers: {
      ...TUS,
      'upload-length': String(length),
      'upload-metadata': tusMetadata(metadata),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
  });
}

/** HEAD: how many bytes the server has. */
export async function tusOffset(uploadUrl: string, token: string): Promise<number> {
  const res = await request(uploadUrl, { method: 'HEAD', headers: { ...TUS, authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`HEAD ${uploadUrl}: ${res.status}`);
  return Number(res.headers['upload-offset']);
}

/** PATCH from `offset` with `body`; 204 while incomplete, 200 with the attachment JSON at the end. */
export function tusPatch(
  uploadUrl: string,
  token: string,
  offset: number,
  body: Uint8Array | AsyncIterable<Uint8Array>,
  options: Pick<RequestOptions, 'cutAfterBytes' | 'onProgress'> & { contentLength?: number } = {},
): Promise<HttpResult> {
  return request(uploadUrl, {
    method: 'PATCH',
    headers: {
      ...TUS,
      authorization: `Bearer ${token}`,
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
      ...(options.contentLength !== undefined ? { 'content-length': String(options.contentLength) } : {}),
    },
    body,
    ...(options.cutAfterBytes !== undefined ? { cutAfterBytes: options.cutAfterBytes } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}
