/**
 * A throwaway Murmur for the voice tests and the benchmark: @alloquy/stack's
 * startMurmur (the stack's own murmur.ini template, loopback, free ports, a
 * certificate naming localhost and 127.0.0.1) in a temporary folder that
 * stop() removes.
 *
 * Murmur is configured as the stack runs it: registered accounts log in with
 * their own password; any other name needs the server password.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMurmur, type StartMurmurOptions } from '@alloquy/stack';

export type TestMurmurOptions = Omit<StartMurmurOptions, 'workDir'>;

export interface TestMurmur {
  /** Address to connect to. */
  host: string;
  /** The Mumble port (TCP; UDP on the same number). */
  port: number;
  /** PEM of the server certificate: pass as `ca` (with servername 'localhost') to verify the server. */
  certPem: string;
  /** What unregistered names must give as their password. */
  serverPassword: string;
  /** Password of SuperUser, the one registered account Murmur has without the control relay. */
  superUserPassword: string;
  /** Murmur's version from its log, e.g. "1.3.4". */
  version: string | undefined;
  /** SIGTERM (SIGKILL after 5 s) and removal of the folder. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startTestMurmur(options: TestMurmurOptions = {}): Promise<TestMurmur> {
  const workDir = await mkdtemp(join(tmpdir(), 'alloquy-client-voice-'));
  try {
    const murmur = await startMurmur({ ...options, workDir });
    const certPem = await readFile(murmur.certPath, 'utf8');
    const log = await readFile(murmur.logPath, 'utf8').catch(() => '');
    let stopping: Promise<void> | undefined;
    return {
      host: murmur.address,
      port: murmur.ports.mumble,
      certPem,
      serverPassword: murmur.serverPassword,
      superUserPassword: murmur.superUserPassword,
      version: /Murmur (\d+\.\d+\.\d+)/.exec(log)?.[1],
      stop: () => (stopping ??= murmur.stop().finally(() => rm(workDir, { recursive: true, force: true }))),
    };
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}
