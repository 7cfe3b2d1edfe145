/**
 * Guild permission flags: one bit per ability, held in a `bigint` so the set can grow past 53
 * (or 64) bits without a format change.
 *
 * Bit positions are part of the stored and wire format. They are grouped, with free positions
 * left in each group so related flags can be added next to each other later:
 *
 * | bits   | group                         |
 * | ------ | ----------------------------- |
 * | 0–15   | general and guild management  |
 * | 16–31  | text channels                 |
 * | 32–47  | voice channels                |
 * | 48+    | free for future groups        |
 *
 * Never renumber or reuse a position: roles and channel overwrites stored with the old meaning
 * would silently change. Add a new flag in a free position of its group, or start a new group.
 *
 * On the wire and in the database a set is a decimal string ("123"), like Discord's API v8+:
 * JSON numbers lose precision past 2^53 and JSON has no bigint.
 */

/** Every permission flag, by name. Each value has exactly one bit set. */
export const Permission = Object.freeze({
  // General and guild management (0–15).
  /** Every permission, in every channel; bypasses channel overwrites. Not settable in overwrites. */
  ADMINISTRATOR: 1n << 0n,
  /** See a channel (and, for voice, see who is in it). Without it a channel grants nothing. */
  VIEW_CHANNEL: 1n << 1n,
  /** Create, edit and delete channels. */
  MANAGE_CHANNELS: 1n << 2n,
  /** Create and edit roles below one's own, assign them, and edit channel overwrites. */
  MANAGE_ROLES: 1n << 3n,
  /** Edit the guild's name, settings and the like. */
  MANAGE_GUILD: 1n << 4n,
  /** Create invites to the guild. */
  CREATE_INVITE: 1n << 5n,
  /** Remove members below one's own top role from the guild. */
  KICK_MEMBERS: 1n << 6n,
  /** Ban members below one's own top role. */
  BAN_MEMBERS: 1n << 7n,
  /** Time out members below one's own top role (no sending, reacting or speaking while active). */
  MODERATE_MEMBERS: 1n << 8n,
  /** Add, rename and remove the guild's custom emoji. */
  MANAGE_EMOJIS: 1n << 9n,

  // Text (16–31).
  /** Post messages in a text channel. */
  SEND_MESSAGES: 1n << 16n,
  /** Read a text channel's earlier messages. */
  READ_HISTORY: 1n << 17n,
  /** Delete or pin other people's messages. */
  MANAGE_MESSAGES: 1n << 18n,
  /** Use @everyone / @here mentions. Implicitly lost without SEND_MESSAGES. */
  MENTION_EVERYONE: 1n << 19n,
  /** Upload files. Implicitly lost without SEND_MESSAGES. */
  ATTACH_FILES: 1n << 20n,
  /** Add new reactions to messages. */
  ADD_REACTIONS: 1n << 21n,

  // Voice (32–47).
  /** Join a voice channel. Without it, the other voice flags are lost in that channel. */
  CONNECT: 1n << 32n,
  /** Talk in a voice channel. */
  SPEAK: 1n << 33n,
  /** Send camera video or a screen share in a voice channel. */
  VIDEO: 1n << 34n,
  /** Server-mute other members in a voice channel. */
  MUTE_MEMBERS: 1n << 35n,
} as const);

/** The name of a permission flag, e.g. `'SEND_MESSAGES'`. */
export type PermissionName = keyof typeof Permission;

/** All permission names, in ascending bit order. */
export const PERMISSION_NAMES: readonly PermissionName[] = Object.freeze(
  (Object.keys(Permission) as PermissionName[]).sort((a, b) => (Permission[a] < Permission[b] ? -1 : 1)),
);

/** Every defined permission bit. The owner's and an administrator's permissions. */
export const ALL: bigint = PERMISSION_NAMES.reduce((acc, name) => acc | Permission[name], 0n);

/** The empty permission set. */
export const NONE = 0n;

/** Bit position of each flag (`Permission[name] === 1n << BigInt(PERMISSION_BITS[name])`). */
export const PERMISSION_BITS: Readonly<Record<PermissionName, number>> = Object.freeze(
  Object.fromEntries(PERMISSION_NAMES.map((name) => [name, bitIndex(Permission[name])])) as Record<PermissionName, number>,
);

const NAME_BY_FLAG: ReadonlyMap<bigint, PermissionName> = new Map(PERMISSION_NAMES.map((name) => [Permission[name], name]));

function bitIndex(flag: bigint): number {
  let i = 0;
  while (flag > 1n) {
    flag >>= 1n;
    i++;
  }
  return i;
}

/** Thrown when text or a value is not a valid permission set or name. */
export class InvalidPermissionsError extends Error {
  override name = 'InvalidPermissionsError';
}

/**
 * Whether `perms` holds every bit of `flags` (so `has(p, A | B)` means both). `has(p, 0n)` is true.
 */
export function has(perms: bigint, flags: bigint): boolean {
  return (perms & flags) === flags;
}

/** Whether `perms` holds at least one bit of `flags`. `hasAny(p, 0n)` is false. */
export function hasAny(perms: bigint, flags: bigint): boolean {
  return (perms & flags) !== 0n;
}

/** The union of the given sets (bitwise OR); `combine()` is the empty set. */
export function combine(...sets: readonly bigint[]): bigint {
  let out = 0n;
  for (const s of sets) out |= s;
  return out;
}

/** `perms` without any bit of `flags`. */
export function remove(perms: bigint, flags: bigint): bigint {
  return perms & ~flags;
}

/** Whether `perms` is a non-negative set using only defined bits (a subset of {@link ALL}). */
export function isValidPermissions(perms: bigint): boolean {
  // For a negative bigint, `& ~ALL` keeps its infinite run of high one-bits, so it is non-zero too.
  return typeof perms === 'bigint' && (perms & ~ALL) === 0n;
}

/** Whether `name` is the name of a defined flag. */
export function isPermissionName(name: string): name is PermissionName {
  return Object.prototype.hasOwnProperty.call(Permission, name);
}

/** The name of a single defined flag, or `undefined` for anything else (0, several bits, unknown). */
export function permissionName(flag: bigint): PermissionName | undefined {
  return NAME_BY_FLAG.get(flag);
}

/** The names of the defined flags in `perms`, in ascending bit order. Undefined bits are ignored. */
export function permissionNames(perms: bigint): PermissionName[] {
  return PERMISSION_NAMES.filter((name) => (perms & Permission[name]) !== 0n);
}

/** The set holding exactly the named flags. Throws {@link InvalidPermissionsError} on an unknown name. */
export function permissionsFromNames(names: Iterable<string>): bigint {
  let out = 0n;
  for (const name of names) {
    if (!isPermissionName(name)) throw new InvalidPermissionsError(`unknown permission ${JSON.stringify(name)}`);
    out |= Permission[name];
  }
  return out;
}

/** What {@link parsePermissions} does with bits no flag defines. */
export interface ParsePermissionsOptions {
  /** `'reject'` (default) throws; `'strip'` drops them, e.g. for data written by a newer version. */
  unknownBits?: 'reject' | 'strip';
}

/** Longest accepted decimal text: 40 digits is ~2^132, far more than any flag set needs. */
const MAX_DIGITS = 40;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

/**
 * Parses the decimal-string form (`"0"`, `"65538"`). Accepts only canonical non-negative decimal
 * (no sign, leading zeros, spaces, hex or exponent) of at most 40 digits, so hostile input cannot
 * make a huge bigint. Throws {@link InvalidPermissionsError} on anything else, and on undefined
 * bits unless `unknownBits: 'strip'`.
 */
export function parsePermissions(text: string, options: ParsePermissionsOptions = {}): bigint {
  if (typeof text !== 'string') throw new InvalidPermissionsError('permissions must be a decimal string');
  if (text.length > MAX_DIGITS || !DECIMAL.test(text)) {
    throw new InvalidPermissionsError(`permissions must be a non-negative decimal string, got ${JSON.stringify(text.slice(0, MAX_DIGITS + 1))}`);
  }
  const value = BigInt(text);
  const unknown = value & ~ALL;
  if (unknown === 0n) return value;
  if (options.unknownBits === 'strip') return value & ALL;
  throw new InvalidPermissionsError(`permissions ${text} use undefined bits (${unknown})`);
}

/**
 * The decimal-string form of a set, for JSON and storage. Throws {@link InvalidPermissionsError}
 * if `perms` is negative or uses undefined bits (a bug in the caller, never user input).
 */
export function serializePermissions(perms: bigint): string {
  if (!isValidPermissions(perms)) throw new InvalidPermissionsError(`not a valid permission set: ${String(perms)}`);
  return perms.toString(10);
}
