import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
export type Db = Database.Database;

/**
 * A versioned schema change. Each service keeps its own append-only list: a released migration is
 * never edited, a change is a new version. Times in every schema are Unix milliseconds.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Opens a service's SQLite database with the settings every caller needs: WAL so the CLI can write
 * while the server reads, a busy timeout so those two never fail on a brief lock, and foreign
 * keys on. Then applies any migration not yet recorded, each in its own transaction.
 */
export function openDatabase(path: string, migrations: readonly Migration[]): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db, migrations);
  return db;
}

export function migrate(db: Db, migrations: readonly Migration[]): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  const ran: number[] = [];
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (const m of sorted) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    })();
    ran.push(m.version);
  }
  return ran;
}

/**
 * Prepares each distinct SQL text once per database and reuses it: better-sqlite3 compiles on
 * every prepare(), and account look-ups run on every login and every authenticated request.
 * The statements live as long as the database; `sql` texts must be constants, never built
 * from input.
 */
export function statementCache(db: Db): (sql: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>();
  return (sql) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
}
