import { AuditEntryList, AuditQuery } from '@alloquy/protocol/http';
import type { GuildService } from '../../../guild/service.js';
import { route, type ControlRoute } from '../../route.js';
import { auditEntryView } from '../../views/audit-log.js';

export function auditLogRoutes(guild: GuildService): ControlRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/audit-log',
      summary: 'Every management action, newest first, with who did it (MANAGE_GUILD or a moderation permission)',
      tag: 'guild',
      auth: 'user',
      query: AuditQuery,
      responses: { 200: AuditEntryList },
      errors: [403],
      handler({ query, actor }) {
        return { status: 200, body: { entries: guild.auditLog(actor, query).map(auditEntryView) } };
      },
    }),
  ];
}
