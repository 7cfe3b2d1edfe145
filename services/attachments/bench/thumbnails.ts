/**
 * Thumbnail benchmark: our image path against ImageMagick `convert` on the same 12-megapixel
 * JPEG, in the same run, at the same concurrency, producing the same three WebP sizes.
 *
 * Input: a 4000×3000 JPEG (quality 90) made once per run from gradients, soft shapes and noise,
 * generated in a child process so its 36 MB raster does not count in this process's peak RSS.
 *
 * Ours: LocalMediaProcessor.process() exactly as an upload runs it: header read and pixel-limit
 * check, one decode with JPEG shrink-on-load (libjpeg DCT scaling to 2000×1500, the smallest
 * scale ≥ 1280), EXIF orientation, resize to 1280, then 480 and 160 from that raster, WebP
 * (THUMBNAIL_WEBP: quality 80, effort 2), a ThumbHash placeholder (extra work convert does not
 * do), each thumbnail written to disk. libvips uses one thread per image; `--concurrency` images
 * at once through the processor's queue.
 *
 * ImageMagick (/usr/bin/convert, spawned per image, `--concurrency` processes at once,
 * MAGICK_THREAD_LIMIT = `--magick-threads`, default 1 like sharp's threads per image), three ways:
 * - `same-work`: what ours does. `-define jpeg:size=1280x1280` (libjpeg DCT scaling to ≥ 1280,
 *   the counterpart of shrink-on-load), -auto-orient -strip, -resize 1280x1280> written, then
 *   480 and 160 resized from it, all in one process; WebP `-quality 80 -define webp:method=2`.
 * - `full-decode`: the same command without the jpeg:size hint (how convert is usually called).
 * - `per-size`: one convert per thumbnail size, each decoding the full image (the naive way).
 *
 * The contenders take turns in rounds (`--rounds`), so a change in the machine's load during the
 * run hits them alike; images/s is images over the summed wall-clock time of each one's turns.
 *
 * Peak RSS: ours is this Node process's peak (`maxRSS`, V8 and everything included); convert's
 * is each process's peak from `/usr/bin/time` and the sum over the processes alive at once,
 * sampled from /proc every 10 ms.
 *
 * Prints one JSON object on stdout; progress and a summary on stderr.
 * Options: --runs N (24 images per contender), --concurrency N (CPUs), --warmup N (2),
 *          --rounds N (3: contenders take turns), --magick-threads N (1), --keep.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { THUMBNAIL_WEBP } from '../dist/images/image-processor.js';
import { DEFAULT_THUMBNAIL_EDGES } from '../dist/images/thumbnail-plan.js';
import { LocalMediaProcessor } from '../dist/media/media-processor.js';
import { parseBenchArgs } from './args.js';

const CONVERT = '/usr/bin/convert';
const TIME = '/usr/bin/time';
const TARGET_RATIO = 4;
const INPUT = { width: 4000, height: 3000, quality: 90 };

interface Options {
  runs: number;
  concurrency: number;
  warmup: number;
  rounds: number;
  magickThreads: number;
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  return parseBenchArgs(
    argv,
    { runs: 24, concurrency: availableParallelism(), warmup: 2, rounds: 3, magickThreads: 1, keep: false },
    {
      bench: 'thumbnails',
      usage: 'scripts/bench/thumbnails [--runs N] [--concurrency N] [--warmup N] [--rounds N] [--magick-threads N] [--keep]',
      flags: { '--runs': 'runs', '--concurrency': 'concurrency', '--warmup': 'warmup', '--rounds': 'rounds', '--magick-threads': 'magickThreads' },
      zeroAllowed: ['warmup'],
    },
  );
}

const log = (line: string) => process.stderr.write(`thumbnails bench: ${line}\n`);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const mib = (bytes: number) => round(bytes / 1024 / 1024, 1);

function subdir(parent: string, name: string): string {
  const path = join(parent, name);
  mkdirSync(path);
  return path;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A photo-like 12 MP JPEG: smooth gradients and shapes with sensor-like noise (deterministic). */
async function generateInput(path: string): Promise<void> {
  const { width, height } = INPUT;
  const raw = Buffer.alloc(width * height * 3);
  let seed = 0x2545f491;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const noise = ((seed >>> 24) & 31) - 16;
      const u = x / width;
      const v = y / height;
      const shape = 60 * Math.sin(u * 9 + Math.cos(v * 7) * 2) * Math.cos(v * 11 - u * 3);
      const i = (y * width + x) * 3;
      raw[i] = Math.max(0, Math.min(255, 90 + 120 * u + shape + noise));
      raw[i + 1] = Math.max(0, Math.min(255, 60 + 140 * v - shape / 2 + noise));
      raw[i + 2] = Math.max(0, Math.min(255, 200 - 120 * u * v + shape / 3 + noise));
    }
  }
  await sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: INPUT.quality })
    .toFile(path);
}

/** Images and seconds accumulated over rounds, and each image's latency. */
class Tally {
  images = 0;
  seconds = 0;
  readonly latencies: number[] = [];

  /** `runs` jobs through `concurrency` workers, timed on the wall clock. */
  async phase(runs: number, concurrency: number, job: (i: number) => Promise<void>, firstIndex: number): Promise<void> {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: Math.min(concurrency, runs) }, async () => {
        for (let i = next++; i < runs; i = next++) {
          const t = performance.now();
          await job(firstIndex + i);
          this.latencies.push(performance.now() - t);
        }
      }),
    );
    this.seconds += (performance.now() - started) / 1000;
    this.images += runs;
  }

  result(): { imagesPerSecond: number; latencyMs: { p50: number; p95: number } } {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return { imagesPerSecond: round(this.images / this.seconds), latencyMs: { p50: round(percentile(sorted, 50), 1), p95: round(percentile(sorted, 95), 1) } };
  }
}

async function webpSizes(paths: string[]): Promise<Array<{ width: number; height: number; bytes: number }>> {
  const out = [];
  for (const path of paths) {
    const meta = await sharp(path).metadata();
    out.push({ width: meta.width, height: meta.height, bytes: statSync(path).size });
  }
  return out.sort((a, b) => a.width - b.width);
}

/**
 * One way of making the thumbnails: `job(i)` makes image i's three sizes (at most `concurrency`
 * at once); `result()` after the rounds.
 */
interface Contender {
  name: string;
  tally: Tally;
  job(i: number): Promise<void>;
  warmup(): Promise<void>;
  result(): Promise<Record<string, unknown>>;
}

// ---------------------------------------------------------------- sharp (our path)

function ours(input: string, outDir: string, opts: Options): Contender {
  const processor = new LocalMediaProcessor({ maxImagePixels: 100_000_000, concurrency: opts.concurrency, maxQueued: opts.concurrency });
  const size = statSync(input).size;
  const tally = new Tally();
  let baselineRss = 0;
  const once = async (tag: string) => {
    await processor.process({
      path: input,
      contentType: 'image/jpeg',
      size,
      write: async (t) => {
        const key = join(outDir, `ours-${tag}-${t.width}.webp`);
        await writeFile(key, t.data);
        return { key };
      },
    });
  };
  return {
    name: 'ours',
    tally,
    job: (i) => once(String(i)),
    warmup: async () => {
      for (let i = 0; i < opts.warmup; i++) await once(`warmup${i}`);
      baselineRss = process.memoryUsage().rss;
    },
    result: async () => ({
      tool: `sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips})`,
      threadsPerImage: sharp.concurrency(),
      ...tally.result(),
      // This process's peak: the convert runs are other processes and do not count here.
      peakRssMiB: mib(process.resourceUsage().maxRSS * 1024),
      rssBeforeFirstRoundMiB: mib(baselineRss),
      outputs: await webpSizes(
        readdirSync(outDir)
          .filter((f) => f.startsWith('ours-0-'))
          .map((f) => join(outDir, f)),
      ),
    }),
  };
}

/** Where the time goes in one image, stage by stage, one at a time (no concurrency). */
async function ourStages(input: string, repeats = 5) {
  const time = async (fn: () => Promise<unknown>) => {
    await fn();
    const t = performance.now();
    for (let i = 0; i < repeats; i++) await fn();
    return round((performance.now() - t) / repeats, 1);
  };
  const largest = DEFAULT_THUMBNAIL_EDGES[DEFAULT_THUMBNAIL_EDGES.length - 1]!;
  const decodeAndResize = () =>
    sharp(input).rotate().resize(largest, largest, { fit: 'inside' }).toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const { data, info } = await decodeAndResize();
  const base = () => sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  const stages: Record<string, number> = {
    header: await time(() => sharp(input, { limitInputPixels: false }).metadata()),
    decodeShrinkOnLoadResizeTo1280: await time(decodeAndResize),
  };
  for (const edge of [...DEFAULT_THUMBNAIL_EDGES].reverse()) {
    stages[`webp${edge}`] = await time(() => (edge === largest ? base() : base().resize(edge, edge, { fit: 'inside' })).webp(THUMBNAIL_WEBP).toBuffer());
  }
  stages.placeholder = await time(() => base().resize(100, 100, { fit: 'inside' }).ensureAlpha().raw().toBuffer());
  return stages;
}

// ---------------------------------------------------------------- ImageMagick

type Variant = 'same-work' | 'full-decode' | 'per-size';

function convertCommands(variant: Variant, input: string, out: (edge: number) => string, webp: string[]): string[][] {
  const edges = [...DEFAULT_THUMBNAIL_EDGES].sort((a, b) => b - a); // largest first: each resize starts from the previous
  const fit = (edge: number) => `${edge}x${edge}>`;
  if (variant === 'per-size') return edges.map((edge) => [input, '-auto-orient', '-strip', '-resize', fit(edge), ...webp, out(edge)]);
  const hint = variant === 'same-work' ? ['-define', `jpeg:size=${edges[0]}x${edges[0]}`] : [];
  const args = [...hint, input, '-auto-orient', '-strip', ...webp];
  edges.forEach((edge, i) => {
    args.push('-resize', fit(edge));
    if (i < edges.length - 1) args.push('-write', out(edge));
    else args.push(out(edge));
  });
  return [args];
}

/** The RSS (bytes) of every convert process under the `time` processes given, from /proc. */
function sampleRss(timePids: Set<number>): number {
  let total = 0;
  for (const pid of timePids) {
    let children: string[] = [];
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      continue; // already gone
    }
    for (const child of children) {
      try {
        const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child}/status`, 'utf8'));
        if (match) total += Number(match[1]) * 1024;
      } catch {
        // exited between the two reads
      }
    }
  }
  return total;
}

function imagemagick(variant: Variant, input: string, outDir: string, opts: Options): Contender {
  const webp = ['-quality', String(THUMBNAIL_WEBP.quality), '-define', `webp:method=${THUMBNAIL_WEBP.effort}`];
  const env = { ...process.env, MAGICK_THREAD_LIMIT: String(opts.magickThreads) };
  const tally = new Tally();
  const live = new Set<number>();
  let perProcessPeak = 0;
  let concurrentPeak = 0;
  let commands: string[][] = [];

  const runOne = (args: string[], rssFile: string) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(TIME, ['-f', '%M', '-o', rssFile, CONVERT, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      live.add(child.pid!);
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        live.delete(child.pid!);
        if (code !== 0) return reject(new Error(`convert exited ${code}: ${stderr.trim()}`));
        perProcessPeak = Math.max(perProcessPeak, Number(readFileSync(rssFile, 'utf8').trim()) * 1024);
        resolve();
      });
    });

  const once = async (tag: string) => {
    const cmds = convertCommands(variant, input, (edge) => join(outDir, `${tag}-${edge}.webp`), webp);
    if (tag === '0') commands = cmds;
    for (const [k, args] of cmds.entries()) await runOne(args, join(outDir, `${tag}-${k}.rss`));
  };

  return {
    name: variant,
    tally,
    job: async (i) => {
      const sampler = setInterval(() => {
        concurrentPeak = Math.max(concurrentPeak, sampleRss(live));
      }, 10);
      try {
        await once(String(i));
      } finally {
        clearInterval(sampler);
      }
    },
    warmup: async () => {
      for (let i = 0; i < opts.warmup; i++) await once(`warmup${i}`);
    },
    result: async () => ({
      ...tally.result(),
      peakRssPerProcessMiB: mib(perProcessPeak),
      peakRssAllProcessesSampledMiB: mib(concurrentPeak),
      processesPerImage: commands.length,
      command: commands.map((args) => [CONVERT, ...args.map((a) => a.replace(outDir, '$OUT').replace(input, '$IN'))].join(' ')),
      outputs: await webpSizes(DEFAULT_THUMBNAIL_EDGES.map((edge) => join(outDir, `0-${edge}.webp`))),
    }),
  };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (process.argv[2] === '--generate') {
    await generateInput(process.argv[3]!);
    return;
  }
  const opts = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'alloquy-thumbnails-bench-'));
  try {
    const input = join(dir, 'input-12mp.jpg');
    log(`generating a ${INPUT.width}×${INPUT.height} JPEG (quality ${INPUT.quality}) in a child process`);
    const gen = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--generate', input], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (gen.status !== 0) throw new Error('could not generate the input image');
    const inputBytes = statSync(input).size;

    const contenders: Contender[] = [ours(input, subdir(dir, 'ours'), opts)];
    for (const variant of ['same-work', 'full-decode', 'per-size'] as const) contenders.push(imagemagick(variant, input, subdir(dir, variant), opts));
    for (const c of contenders) await c.warmup();
    // Interleaved rounds, so a change in the machine's load during the run hits every contender alike.
    const perRound = Math.ceil(opts.runs / opts.rounds);
    for (let round = 0, done = 0; done < opts.runs; round++, done += perRound) {
      const runs = Math.min(perRound, opts.runs - done);
      for (const c of contenders) {
        await c.tally.phase(runs, opts.concurrency, (i) => c.job(i), done);
      }
      log(`round ${round + 1}: ${done + runs}/${opts.runs} images each`);
    }
    // Results first: ours reads this process's peak RSS, which the stage timing must not add to.
    const results = Object.fromEntries(await Promise.all(contenders.map(async (c) => [c.name, await c.result()] as const)));
    const stages = await ourStages(input);
    const oursResult = results.ours as { imagesPerSecond: number; peakRssMiB: number };
    type ConvertResult = { imagesPerSecond: number; peakRssPerProcessMiB: number; peakRssAllProcessesSampledMiB: number };
    const variants = Object.fromEntries(Object.entries(results).filter(([name]) => name !== 'ours')) as Record<string, ConvertResult>;
    const magickVersion = spawnSync(CONVERT, ['-version'], { encoding: 'utf8' })
      .stdout.split('\n', 1)[0]!
      .replace(/^Version: /, '');
    const ratio = Object.fromEntries(Object.entries(variants).map(([name, v]) => [name, round(oursResult.imagesPerSecond / v.imagesPerSecond)]));
    const result = {
      bench: 'thumbnails',
      input: { ...INPUT, megapixels: (INPUT.width * INPUT.height) / 1e6, bytes: inputBytes },
      runs: opts.runs,
      concurrency: opts.concurrency,
      cpus: availableParallelism(),
      thumbnails: { edges: DEFAULT_THUMBNAIL_EDGES, format: 'webp', ...THUMBNAIL_WEBP },
      rounds: Math.ceil(opts.runs / perRound),
      ours: { ...results.ours, stagesMsOneAtATime: stages },
      imagemagick: { tool: magickVersion, threadsPerImage: opts.magickThreads, variants },
      ratio,
      target: { ratio: TARGET_RATIO, comparedWith: 'same-work', met: (ratio['same-work'] ?? 0) >= TARGET_RATIO },
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    log(
      `ours ${oursResult.imagesPerSecond} images/s (peak RSS ${oursResult.peakRssMiB} MiB) vs convert ` +
        Object.entries(variants)
          .map(
            ([name, v]) =>
              `${name} ${v.imagesPerSecond} images/s (${ratio[name]}×, ${v.peakRssPerProcessMiB} MiB per process, ${v.peakRssAllProcessesSampledMiB} MiB all at once)`,
          )
          .join('; ') +
        `; target ${TARGET_RATIO}× over same-work ${result.target.met ? 'met' : 'NOT met'}`,
    );
    if (opts.keep) log(`kept ${dir}`);
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`thumbnails bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
