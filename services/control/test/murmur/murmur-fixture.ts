/**
 * A real Murmur for the relay's tests, configured exactly as the stack configures it
 * (`startMurmur` from @alloquy/stack: Ice on loopback with a write secret and no read secret,
 * a server password nobody is given, no autoban, a SuperUser password of its own). Starting it
 * again on the same folder and ports keeps its database, which is what the restart tests need.
 */
import { startMurmur, type MurmurHandle } from '@alloquy/stack';

export interface MurmurFixtureOptions {
  workDir: string;
  ports?: { mumble: number; mumbleIce: number };
  iceSecret?: string;
  serverPassword?: string;
}

export type MurmurFixture = Pick<MurmurHandle, 'ports' | 'address' | 'iceSecret' | 'serverPassword' | 'superUserPassword' | 'pid' | 'stop'>;

export function startMurmurFixture(options: MurmurFixtureOptions): Promise<MurmurFixture> {
  return startMurmur(options);
}
