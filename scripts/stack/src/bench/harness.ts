/**
 * What every benchmark entry point (scripts/bench/*) shares. Their contract:
 * stdout is exactly one JSON object (the results, or an error with what was
 * known so far), progress goes to stderr; exit status 0 when the benchmark
 * ran, 1 on failure, 2 on bad arguments, 124 on the overall time limit.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A benchmark's options by name: strings, or flags (no multiple values, no short forms). */
export type BenchOptions = Record<string, { type: 'string' } | { type: 'boolean' }>;

export type BenchOptionValues<Options extends BenchOptions> = {
  [Name in keyof Options]?: Options[Name] extends { type: 'boolean' } ? boolean : string;
};

/**
 * A benchmark's command-line options (no positionals). -h/--help prints
 * `usage` to stderr and exits 0; an unknown option throws, like a bad value.
 */
export function parseBenchArgs<const Options extends BenchOptions>(argv: string[], options: Options, usage: string): BenchOptionValues<Options> {
  const withHelp: ParseArgsConfig['options'] = { ...options, help: { type: 'boolean', short: 'h' } };
  const { values } = parseArgs({ args: argv, options: withHelp, strict: true, allowPositionals: false });
  if (values.help === true) {
    process.stderr.write(`${usage}\n`);
    process.exit(0);
  }
  // parseArgs checked each value against `options`.
  return values as BenchOptionValues<Options>;
}

/** An integer option's value: `fallback` when it is not given; throws below `min`. */
export function integerOption(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  // Plain decimal digits only: Number() would take '' as 0, '0x10' as 16 and '1e3' as 1000.
  const parsed = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isInteger(parsed) || parsed < min) throw new Error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return parsed;
}

/** The benchmark's settings from `parse`; on a bad argument prints why and `usage`, and exits 2. */
export function configOrExit<Config>(usage: string, parse: () => Config): Config {
  try {
    return parse();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    process.exit(2);
  }
}

/** A progress logger for stderr, each line stamped with the seconds since this call. */
export function benchLogger(): (message: string) => void {
  const startedAt = performance.now();
  return (message) => {
    process.stderr.write(`[bench ${((performance.now() - startedAt) / 1000).toFixed(1).padStart(5)}s] ${message}\n`);
  };
}

export interface BenchRunOptions {
  log: (message: string) => void;
  /** Stops whatever the benchmark started. Run once, however the run ends. */
  cleanup: () => Promise<void>;
  /** How long a failed run waits for `cleanup` before exiting anyway (a daemon may not stop). */
  hardExitMs: number;
}

/** How one benchmark process ends: its results once `finish`ed, else an error report and a failure code. */
export class BenchRun {
  /** What is known so far; printed with the error if the run cannot finish. */
  readonly partial: Record<string, unknown> = {};
  private done = false;
  private cleaning: Promise<void> | undefined;

  constructor(private readonly options: BenchRunOptions) {}

  /** Runs `main`; exits 0 when it returns, 1 with the error when it throws. */
  run(main: () => Promise<void>): void {
    main().then(
      () => process.exit(0),
      (error: unknown) => this.fail(1, `benchmark failed: ${(error as Error)?.stack ?? String(error)}`),
    );
  }

  /** The measurement is over: a later failure (a late signal, a dropped client) no longer ends the run. */
  finish(): void {
    this.done = true;
  }

  /** The options' cleanup, started at most once. */
  cleanup(): Promise<void> {
    this.cleaning ??= this.options.cleanup();
    return this.cleaning;
  }

  /**
   * Ends the run unless it is finished: logs `reason`, cleans up, prints
   * `reason` and `partial` as the JSON output and exits with `code`.
   */
  fail(code: number, reason: string): void {
    if (this.done) return;
    this.done = true;
    this.options.log(reason);
    const hardExit = setTimeout(() => process.exit(code), this.options.hardExitMs);
    hardExit.unref();
    void this.cleanup().finally(() => {
      process.stdout.write(`${JSON.stringify({ error: reason, ...this.partial }, null, 2)}\n`);
      process.exit(code);
    });
  }
}
