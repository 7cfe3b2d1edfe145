/**
 * The browser-bundle check: bundles an entry point for the browser with esbuild and names every
 * import of Node itself that the bundle would need, with the chain of imports that leads there.
 *
 * The rule for Node built-ins:
 * - `node:x` is never allowed.
 * - A bare built-in name (`events`, `buffer`, `process`, `util`, ...) is allowed only when the
 *   bundle gets something other than Node for it: either a package's `browser` field disables it
 *   (readable-stream maps `util` to false), or it resolves to the npm package of that name (a
 *   polyfill) and the package under test declares that package in its package.json. Everything
 *   else (unresolvable, so left to Node, or found only by accident in someone else's dependencies)
 *   is a violation: a consumer's bundler would fail on it.
 *
 * The test kit does not depend on esbuild: the package that bundles passes its own `build`.
 */
import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, resolve } from 'node:path';
import { importChain } from '@alloquy/protocol/testing';

/** esbuild's ImportKind. */
export type BundleImportKind =
  'entry-point' | 'import-statement' | 'require-call' | 'dynamic-import' | 'require-resolve' | 'import-rule' | 'composes-from' | 'url-token';

/** The part of esbuild's plugin API the check uses (esbuild's own types satisfy it). */
export interface BundlePluginBuild {
  onResolve(
    options: { filter: RegExp },
    callback: (args: {
      path: string;
      importer: string;
      resolveDir: string;
      kind: BundleImportKind;
      pluginData: unknown;
    }) => Promise<{ path: string; external: boolean } | undefined>,
  ): void;
  resolve(
    path: string,
    options: { kind: BundleImportKind; importer: string; resolveDir: string; pluginData: unknown },
  ): Promise<{ errors: readonly unknown[] }>;
}

export interface BundlePlugin {
  name: string;
  setup(build: BundlePluginBuild): void;
}

/** The part of esbuild's metafile the check reads. */
export interface BundleMetafile {
  inputs: Record<string, { imports: readonly { path: string; kind: string; external?: boolean; original?: string }[] }>;
}

export interface BrowserBundleOptions {
  entryPoints?: string[];
  stdin?: { contents: string; resolveDir: string; sourcefile: string; loader: 'ts' };
  absWorkingDir: string;
  bundle: true;
  write: false;
  platform: 'browser';
  format: 'esm';
  metafile: true;
  logLevel: 'silent';
  plugins: BundlePlugin[];
}

/** esbuild's `build` (pass `esbuild.build`). */
export type BundleBuild = (options: BrowserBundleOptions) => Promise<{ metafile: BundleMetafile }>;

export interface BrowserBundleCheck {
  /** The package whose code is bundled: its package.json says which polyfills it declares. */
  packageRoot: string;
  /** A file to bundle, or source text (a fixture) resolved from `resolveDir`. */
  entry: string | { contents: string; resolveDir: string; name: string };
}

export interface BrowserImportViolation {
  /** The import as written, e.g. `node:fs` or `os`. */
  specifier: string;
  /** Why it is refused. */
  reason: string;
  /** Entry first, the importing file last, then the specifier; paths relative to the working directory. */
  chain: string[];
}

const SKIP = Symbol('browser-bundle-check');
const NODE_MODULES_PACKAGE = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/;

/** The npm package a resolved path belongs to, if any (the last node_modules segment wins). */
function packageOf(input: string): string | undefined {
  return NODE_MODULES_PACKAGE.exec(input)?.[1];
}

/** The package's name and every package its package.json declares, whatever the field. */
function readManifest(packageRoot: string): { name: string; declared: Set<string> } {
  const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { name?: string } & Record<
    string,
    Record<string, string> | undefined
  >;
  const fields = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];
  return { name: manifest.name ?? packageRoot, declared: new Set(fields.flatMap((field) => Object.keys(manifest[field] ?? {}))) };
}

/** pnpm's store paths (node_modules/.pnpm/x@1.2.3/node_modules/x/...) shortened to node_modules/x/... */
function readable(path: string): string {
  return path.replace(/(?:\.\.\/)*node_modules\/\.pnpm\/[^/]+\/node_modules\//g, 'node_modules/');
}

/**
 * Bundles `check.entry` for the browser and returns every Node import the bundle would need,
 * each with its import chain. An empty array means the entry is browser-safe.
 */
export async function findBrowserImportViolations(build: BundleBuild, check: BrowserBundleCheck): Promise<BrowserImportViolation[]> {
  const packageRoot = resolve(check.packageRoot);
  const { name, declared } = readManifest(packageRoot);
  // A built-in nothing resolves for the browser would stop esbuild; as an external it stays in the
  // metafile, so one build reports every violation with its chain.
  const plugin: BundlePlugin = {
    name: 'browser-bundle-check',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === SKIP || !isBuiltin(args.path)) return undefined;
        if (args.path.startsWith('node:')) return { path: args.path, external: true };
        const found = await pluginBuild.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: SKIP });
        return found.errors.length === 0 ? undefined : { path: args.path, external: true };
      });
    },
  };

  const entry = check.entry;
  const result = await build({
    ...(typeof entry === 'string'
      ? { entryPoints: [resolve(entry)] }
      : { stdin: { contents: entry.contents, resolveDir: entry.resolveDir, sourcefile: entry.name, loader: 'ts' } }),
    absWorkingDir: packageRoot,
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
    plugins: [plugin],
  });

  const { inputs } = result.metafile;
  const violations: BrowserImportViolation[] = [];
  for (const [importer, { imports }] of Object.entries(inputs)) {
    for (const edge of imports) {
      const specifier = edge.original ?? edge.path;
      let reason: string | undefined;
      if (edge.external === true && isBuiltin(edge.path)) {
        reason = edge.path.startsWith('node:') ? 'a node: import' : 'a Node built-in that no browser replacement resolves';
      } else if (isBuiltin(specifier) && !edge.path.startsWith('(disabled):')) {
        const polyfill = packageOf(edge.path);
        if (polyfill !== specifier || !declared.has(polyfill)) {
          reason = `resolves to ${readable(edge.path)}, not to a polyfill package that ${name} declares`;
        }
      }
      if (reason !== undefined) violations.push({ specifier, reason, chain: [...importChain(inputs, importer).map(readable), specifier] });
    }
  }
  return violations;
}

/** One line per violation, e.g. `node:fs (a node: import): src/index.ts → src/a.ts → node:fs`. */
export function describeBrowserImportViolations(violations: readonly BrowserImportViolation[]): string {
  return violations.map(({ specifier, reason, chain }) => `${specifier} (${reason}): ${chain.join(' → ')}`).join('\n');
}
