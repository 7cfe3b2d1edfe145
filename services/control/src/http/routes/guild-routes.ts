import type { GuildService } from '../../guild/service.js';
import type { MurmurRelay } from '../../murmur/relay.js';
import type { ControlRoute } from '../route.js';
import { auditLogRoutes } from './guild/audit-log.js';
import { banRoutes } from './guild/bans.js';
import { categoryRoutes } from './guild/categories.js';
import { channelRoutes } from './guild/channels.js';
import { inviteRoutes } from './guild/invites.js';
import { memberRoutes } from './guild/members.js';
import { overwriteRoutes } from './guild/overwrites.js';
import { roleRoutes } from './guild/roles.js';
import { guildSettingsRoutes } from './guild/settings.js';

export interface GuildRouteDeps {
  guild: GuildService;
  /** Voice channels are made (renamed, removed) in Murmur at once when there is a relay. */
  relay: Pick<MurmurRelay, 'syncChannels'> | undefined;
}

/**
 * The guild over HTTP: settings, channels, categories, roles, members, moderation, invites and
 * the audit log, one file per resource under guild/. Every route is `auth: 'user'`; what the
 * caller may do is decided by GuildService with the permission math, never here.
 */
export function guildRoutes({ guild, relay }: GuildRouteDeps): ControlRoute[] {
  return [
    ...guildSettingsRoutes(guild),
    ...channelRoutes({ guild, relay }),
    ...overwriteRoutes(guild),
    ...categoryRoutes(guild),
    ...roleRoutes(guild),
    ...memberRoutes(guild),
    ...banRoutes(guild),
    ...inviteRoutes(guild),
    ...auditLogRoutes(guild),
  ];
}
