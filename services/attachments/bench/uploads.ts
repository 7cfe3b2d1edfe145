/**
 * Upload benchmark: throughput (MB/s, 10^6 bytes per second) of the attachments service on
 * loopback, for a plain multipart POST and for a tus upload (one PATCH, and in chunks), plus a
 * 1 GiB tus upload whose connection is cut part-way and resumed (HEAD → offset → PATCH), checked
 * byte for byte by SHA-256.
 *
 * Real parts: a control server (accounts, guild, gRPC Access service; IRC and Murmur off) and
 * the attachments service with the GrpcAuthorizer, in this process, in a temp home. The clock
 * runs from the first byte sent to the answer received: receiving, hashing, writing and
 * flushing to disk, the permission calls and the database row. The client generates the bytes
 * as it sends them (never a whole file in memory), in this same process, so the figures are a
 * floor for a server on its own.
 *
 * Prints one JSON object on stdout; progress and a summary on stderr.
 * Options: --size-mib N (256), --runs N (3), --chunk-mib N (tus chunk size, 32),
 *          --resume-mib N (1024; 0 skips the resume run), --keep (keep the temp directory).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@alloquy/service-kit/log';
import { loadConfig, startControlServer } from '@alloquy/control';
import { GrpcAuthorizer } from '../dist/authz/grpc-authorizer.js';
import { loadAttachmentsConfig } from '../dist/config/config.js';
import { startAttachmentsServer } from '../dist/server.js';
import { parseBenchArgs } from './args.js';
import { PatternFile, tusCreate, tusOffset, tusPatch, uploadMultipart, type HttpResult } from './client.js';

const MiB = 1024 * 1024;
const PASSWORD = 'benchmark password 1';

function parseArgs(argv: string[]) {
  return parseBenchArgs(
    argv,
    { sizeMib: 256, runs: 3, chunkMib: 32, resumeMib: 1024, keep: false },
    {
      bench: 'uploads',
      usage: 'scripts/bench/uploads [--size-mib N] [--runs N] [--chunk-mib N] [--resume-mib N] [--keep]',
      flags: { '--size-mib': 'sizeMib', '--runs': 'runs', '--chunk-mib': 'chunkMib', '--resume-mib': 'resumeMib' },
      zeroAllowed: ['resumeMib'],
    },
  );
}

const mbPerSecond = (bytes: number, ms: number) => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const log = (line: string) => process.stderr.write(`${line}\n`);

function expectStored(res: HttpResult, what: string, file: PatternFile, sha256: string): void {
  if (res.status !== 200 && res.status !== 201) throw new Error(`${what}: HTTP ${res.status} ${res.body.toString().slice(0, 300)}`);
  if (res.json?.size !== file.size || res.json?.sha256 !== sha256)
    throw new Error(`${what}: stored ${res.json?.size} bytes with sha256 ${res.json?.sha256}, sent ${file.size} / ${sha256}`);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const home = mkdtempSync(join(tmpdir(), 'alloquy-bench-uploads-'));
  const quiet = createLogger('silent', 'bench');
  const control = await startControlServer(
    loadConfig({
      ALLOQUY_HOME: home,
      ALLOQUY_HTTP_HOST: '127.0.0.1',
      ALLOQUY_HTTP_PORT: '0',
      ALLOQUY_IRC_LINK: 'false',
      ALLOQUY_MURMUR: 'false',
      ALLOQUY_MAX_UPLOAD_BYTES: String(8 * 1024 * MiB),
    }),
    quiet,
  );
  const config = loadAttachmentsConfig({
    ALLOQUY_HOME: home,
    ALLOQUY_ATTACHMENTS_HOST: '127.0.0.1',
    ALLOQUY_ATTACHMENTS_PORT: '0',
    ALLOQUY_CONTROL_GRPC_ADDRESS: control.grpc.address,
  });
  const authorizer = new GrpcAuthorizer({ address: config.control.grpcAddress });
  const service = await startAttachmentsServer(config, quiet, { authorizer });
  const baseUrl = `http://127.0.0.1:${service.httpPort}`;
  try {
    await control.accounts.register('bench', PASSWORD);
    const token = (await control.accounts.login('bench', PASSWORD, { via: 'cli' })).access_token;
    const renew = async () => (await control.accounts.login('bench', PASSWORD, { via: 'cli' })).access_token;

    const rssBeforeMib = Math.round(process.memoryUsage().rss / MiB);
    const size = opts.sizeMib * MiB;
    log(`uploads bench: ${opts.runs} × ${opts.sizeMib} MiB per method on loopback (${cpus().length} CPUs)`);
    const multipart: number[] = [];
    const tusSingle: number[] = [];
    const tusChunked: number[] = [];
    for (let run = 0; run < opts.runs; run++) {
      // Each run sends different bytes, so no upload is deduplicated against an earlier one.
      const file = new PatternFile(size);
      const sha256 = await file.sha256();

      let t0 = performance.now();
      const m = await uploadMultipart(baseUrl, {
        token,
        parts: [
          { name: 'channel', value: 'general' },
          { name: 'file', filename: 'bench.bin', data: file.chunks(0, 256 * 1024) },
        ],
      });
      multipart.push(mbPerSecond(size, performance.now() - t0));
      expectStored(m, 'multipart', file, sha256);
      await service.blobs.delete(sha256);

      t0 = performance.now();
      const created = await tusCreate(baseUrl, token, size, { channel: 'general', filename: 'bench.bin' });
      const single = await tusPatch(String(created.headers.location), token, 0, file.chunks(0, 256 * 1024), { contentLength: size });
      tusSingle.push(mbPerSecond(size, performance.now() - t0));
      expectStored(single, 'tus', file, sha256);
      await service.blobs.delete(sha256);

      t0 = performance.now();
      const chunkedUpload = await tusCreate(baseUrl, token, size, { channel: 'general', filename: 'bench.bin' });
      const url = String(chunkedUpload.headers.location);
      let last: HttpResult | undefined;
      for (let offset = 0; offset < size; offset += opts.chunkMib * MiB) {
        const length = Math.min(opts.chunkMib * MiB, size - offset);
        last = await tusPatch(url, token, offset, file.chunks(offset, 256 * 1024, offset + length), { contentLength: length });
        if (last.status !== 204 && last.status !== 200) throw new Error(`tus chunk at ${offset}: HTTP ${last.status}`);
      }
      tusChunked.push(mbPerSecond(size, performance.now() - t0));
      expectStored(last!, 'tus (chunked)', file, sha256);
      await service.blobs.delete(sha256);
      log(`  run ${run + 1}: multipart ${multipart.at(-1)} MB/s, tus ${tusSingle.at(-1)} MB/s, tus in ${opts.chunkMib} MiB chunks ${tusChunked.at(-1)} MB/s`);
    }

    let resume: Record<string, unknown> | undefined;
    if (opts.resumeMib > 0) {
      const file = new PatternFile(opts.resumeMib * MiB);
      const sha256 = await file.sha256();
      const cutAt = Math.floor(file.size * 0.4);
      log(`  resume: ${opts.resumeMib} MiB over tus, connection cut after ${Math.round(cutAt / MiB)} MiB`);
      const t0 = performance.now();
      const created = await tusCreate(baseUrl, token, file.size, { channel: 'general', filename: 'resume.bin' });
      const url = String(created.headers.location);
      const cut = await tusPatch(url, token, 0, file.chunks(0, 256 * 1024), { cutAfterBytes: cutAt }).then(
        () => 'not cut',
        (err: Error) => err.message,
      );
      // A client back on the network, with a fresh access token: HEAD, then PATCH from there.
      const fresh = await renew();
      let offset = 0;
      for (let tries = 0; tries < 200 && offset === 0; tries++) {
        offset = await tusOffset(url, fresh);
        if (offset === 0) await new Promise((r) => setTimeout(r, 50));
      }
      const done = await tusPatch(url, fresh, offset, file.chunks(offset, 256 * 1024), { contentLength: file.size - offset });
      const ms = performance.now() - t0;
      expectStored(done, 'tus (resumed)', file, sha256);
      resume = {
        size_bytes: file.size,
        cut_after_bytes: cutAt,
        cut_error: cut,
        resumed_from_offset: offset,
        sha256_matches: done.json.sha256 === sha256,
        total_seconds: Math.round(ms) / 1000,
        mb_per_s_including_reconnect: mbPerSecond(file.size, ms),
      };
      log(`  resume: server had ${offset} bytes, resumed, sha256 ${done.json.sha256 === sha256 ? 'matches' : 'DIFFERS'} (${Math.round(ms) / 1000} s)`);
      await service.blobs.delete(sha256);
    }

    const result = {
      benchmark: 'uploads',
      node: process.version,
      cpus: cpus().length,
      size_bytes: size,
      runs: opts.runs,
      multipart_mb_per_s: { runs: multipart, median: median(multipart) },
      tus_single_patch_mb_per_s: { runs: tusSingle, median: median(tusSingle) },
      tus_chunked_mb_per_s: { chunk_bytes: opts.chunkMib * MiB, runs: tusChunked, median: median(tusChunked) },
      ...(resume ? { tus_resume: resume } : {}),
      rss_mib_before_uploads: rssBeforeMib,
      peak_rss_mib_client_and_server: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    log(
      `summary: multipart ${result.multipart_mb_per_s.median} MB/s, tus ${result.tus_single_patch_mb_per_s.median} MB/s ` +
        `(${result.tus_chunked_mb_per_s.median} MB/s in ${opts.chunkMib} MiB chunks), median of ${opts.runs} × ${opts.sizeMib} MiB; ` +
        `peak RSS ${result.peak_rss_mib_client_and_server} MiB (client and server together; ${rssBeforeMib} MiB before the first upload)` +
        (resume ? `; ${opts.resumeMib} MiB resumed after a cut: sha256 ${resume.sha256_matches ? 'identical' : 'DIFFERENT'}` : ''),
    );
  } finally {
    await service.stop();
    authorizer.close();
    await control.stop();
    if (!opts.keep) rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`uploads bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
