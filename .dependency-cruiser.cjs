// @ts-check
/**
 * Import boundaries of the workspace (issue 11). `pnpm run lint:deps` fails on any violation.
 *
 * Layers, bottom up (an arrow is "is imported by"; nothing points the other way):
 *   packages/protocol <- packages/service-kit <- services/* (each on its own), scripts/stack
 *   packages/access <- services/*
 *   packages/protocol <- clients/lib/src
 *   scripts/stack (supervisor, test kit, benches) <- tests and benches of services and clients
 * CONTRIBUTING.md draws the same picture.
 *
 * How modules resolve: sources are TypeScript with `.js` specifiers (dependency-cruiser retries
 * `x.js` as `x.ts`, the way tsc does), and workspace packages are imported by name
 * (`@alloquy/protocol/irc`), which node_modules links to the package's built dist/. The rules must
 * see the sources, so this file maps every entry of every workspace package's `exports` back to its
 * source (dist/x.js -> src/x.ts: every package compiles src to dist) as tsconfig `paths`, written to
 * node_modules/.cache/alloquy-depcruise/tsconfig.json on each run. An import the map does not
 * cover fails `not-to-unresolvable` instead of slipping past the rules.
 */
const { mkdirSync, readFileSync, readdirSync, existsSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = __dirname;

/** @returns {string[]} workspace package folders relative to the root, as pnpm-workspace.yaml lists them */
function workspacePackages() {
  const folders = [];
  for (const parent of ['packages', 'services', 'clients']) {
    for (const entry of readdirSync(join(root, parent), { withFileTypes: true })) {
      if (entry.isDirectory() && existsSync(join(root, parent, entry.name, 'package.json'))) {
        folders.push(`${parent}/${entry.name}`);
      }
    }
  }
  folders.push('scripts/stack');
  return folders;
}

/**
 * `./dist/a/b.js` -> `<folder>/src/a/b.ts`; `./dist/*` -> `<folder>/src/*`.
 * @param {string} folder
 * @param {string | Record<string, string>} target
 * @returns {string | undefined}
 */
function sourceOf(folder, target) {
  const path = typeof target === 'string' ? target : (target.types ?? target.default ?? target.import);
  if (typeof path !== 'string' || !path.startsWith('./dist/')) return undefined;
  return `${folder}/src/${path.slice('./dist/'.length).replace(/(\.d\.ts|\.js)$/, '.ts')}`;
}

function writeSourcePathsTsconfig() {
  /** @type {Record<string, string[]>} */
  const paths = {};
  for (const folder of workspacePackages()) {
    const manifest = JSON.parse(readFileSync(join(root, folder, 'package.json'), 'utf8'));
    const exports = manifest.exports ?? (manifest.main ? { '.': manifest.main } : {});
    for (const [subpath, target] of Object.entries(exports)) {
      const source = sourceOf(folder, target);
      if (source === undefined) continue;
      const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
      paths[specifier] = [source];
    }
  }
  const dir = join(root, 'node_modules', '.cache', 'alloquy-depcruise');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'tsconfig.json');
  const base = relative(dir, root);
  // Only `paths` matters here; one file keeps TypeScript from complaining that the project is empty.
  const tsconfig = { compilerOptions: { baseUrl: base, paths }, files: [`${base}/packages/protocol/src/index.ts`] };
  writeFileSync(file, `${JSON.stringify(tsconfig, null, 2)}\n`);
  return relative(root, file);
}

/** Test code: test/ and bench/ trees and *.test.ts files anywhere. */
const TEST_CODE = '(^|/)(test|bench)/|\\.test\\.ts$';
/** A resolved npm dependency (pnpm's store path node_modules/.pnpm/x@1/node_modules/x/ ends the same way). */
const npm = (/** @type {string} */ name) => `(^|/)node_modules/${name}/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycle anywhere in the workspace, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        'Every import resolves. For a workspace package this also means the source map in this file ' +
        'covers it: an unresolved import would escape every other rule. Build output and generated ' +
        'code (benches run ../dist) may be missing before the first build.',
      from: { path: '^(packages|services|clients|scripts/stack)/' },
      to: { couldNotResolve: true, pathNot: '(^|/)(dist|generated)/' },
    },
    {
      name: 'protocol-no-node',
      severity: 'error',
      comment: 'packages/protocol is browser-safe: no Node built-in (node:x or bare), not even for types.',
      from: { path: '^packages/protocol/src/', pathNot: TEST_CODE },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'protocol-only-zod',
      severity: 'error',
      comment: 'packages/protocol imports only zod and its own files: no other npm or workspace package.',
      from: { path: '^packages/protocol/src/', pathNot: TEST_CODE },
      to: { dependencyTypesNot: ['core'], pathNot: [`^packages/protocol/src/`, npm('zod')] },
    },
    {
      name: 'packages-are-the-bottom-layer',
      severity: 'error',
      comment:
        'packages/* never import services, clients or scripts, tests included: @alloquy/stack depends ' +
        'on service-kit, so a package test on it would close a workspace cycle.',
      from: { path: '^packages/' },
      to: { path: '^(services|clients|scripts)/' },
    },
    {
      name: 'service-src-not-to-other-services',
      severity: 'error',
      comment: "A service's src never imports another service.",
      from: { path: '^services/([^/]+)/src/', pathNot: TEST_CODE },
      to: { path: '^services/', pathNot: '^services/$1/' },
    },
    {
      name: 'attachments-signalling-never-reach-control',
      severity: 'error',
      comment:
        'attachments and signalling src never import services/control, not even its entries. With ' +
        'packages-are-the-bottom-layer and service-src-not-to-other-services this leaves no path at all.',
      from: { path: '^services/(attachments|signalling)/src/', pathNot: TEST_CODE },
      to: { path: '^services/control/' },
    },
    {
      name: 'service-tests-only-public-entries',
      severity: 'error',
      comment:
        "A service's tests and benches use another service only through its published entries " +
        '(@alloquy/control and @alloquy/control/testing), never its files.',
      from: { path: `^services/([^/]+)/`, pathNot: '^services/[^/]+/src/(?!.*\\.test\\.ts$)' },
      to: {
        path: '^services/',
        pathNot: ['^services/$1/', '^services/control/src/index\\.ts$', '^services/control/src/testing/index\\.ts$'],
      },
    },
    {
      name: 'client-lib-src-only-protocol',
      severity: 'error',
      comment: 'clients/lib/src depends on no workspace package but packages/protocol.',
      from: { path: '^clients/lib/src/', pathNot: TEST_CODE },
      to: { path: '^(packages|services|clients|scripts)/', pathNot: ['^clients/lib/', '^packages/protocol/'] },
    },
    {
      name: 'clients-not-to-services',
      severity: 'error',
      comment: 'No client code (tests included) imports a service: clients speak to services over the wire.',
      from: { path: '^clients/' },
      to: { path: '^services/' },
    },
    {
      name: 'service-src-not-to-clients',
      severity: 'error',
      comment: "A service's src never imports a client (its tests may drive one).",
      from: { path: '^services/[^/]+/src/', pathNot: TEST_CODE },
      to: { path: '^clients/' },
    },
    {
      name: 'guild-not-to-murmur',
      severity: 'error',
      comment: 'The guild model does not know the Murmur adapter.',
      from: { path: '^services/control/src/guild/' },
      to: { path: '^services/control/src/murmur/' },
    },
    {
      name: 'history-not-to-irc-link',
      severity: 'error',
      comment: 'History does not know the IRC link.',
      from: { path: '^services/control/src/history/' },
      to: { path: '^services/control/src/irc-link/' },
    },
    {
      name: 'src-not-to-test-code',
      severity: 'error',
      comment: 'What a package builds never imports test or bench code, nor the test kit @alloquy/stack ' + '(scripts/stack, the test kit itself, is exempt).',
      from: { path: '^(packages|services|clients)/[^/]+/src/', pathNot: TEST_CODE },
      to: { path: [`^(packages|services|clients)/[^/]+/(test|bench)/`, '\\.test\\.ts$', '^scripts/'] },
    },
    {
      name: 'no-relative-import-across-packages',
      severity: 'error',
      comment: 'Another workspace package is imported by its name (its exports), never by a relative path.',
      from: { path: '^(packages/[^/]+|services/[^/]+|clients/[^/]+|scripts/stack)/' },
      to: {
        // A relative path, not a package name that the source map turned into a path.
        dependencyTypes: ['local'],
        dependencyTypesNot: ['aliased'],
        path: '^(packages|services|clients|scripts)/',
        pathNot: '^$1/',
      },
    },
    {
      name: 'not-to-build-output-of-other-packages',
      severity: 'error',
      comment:
        "Another package's dist/ is never imported: a package name the source map misses resolves " +
        'there through node_modules, and the rules above would judge build output, not sources.',
      from: { path: '^(packages/[^/]+|services/[^/]+|clients/[^/]+|scripts/stack)/' },
      to: { path: '^(packages|services|clients|scripts)/.*/(dist|dist-bench)/', pathNot: '^$1/' },
    },
  ],
  options: {
    // Build output and generated code are leaves: imported (a bench runs ../dist), never scanned.
    doNotFollow: { path: ['(^|/)node_modules/', '(^|/)(dist|dist-bench|generated|coverage)/'] },
    // Type-only imports count: they couple modules as much as value imports do.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: writeSourcePathsTsconfig() },
    // Node's own resolution conditions; exports fields are not read (the paths above point at sources).
    enhancedResolveOptions: { conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    skipAnalysisNotInRules: true,
    cache: false,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
