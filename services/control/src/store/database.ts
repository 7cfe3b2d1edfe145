import { openDatabase, type Db } from '@alloquy/service-kit/store';
import { MIGRATIONS } from './migrations.js';

export type { Db };

/**
 * The control database (accounts, guild, history, Murmur sync state), migrated to the newest
 * schema. The server and the operator CLI open the same file; WAL lets them work side by side.
 */
export function openControlDatabase(path: string): Db {
  return openDatabase(path, MIGRATIONS);
}
