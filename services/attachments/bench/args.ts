/** The command line of a benchmark: integer options `--name N`, `--keep`, `--help`. */
export interface BenchArgs<K extends string> {
  /** The benchmark's name in messages, e.g. `uploads`. */
  bench: string;
  usage: string;
  /** Each option's flag → its key in the defaults. */
  flags: Readonly<Record<string, K>>;
  /** Keys that may be 0; the rest must be at least 1. */
  zeroAllowed?: readonly K[];
}

/** Parses argv over the defaults; `--help` prints the usage and exits 0, a bad option exits 2. */
export function parseBenchArgs<K extends string, O extends Record<K, number> & { keep: boolean }>(argv: readonly string[], defaults: O, spec: BenchArgs<K>): O {
  const opts = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      process.stderr.write(`usage: ${spec.usage}\n`);
      process.exit(0);
    }
    if (a === '--keep') {
      opts.keep = true;
      continue;
    }
    const key = Object.hasOwn(spec.flags, a) ? spec.flags[a] : undefined;
    const value = Number(argv[++i]);
    if (!key || !Number.isInteger(value) || value < (spec.zeroAllowed?.includes(key) ? 0 : 1)) {
      process.stderr.write(`${spec.bench} bench: bad option ${a}\n`);
      process.exit(2);
    }
    (opts as Record<K, number>)[key] = value;
  }
  return opts;
}
