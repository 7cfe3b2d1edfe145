import type Database from 'better-sqlite3';
import { statementCache } from '@alloquy/service-kit/store';
import { type Db } from '../store/database.js';

/**
 * The guild's voice channels (guild_channels rows of kind 'voice') as the Murmur relay needs
 * them. Guild management (channels.ts) creates, renames and deletes them with authorization and
 * audit; the relay makes Murmur match, and records here the one thing only it knows: Murmur's
 * id for each channel.
 *
 * The relay reads the table rather than the guild snapshot: it runs without a GuildService too
 * (open voice ACLs), and must see channels the CLI made in its own process, and the ids it has
 * just recorded, before any snapshot is reloaded.
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

/** Voice channel names are unique regardless of case (guild_channels.name_folded). */
export function foldChannelName(name: string): string {
  return name.toLowerCase();
}

function toChannel(row: Row): VoiceChannel {
  return { id: row.id, name: row.name, murmurChannelId: row.murmur_channel_id, createdAt: row.created_at };
}

export class VoiceChannels {
  private readonly sql: (text: string) => Database.Statement;

  constructor(db: Db) {
    this.sql = statementCache(db);
  }

  list(): VoiceChannel[] {
    return (this.sql("SELECT * FROM guild_channels WHERE kind = 'voice' ORDER BY position, id").all() as Row[]).map(toChannel);
  }

  find(name: string): VoiceChannel | undefined {
    const row = this.sql("SELECT * FROM guild_channels WHERE kind = 'voice' AND name_folded = ?").get(foldChannelName(name)) as Row | undefined;
    return row && toChannel(row);
  }

  /**
   * Records Murmur's id for a voice channel. No audit entry and no republish of its own: it
   * changes nothing anyone decided, and the relay reloads the guild once for a whole pass.
   */
  setMurmurChannelId(id: number, murmurChannelId: number | null): void {
    this.sql("UPDATE guild_channels SET murmur_channel_id = ? WHERE id = ? AND kind = 'voice'").run(murmurChannelId, id);
  }
}
