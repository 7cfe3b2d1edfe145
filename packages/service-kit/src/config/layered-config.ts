import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';

/** A setting that cannot be used: the message names the setting and the problem. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Env = Record<string, string | undefined>;
export type PlainObject = Record<string, unknown>;

/** A TCP port; 0 asks the system for a free one (tests). */
export const portSchema = z.coerce.number().int().min(0).max(65535);

/** pino's levels, as `ALLOQUY_LOG_LEVEL` takes them. */
export const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** 127.0.0.0/8, ::1 (also as an IPv4-mapped address) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return h === 'localhost' || h === '::1' || /^(?:::ffff:)?127(?:\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})){3}$/.test(h);
}

function isPlainObject(v: unknown): v is PlainObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(base: PlainObject, over: PlainObject): PlainObject {
  const out: PlainObject = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function setPath(obj: PlainObject, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const key of keys.slice(0, -1)) {
    const next = cur[key];
    if (!isPlainObject(next)) cur[key] = {};
    cur = cur[key] as PlainObject;
  }
  cur[keys[keys.length - 1]!] = value;
}

export interface LayeredConfigSource<T> {
  schema: z.ZodType<T>;
  defaults: PlainObject;
  /** The JSON file; `fileVariable` names the env variable that may move it (then it must exist). */
  file: string;
  fileVariable: string;
  envMap: Record<string, string>;
  /** Config path → its env variable, for settings that are booleans. */
  booleans?: Record<string, string>;
  env: Env;
}

/**
 * Every service's one way to configure itself: defaults, deep-merged with an optional JSON file,
 * then environment variables (env wins: that is how the supervisor and tests pin ports), checked
 * by a zod schema into a ConfigError that names each bad setting.
 */
export function loadLayeredConfig<T>(source: LayeredConfigSource<T>): T {
  const { env, file } = source;
  let merged = source.defaults;
  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (!isPlainObject(parsed)) throw new ConfigError(`${file} must hold a JSON object`);
    merged = deepMerge(merged, parsed);
  } else if (env[source.fileVariable]) {
    throw new ConfigError(`${source.fileVariable} names ${file}, which does not exist`);
  }

  for (const [name, path] of Object.entries(source.envMap)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const variable = source.booleans?.[path];
    if (variable && !/^(true|false|1|0|yes|no)$/i.test(raw)) throw new ConfigError(`${variable} must be true or false, got "${raw}"`);
    setPath(merged, path, variable ? /^(true|1|yes)$/i.test(raw) : raw);
  }

  const result = source.schema.safeParse(merged);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${issues}`);
  }
  return result.data;
}
