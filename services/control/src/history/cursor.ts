import type { Cursor } from './store.js';

/**
 * Where a page starts, as people and clients write it: a msgid, an ISO 8601 time or date, or
 * Unix milliseconds. Shared by the HTTP API and HistServ so both read positions the same way.
 *
 * - digits only: Unix milliseconds (no msgid we record is all digits: InspIRCd's look like
 *   `1AL~1795300454~0`);
 * - `YYYY-MM-DD`, optionally with `THH:MM[:SS[.fff]]` and a zone (`Z`, `+01:00`): a time; a time
 *   without a zone is UTC, never the server's local time;
 * - anything else up to 200 printable characters without spaces: a msgid.
 */
const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?(Z|[+-]\d{2}:?\d{2})?$/i;
const MSGID = /^[\x21-\x7e]{1,200}$/;

export type CursorParse = { ok: true; cursor: Cursor } | { ok: false; problem: string };

export function parseCursor(text: string): CursorParse {
  if (/^\d{1,16}$/.test(text)) {
    const time = Number(text);
    if (Number.isSafeInteger(time)) return { ok: true, cursor: { time } };
  }
  const iso = ISO.exec(text);
  if (iso) {
    const [, date, clock, zone] = iso;
    const normalized = `${date}T${clock ?? '00:00'}${zone ? zone.toUpperCase() : 'Z'}`;
    const time = Date.parse(normalized);
    if (!Number.isFinite(time)) return { ok: false, problem: `"${text}" is not a valid time` };
    return { ok: true, cursor: { time } };
  }
  if (MSGID.test(text)) return { ok: true, cursor: { msgid: text } };
  return { ok: false, problem: `"${text.slice(0, 60)}" is neither a msgid, an ISO 8601 time nor Unix milliseconds` };
}
