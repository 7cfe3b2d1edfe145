import { classifyIp, cidrContains, describeAddressClass, parseCidr, type AddressClass, type Cidr, type IpAddress } from './address.js';

/**
 * Which targets the embed fetcher may connect to. Pure: the fetcher resolves the host and asks
 * here about every address before connecting.
 *
 * By default only public addresses on ports 80 and 443. `config.embeds.allow` entries open more:
 * - `intranet.example` or `*.intranet.example`: that host name, whatever it resolves to;
 * - `10.0.0.0/8`, `192.168.1.20`, `fd00::/8`: those addresses;
 * - any of them with a port: `127.0.0.1:8080`, `[::1]:8080`, `[fd00::/8]:*`, `wiki.lan:8443`.
 *   An entry without a port opens only 80 and 443; `*` opens every port.
 */
export type PortRule = number | '*' | null;

export type AllowEntry =
  { kind: 'host'; host: string; wildcard: boolean; port: PortRule; text: string } | { kind: 'cidr'; cidr: Cidr; port: PortRule; text: string };

export interface Target {
  /** The URL's host name, lowercase, without brackets. */
  hostname: string;
  port: number;
  /** Every address the host name resolved to (or the literal address). */
  addresses: readonly IpAddress[];
}

export type TargetDecision =
  { allowed: true } | { allowed: false; reason: 'address'; addressClass: AddressClass; message: string } | { allowed: false; reason: 'port'; message: string };

export const STANDARD_PORTS: ReadonlySet<number> = new Set([80, 443]);

export const REFUSED_ADDRESS_MESSAGE = 'embeds of private or loopback addresses are not allowed';

/** Parses one allowlist entry; throws an Error naming the entry when it is malformed. */
export function parseAllowEntry(text: string): AllowEntry {
  const entry = text.trim().toLowerCase();
  if (entry === '') throw new Error('empty embed allowlist entry');
  let body = entry;
  let port: PortRule = null;
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close < 0) throw new Error(`embed allowlist entry "${text}": missing "]"`);
    body = entry.slice(1, close);
    const after = entry.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw new Error(`embed allowlist entry "${text}": expected ":port" after "]"`);
      port = parsePortRule(after.slice(1), text);
    }
  } else if ((entry.match(/:/g) ?? []).length === 1) {
    const colon = entry.indexOf(':');
    body = entry.slice(0, colon);
    port = parsePortRule(entry.slice(colon + 1), text);
  }
  // A bare IPv6 address has several colons and no port.
  const cidr = parseCidr(body);
  if (cidr) return { kind: 'cidr', cidr, port, text };
  if (body.includes('/')) throw new Error(`embed allowlist entry "${text}": not a valid address range`);
  const wildcard = body.startsWith('*.');
  const host = (wildcard ? body.slice(2) : body).replace(/\.$/, '');
  if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(host)) {
    throw new Error(`embed allowlist entry "${text}": not a host name, address or range`);
  }
  return { kind: 'host', host, wildcard, port, text };
}

function parsePortRule(text: string, entry: string): PortRule {
  if (text === '*') return '*';
  if (/^[0-9]{1,5}$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 65535) return n;
  }
  throw new Error(`embed allowlist entry "${entry}": bad port "${text}"`);
}

export class TargetPolicy {
  readonly entries: readonly AllowEntry[];

  constructor(allow: readonly string[] = []) {
    this.entries = allow.map(parseAllowEntry);
  }

  /** A stable string that changes whenever what the policy allows changes (cache validity). */
  get fingerprint(): string {
    return JSON.stringify(this.entries.map((e) => e.text).sort());
  }

  check(target: Target): TargetDecision {
    const hostname = target.hostname.toLowerCase().replace(/\.$/, '');
    if (target.addresses.length === 0) {
      return { allowed: false, reason: 'address', addressClass: 'reserved', message: `${REFUSED_ADDRESS_MESSAGE} (the host has no address)` };
    }
    let portRefused = false;
    // Every address must pass: a host that resolves to one public and one private address could
    // otherwise be steered to the private one.
    for (const address of target.addresses) {
      const kind = classifyIp(address);
      const matching = this.entries.filter((e) => entryMatches(e, hostname, address));
      if (matching.some((e) => portAllowed(e.port, target.port))) continue;
      if (kind !== 'public') {
        return { allowed: false, reason: 'address', addressClass: kind, message: `${REFUSED_ADDRESS_MESSAGE} (${describeAddressClass(kind)})` };
      }
      if (!STANDARD_PORTS.has(target.port)) portRefused = true;
    }
    if (portRefused) return { allowed: false, reason: 'port', message: `embeds are only fetched from ports 80 and 443 (not ${target.port})` };
    return { allowed: true };
  }
}

function entryMatches(entry: AllowEntry, hostname: string, address: IpAddress): boolean {
  if (entry.kind === 'cidr') return cidrContains(entry.cidr, address);
  if (entry.wildcard) return hostname.endsWith(`.${entry.host}`);
  return hostname === entry.host;
}

function portAllowed(rule: PortRule, port: number): boolean {
  if (rule === '*') return true;
  if (rule === null) return STANDARD_PORTS.has(port);
  return rule === port;
}
