import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root. Both `src/home.ts` (vitest) and `dist/home.js` (node)
 * sit three levels below it, so this works for either.
 */
export function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

/** ALLOQUY_HOME as an absolute path; relative values are taken from `cwd`. */
export function resolveHome(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const configured = env.ALLOQUY_HOME?.trim();
  if (configured === undefined || configured === '') return join(repoRoot(), '.alloquy');
  return isAbsolute(configured) ? configured : resolve(cwd, configured);
}

/** Where everything lives inside the data folder. */
export interface HomeLayout {
  home: string;
  secretsDir: string;
  tlsDir: string;
  inspircdDir: string;
  logsDir: string;
  runDir: string;
  /** Shared InspIRCd <-> control server link password (sendpass = recvpass). */
  linkPasswordPath: string;
  jwtSecretPath: string;
  /** Key for InspIRCd's host cloaking; only InspIRCd reads it. */
  cloakKeyPath: string;
  dbPath: string;
  /** Murmur's data folder (its SQLite database), owned by the user Murmur runs as. */
  murmurDir: string;
  /** The generated murmur.ini; outside murmurDir so Murmur's user cannot rewrite it. */
  murmurConfigPath: string;
  /** Murmur's Ice write secret; the control server reads it too (ALLOQUY_MURMUR_ICE_SECRET_PATH). */
  murmurIceSecretPath: string;
  /** Murmur's server password: keeps out names that are not accounts; nobody is given it. */
  murmurServerPasswordPath: string;
  /** The password of Murmur's SuperUser account (for an operator with a stock Mumble client). */
  murmurSuperUserPasswordPath: string;
}

export function homeLayout(home: string, env: NodeJS.ProcessEnv = process.env): HomeLayout {
  const secretsDir = join(home, 'secrets');
  return {
    home,
    secretsDir,
    tlsDir: join(home, 'tls'),
    inspircdDir: join(home, 'inspircd'),
    logsDir: join(home, 'logs'),
    runDir: join(home, 'run'),
    linkPasswordPath: pathFromEnv(env.ALLOQUY_IRC_LINK_PASSWORD_PATH, home) ?? join(secretsDir, 'irc-link.key'),
    jwtSecretPath: pathFromEnv(env.ALLOQUY_JWT_SECRET_PATH, home) ?? join(secretsDir, 'jwt.key'),
    cloakKeyPath: join(secretsDir, 'irc-cloak.key'),
    dbPath: pathFromEnv(env.ALLOQUY_DB_PATH, home) ?? join(home, 'control.sqlite'),
    murmurDir: join(home, 'murmur'),
    murmurConfigPath: join(home, 'murmur.ini'),
    murmurIceSecretPath: pathFromEnv(env.ALLOQUY_MURMUR_ICE_SECRET_PATH, home) ?? join(secretsDir, 'murmur-ice.key'),
    murmurServerPasswordPath: join(secretsDir, 'murmur-server.key'),
    murmurSuperUserPasswordPath: join(secretsDir, 'murmur-superuser.key'),
  };
}

function pathFromEnv(value: string | undefined, home: string): string | undefined {
  const trimmed = value?.trim();
  if (trimmed === undefined || trimmed === '') return undefined;
  return isAbsolute(trimmed) ? trimmed : resolve(home, trimmed);
}

/**
 * Creates the data folder and its sub-folders (secrets readable by the owner
 * only). Murmur's folder is handed to Murmur's user by prepareMurmur.
 */
export async function ensureHome(layout: HomeLayout): Promise<void> {
  await mkdir(layout.home, { recursive: true });
  for (const dir of [layout.tlsDir, layout.inspircdDir, layout.logsDir, layout.runDir, layout.murmurDir]) {
    await mkdir(dir, { recursive: true });
  }
  await mkdir(layout.secretsDir, { recursive: true, mode: 0o700 });
  await chmod(layout.secretsDir, 0o700);
}

/**
 * Writes a file that holds secrets (a daemon's config with its passwords) with mode 0600,
 * creating its folder. writeFile's mode only applies to a new file, so an existing one is
 * tightened as well.
 */
export async function writePrivateFile(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content, { mode: 0o600 });
  await chmod(path, 0o600);
}
