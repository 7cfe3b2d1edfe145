/**
 * @alloquy/client's browser entry bundles for the browser without Node: no `node:` import and no
 * Node built-in, except `events`/`buffer`/`process` style names that resolve to an npm polyfill this
 * package declares (simple-peer needs `events` and `buffer`). The rule lives in @alloquy/stack's
 * findBrowserImportViolations; `./voice` opens TLS sockets and is Node-only by design.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { describeBrowserImportViolations, findBrowserImportViolations } from '@alloquy/stack';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const BROWSER_SUBPATHS = ['./video'];

/** `./video` -> src/video/index.ts, through package.json's exports (dist/x.js is built from src/x.ts). */
function sourceOfExport(subpath: string): string {
  const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };
  const target = manifest.exports[subpath]?.default;
  if (target === undefined) throw new Error(`package.json exports no ${subpath}`);
  return join(packageRoot, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
}

describe('the browser bundle of @alloquy/client', () => {
  for (const subpath of BROWSER_SUBPATHS) {
    it(`${subpath} needs nothing from Node`, async () => {
      const violations = await findBrowserImportViolations(build, { packageRoot, entry: sourceOfExport(subpath) });
      expect(describeBrowserImportViolations(violations)).toBe('');
    });
  }

  it('catches a planted node: import and an undeclared built-in, and lets a declared polyfill through', async () => {
    const violations = await findBrowserImportViolations(build, {
      packageRoot,
      entry: {
        name: 'planted.ts',
        resolveDir: packageRoot,
        contents: [
          "import { readFileSync } from 'node:fs';",
          "import { EventEmitter } from 'events';",
          "import { hostname } from 'os';",
          'export const planted = [readFileSync, EventEmitter, hostname];',
        ].join('\n'),
      },
    });
    expect(violations.map(({ specifier, chain }) => ({ specifier, chain }))).toEqual([
      { specifier: 'node:fs', chain: ['planted.ts', 'node:fs'] },
      { specifier: 'os', chain: ['planted.ts', 'os'] },
    ]);
    expect(describeBrowserImportViolations(violations)).toMatch(/^node:fs \(a node: import\): planted\.ts → node:fs$/m);
  });
});
