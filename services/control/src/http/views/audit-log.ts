import type { AuditEntryView } from '@alloquy/protocol/http';
import type { AuditEntry } from '../../guild/service.js';
import { isoTime } from './time.js';

export function auditEntryView(e: AuditEntry): AuditEntryView {
  return {
    id: e.id,
    time: isoTime(e.time),
    actor: e.actor,
    action: e.action,
    target_type: e.targetType,
    target_id: e.targetId,
    target_name: e.targetName,
    reason: e.reason,
    changes: e.changes,
  };
}
