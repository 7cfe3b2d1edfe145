/**
 * Channel mode strings as spanning-tree protocol 1205 carries them (FJOIN, FMODE), parsed and
 * built the way InspIRCd's ModeParser does it. Which letters take a parameter is never
 * hardcoded: it comes from the hub's CAPAB CHANMODES (`HubCapabilities.channelModes`). No I/O.
 */

/** The mode kinds InspIRCd 3 advertises in CAPAB CHANMODES. */
export type ModeKind = 'simple' | 'param' | 'param-set' | 'list' | 'prefix';

/**
 * A mode as the hub describes it in CAPAB CHANMODES / USERMODES, e.g. `prefix:30000:op=@o`.
 * It lives here, with the kinds it is indexed by, so that this module depends on nothing and
 * the CAPAB parser (protocol.ts) depends on it, not the other way round.
 */
export interface ModeInfo {
  /** 'simple' | 'param' | 'param-set' | 'list' | 'prefix' (other values are kept as-is). */
  readonly type: string;
  readonly name: string;
  readonly letter: string;
  /** Prefix modes only: the status symbol (e.g. '@') and its rank. */
  readonly symbol?: string;
  readonly rank?: number;
}

/** One change of one channel mode. `param` is set exactly when the change consumes a parameter. */
export interface ModeChange {
  readonly adding: boolean;
  readonly letter: string;
  readonly param?: string;
}

/** Letter → kind, built from CAPAB CHANMODES. */
export type ModeKinds = ReadonlyMap<string, ModeKind>;

const KINDS: ReadonlySet<string> = new Set<ModeKind>(['simple', 'param', 'param-set', 'list', 'prefix']);

/** Index CAPAB mode descriptors by letter; descriptors of unknown kinds are left out. */
export function modeKindsByLetter(modes: Iterable<ModeInfo>): Map<string, ModeKind> {
  const byLetter = new Map<string, ModeKind>();
  for (const mode of modes) if (KINDS.has(mode.type)) byLetter.set(mode.letter, mode.type as ModeKind);
  return byLetter;
}

/** Whether a mode of `kind` consumes a parameter when set (`adding`) or unset. */
export function takesParam(kind: ModeKind, adding: boolean): boolean {
  switch (kind) {
    case 'simple':
      return false;
    case 'param-set':
      return adding;
    default:
      return true;
  }
}

/** Whether every letter of `letters` is a prefix mode the hub advertised (an unknown one in FJOIN drops the link). */
export function arePrefixModes(letters: string, kinds: ModeKinds): boolean {
  for (const letter of letters) if (kinds.get(letter) !== 'prefix') return false;
  return true;
}

export interface ParsedModes {
  readonly changes: ModeChange[];
  /** Letters the hub never advertised (skipped without consuming a parameter, as InspIRCd does). */
  readonly unknown: string[];
  /** Changes dropped because their parameter was missing or empty. */
  readonly missingParams: number;
  /** Parameters left over after the mode string was consumed. */
  readonly extraParams: number;
}

/**
 * Parse `+nt-k+b key mask` style input: `modes` is the mode string, `params` the parameters
 * that follow it. Mirrors InspIRCd's ModeParamsToChangeList: a leading sign is optional (`+`
 * assumed), unknown letters are skipped without taking a parameter, a change that needs a
 * parameter takes the next one, and a change whose parameter is missing or empty is dropped
 * (InspIRCd skips it). Total: never throws, whatever the input.
 */
export function parseModeChanges(modes: string, params: readonly string[], kinds: ModeKinds): ParsedModes {
  const changes: ModeChange[] = [];
  const unknown: string[] = [];
  let missingParams = 0;
  let adding = true;
  let next = 0;
  for (const letter of modes) {
    if (letter === '+' || letter === '-') {
      adding = letter === '+';
      continue;
    }
    const kind = kinds.get(letter);
    if (kind === undefined) {
      unknown.push(letter);
      continue;
    }
    if (!takesParam(kind, adding)) {
      changes.push({ adding, letter });
      continue;
    }
    const param = next < params.length ? params[next++]! : undefined;
    if (param === undefined || param.length === 0) {
      missingParams++;
      continue;
    }
    changes.push({ adding, letter, param });
  }
  return { changes, unknown, missingParams, extraParams: Math.max(0, params.length - next) };
}

/** One FMODE's worth of changes: the mode string and its parameters. */
export interface ModeLine {
  readonly modes: string;
  readonly params: string[];
  /** The changes this line carries, in order. */
  readonly changes: ModeChange[];
}

export interface ModeLineLimits {
  /** At most this many changes per line (the hub's MAXMODES). */
  readonly maxModes: number;
  /** At most this many bytes for the mode string plus its parameters (with separating spaces). */
  readonly maxBytes: number;
}

/**
 * Pack changes into as few mode lines as the limits allow, keeping their order. A parameter
 * that could never fit (or that would break the line: empty, a space, a leading ':' anywhere
 * but last) is the caller's bug; such changes are left out rather than put on the wire.
 */
export function packModeChanges(changes: readonly ModeChange[], limits: ModeLineLimits): ModeLine[] {
  const lines: ModeLine[] = [];
  let current: ModeChange[] = [];
  let bytes = 0;
  const flush = (): void => {
    if (current.length === 0) return;
    lines.push(formatModeLine(current));
    current = [];
    bytes = 0;
  };
  for (const change of changes) {
    if (change.param !== undefined && !isSafeParam(change.param)) continue;
    // '+x' (2 bytes) in the mode string, plus ' param'.
    const cost = 2 + (change.param === undefined ? 0 : 1 + Buffer.byteLength(change.param, 'utf8'));
    if (cost > limits.maxBytes) continue;
    if (current.length >= limits.maxModes || bytes + cost > limits.maxBytes) flush();
    current.push(change);
    bytes += cost;
  }
  flush();
  return lines;
}

function isSafeParam(param: string): boolean {
  return param.length > 0 && !/[\s\0]/.test(param) && !param.startsWith(':');
}

/** `[+a, +b x, -c y]` → `{ modes: '+ab-c', params: ['x', 'y'], changes }`. */
export function formatModeLine(changes: readonly ModeChange[]): ModeLine {
  let modes = '';
  let sign: boolean | null = null;
  const params: string[] = [];
  for (const change of changes) {
    if (sign !== change.adding) {
      modes += change.adding ? '+' : '-';
      sign = change.adding;
    }
    modes += change.letter;
    if (change.param !== undefined) params.push(change.param);
  }
  return { modes, params, changes: [...changes] };
}
