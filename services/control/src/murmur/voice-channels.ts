import type Database from 'better-sqlite3';
import { ControlError } from '../errors/control-error.js';
import { assertValidVoiceChannelName } from '../guild/names.js';
import { type Db } from '../store/database.js';
import { statementCache } from '@alloquy/service-kit/store';

/**
 * The voice channels of the guild (guild_channels rows of kind 'voice'), as the Murmur relay
 * and the voice API see them. Guild management (GuildService) creates, renames and deletes them
 * with authorization and audit; the relay then makes Murmur match (a channel under the root
 * channel, with ACLs derived from the guild's permissions).
 */
export interface VoiceChannel {
  id: number;
  name: string;
  /** Murmur's channel id, null until the relay has created the channel in Murmur. */
  murmurChannelId: number | null;
  createdAt: number;
}

interface Row {
  id: number;
  name: string;
  murmur_channel_id: number | null;
  created_at: number;
}

export function foldChannelName(name: string): string {
  return name.toLowerCase();
}

function toChannel(row: Row): VoiceChannel {
  return { id: row.id, name: row.name, murmurChannelId: row.murmur_channel_id, createdAt: row.created_at };
}

export class VoiceChannels {
  private statements?: (sql: string) => Database.Statement;

  /** A prepared statement for a constant SQL text, compiled once (see statementCache). */
  private sql(text: string): Database.Statement {
    this.statements ??= statementCache(this.db);
    return this.statements(text);
  }
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  list(): VoiceChannel[] {
    return (this.sql("SELECT * FROM guild_channels WHERE kind = 'voice' ORDER BY position, id").all() as Row[]).map(toChannel);
  }

  find(name: string): VoiceChannel | undefined {
    const row = this.sql("SELECT * FROM guild_channels WHERE kind = 'voice' AND name_folded = ?").get(foldChannelName(name)) as Row | undefined;
    return row && toChannel(row);
  }

  create(name: string, createdBy?: number): VoiceChannel {
    assertValidVoiceChannelName(name);
    try {
      const info = this
        .sql("INSERT INTO guild_channels (kind, name, name_folded, position, created_by, created_at) VALUES ('voice', ?, ?, (SELECT COALESCE(MAX(position), -1) + 1 FROM guild_channels WHERE kind = 'voice'), ?, ?)")
        .run(name, foldChannelName(name), createdBy ?? null, this.now());
      return toChannel(this.sql('SELECT * FROM guild_channels WHERE id = ?').get(Number(info.lastInsertRowid)) as Row);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new ControlError('channel_taken', `a voice channel named "${name}" exists`);
      }
      throw err;
    }
  }

  setMurmurChannelId(id: number, murmurChannelId: number | null): void {
    this.sql("UPDATE guild_channels SET murmur_channel_id = ? WHERE id = ? AND kind = 'voice'").run(murmurChannelId, id);
  }
}
