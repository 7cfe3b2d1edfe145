import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ice as IceNamespace } from 'ice';
import type { Murmur as MurmurNamespace } from '../../generated/murmur/Murmur.cjs';

/**
 * The Ice runtime and Murmur's proxies. The proxies are compiled at build time from Debian's
 * /usr/share/slice/Murmur.ice by scripts/gen-murmur-slice.mjs into `generated/murmur/`
 * (CommonJS, as slice2js emits it, with its own .d.cts declarations). `src/murmur` and
 * `dist/murmur` both sit two levels below the package, so one relative path serves vitest
 * and the built server. Loaded on first use: a server with Murmur switched off never needs it.
 */
export type IceRuntime = typeof IceNamespace;
export type MurmurRuntime = typeof MurmurNamespace;
export type { MurmurNamespace, IceNamespace };

const GENERATED = '../../generated/murmur/Murmur.cjs';

let loaded: { Ice: IceRuntime; Murmur: MurmurRuntime } | undefined;

export function loadSlice(): { Ice: IceRuntime; Murmur: MurmurRuntime } {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const path = new URL(GENERATED, import.meta.url);
  if (!existsSync(path)) {
    throw new Error(
      `${path.pathname} is missing: the Murmur proxies are generated at build time; run \`pnpm build\` (it runs services/control/scripts/gen-murmur-slice.mjs)`,
    );
  }
  const ice = require('ice') as { Ice: IceRuntime };
  const generated = require(GENERATED) as { Murmur: MurmurRuntime };
  loaded = { Ice: ice.Ice, Murmur: generated.Murmur };
  return loaded;
}
