/**
 * Argument readers for the operator CLI. Anything the operator typed wrong is a UsageError
 * (exit 2, message and usage, no stack trace); pure, so they are tested directly.
 */
import { PERMISSION_NAMES, isPermissionName, parsePermissions, Permission, InvalidPermissionsError } from '@alloquy/protocol/permissions';

export class UsageError extends Error {
  override name = 'UsageError';
  /** The usage line of the command it is about, when known; otherwise the whole usage is shown. */
  usage: string | undefined;
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** `10m`, `2h`, `1d`, `1h30m`, `90s`, `1w` → milliseconds. */
export function parseDuration(text: string): number {
  if (!/^(?:[0-9]{1,6}[smhdw])+$/.test(text)) {
    throw new UsageError(`"${text}" is not a duration: use a number with s, m, h, d or w, e.g. 10m, 2h, 1d, 1h30m`);
  }
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]+)([smhdw])/g)) ms += Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
  if (ms <= 0) throw new UsageError(`a duration must be longer than zero, got "${text}"`);
  return ms;
}

/**
 * `VIEW_CHANNEL,SEND_MESSAGES` (any case, commas and/or spaces) or a decimal bit set → bits.
 * Unknown names list the known ones.
 */
export function parsePermissionList(text: string): bigint {
  const trimmed = text.trim();
  if (/^[0-9]+$/.test(trimmed)) {
    try {
      return parsePermissions(trimmed);
    } catch (err) {
      if (err instanceof InvalidPermissionsError) throw new UsageError(err.message);
      throw err;
    }
  }
  const names = trimmed
    .split(/[\s,]+/)
    .filter((n) => n.length > 0)
    .map((n) => n.toUpperCase());
  if (names.length === 0) throw new UsageError('name at least one permission');
  let bits = 0n;
  for (const name of names) {
    if (!isPermissionName(name)) throw new UsageError(`unknown permission "${name}"; the permissions are: ${PERMISSION_NAMES.join(', ')}`);
    bits |= Permission[name];
  }
  return bits;
}

/** A whole number of at least 1 from an option's text. */
export function parsePositiveInt(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${option} takes positive whole numbers, got "${text}"`);
  }
  return Number(text);
}

/** `on`/`off` (also true/false, yes/no, 1/0). */
export function parseSwitch(text: string): boolean {
  const t = text.toLowerCase();
  if (['on', 'true', 'yes', '1'].includes(t)) return true;
  if (['off', 'false', 'no', '0'].includes(t)) return false;
  throw new UsageError(`expected on or off, got "${text}"`);
}

/** Rows under a header, each column as wide as its widest cell. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
