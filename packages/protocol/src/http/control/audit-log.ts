import { z } from 'zod';

/** `GET /api/v1/audit-log` query string: fields read strings, as a URL carries them. */
export const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).optional().describe('how many entries (default 50, at most 500)'),
  before: z.coerce.number().int().min(1).optional().describe('only entries with an id below this one: the next page'),
  action: z.string().min(1).max(64).optional().describe('only this action, e.g. member.kick'),
  actor: z.string().min(1).max(64).optional().describe('only actions by this username (or "operator")'),
});
export type AuditQuery = z.input<typeof AuditQuery>;

/** One management action. */
export const AuditEntryView = z.object({
  id: z.number().int(),
  time: z.string(),
  actor: z.string().describe('username, or "operator" for the CLI'),
  action: z.string().describe('e.g. channel.create, role.update, member.kick, member.ban, member.timeout'),
  target_type: z.string().nullable(),
  target_id: z.string().nullable(),
  target_name: z.string().nullable(),
  reason: z.string().nullable(),
  changes: z.record(z.string(), z.unknown()).nullable(),
});
export type AuditEntryView = z.infer<typeof AuditEntryView>;

/** `GET /api/v1/audit-log`: newest first. */
export const AuditEntryList = z.object({ entries: z.array(AuditEntryView) });
export type AuditEntryList = z.infer<typeof AuditEntryList>;
