import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../home.js';

const run = promisify(execFile);

/** What the InspIRCd config needs to load our fast-connect module. */
export interface FastConnectModules {
  moduleDir: string;
  extraModules: readonly string[];
}

/** Where tests and benchmarks share one build of the module (build.sh is atomic and idempotent). */
export const SHARED_TEST_MODULE_DIR = join(tmpdir(), 'alloquy-inspircd-modules');

const builds = new Map<string, Promise<FastConnectModules>>();

/**
 * Builds `m_alloquy_fastconnect` (infra/inspircd/modules) into `moduleDir`, beside links to
 * every stock module: InspIRCd 3 loads all modules from one folder. Without this module
 * InspIRCd only completes registration on its once-a-second pass, so every login waits ~1 s.
 * Rejects with the compiler's output when the build fails.
 */
export function prepareFastConnect(moduleDir: string): Promise<FastConnectModules> {
  let build = builds.get(moduleDir);
  if (!build) {
    const script = join(repoRoot(), 'infra', 'inspircd', 'modules', 'build.sh');
    build = run('bash', [script, moduleDir], { timeout: 120_000 }).then(
      () => ({ moduleDir, extraModules: ['alloquy_fastconnect'] }),
      (error: Error & { stderr?: string }) => {
        builds.delete(moduleDir);
        throw new Error(`building the InspIRCd fast-connect module failed: ${error.stderr?.trim() || error.message}`);
      },
    );
    builds.set(moduleDir, build);
  }
  return build;
}
