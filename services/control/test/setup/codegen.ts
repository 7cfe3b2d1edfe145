import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/** vitest global setup: the Murmur proxies are generated code; make sure they exist (a no-op when current). */
export default function setup(): void {
  execFileSync(process.execPath, [resolve(import.meta.dirname, '../../scripts/gen-murmur-slice.mjs')], { stdio: 'inherit' });
}
