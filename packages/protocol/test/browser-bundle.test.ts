/**
 * @alloquy/protocol is browser-safe: each subpath export bundles for the browser (esbuild, platform
 * 'browser') from its own files and zod alone, so with no Node built-in (`node:x` or bare, polyfilled
 * or not) and no other package.
 *
 * The check is written out here rather than taken from @alloquy/stack's findBrowserImportViolations
 * (which the client library uses): this is the bottom layer, tested with its own devDependencies
 * only; @alloquy/stack depends on service-kit, which depends on this package. Its rule is also
 * stricter and so simpler: nothing but zod, hence no polyfill to weigh. Both print chains with
 * this package's importChain.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { importChain } from '../src/testing/import-chain.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const ALLOWED_PACKAGES = ['zod'];

/** Every subpath export of package.json and its source (dist/x.js is built from src/x.ts). */
function exportedSources(): [subpath: string, source: string][] {
  const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };
  return Object.entries(manifest.exports).map(([subpath, { default: target }]) => [
    subpath,
    join(packageRoot, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')),
  ]);
}

/** Every import the browser bundle of `entry` makes beyond the package's files and zod, as its import chain. */
async function foreignImports(entry: string): Promise<string[]> {
  // Bare and node: specifiers only (relative ones are the package's own files); a refused one stays
  // external, so one build reports them all instead of stopping at the first unresolvable built-in.
  const onlyZod: Plugin = {
    name: 'only-zod',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^[^./]/ }, ({ path }) =>
        ALLOWED_PACKAGES.some((name) => path === name || path.startsWith(`${name}/`)) ? undefined : { path, external: true },
      );
    },
  };
  const { metafile } = await build({
    entryPoints: [entry],
    absWorkingDir: packageRoot,
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
    plugins: [onlyZod],
  });
  return Object.entries(metafile.inputs).flatMap(([importer, { imports }]) =>
    imports.filter((edge) => edge.external === true).map((edge) => [...importChain(metafile.inputs, importer), edge.path].join(' → ')),
  );
}

describe('the browser bundle of @alloquy/protocol', () => {
  for (const [subpath, source] of exportedSources()) {
    it(`${subpath} needs nothing but its own files and zod`, async () => {
      expect(await foreignImports(source)).toEqual([]);
    });
  }

  it('names the import chain of a planted node:fs import, a bare built-in and another package', async () => {
    const fixture = 'test/fixtures/planted-node-import';
    expect((await foreignImports(join(packageRoot, fixture, 'entry.ts'))).sort()).toEqual([
      `${fixture}/entry.ts → os`,
      `${fixture}/entry.ts → ${fixture}/middle.ts → esbuild`,
      `${fixture}/entry.ts → ${fixture}/middle.ts → node:fs`,
    ]);
  });
});
