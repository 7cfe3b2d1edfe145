/**
 * IP address parsing and classification for the embed fetcher's SSRF guard. Pure: no DNS, no
 * sockets. Written by hand because the guard must agree byte for byte with what a socket would
 * connect to: every textual form a resolver or URL parser may accept (`127.1`, `0x7f.1`,
 * `2130706433`, `0177.0.0.1`, `[::ffff:127.0.0.1]`, `::ffff:7f00:1`, zone ids) parses to the
 * same bytes, and addresses that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are
 * judged by the address they embed.
 */

export interface IpAddress {
  family: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
}

/**
 * What kind of network an address belongs to. Only `public` may be fetched without an
 * allowlist entry.
 */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link_local'
  | 'cgnat'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'unique_local'
  | 'site_local'
  | 'reserved';

export interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
}

/** Parses an IPv4 or IPv6 address in any form a resolver or URL parser accepts; null if it is not one. */
export function parseIp(text: string): IpAddress | null {
  let s = text;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (s.includes(':')) {
    const bytes = parseIpv6(s);
    return bytes ? { family: 6, bytes } : null;
  }
  const bytes = parseIpv4(s);
  return bytes ? { family: 4, bytes } : null;
}

/**
 * IPv4 the way inet_aton and the WHATWG URL parser read it: one to four parts, each decimal,
 * octal (leading 0) or hex (0x); the last part fills the remaining bytes. One trailing dot is
 * allowed.
 */
function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0 || parts.length > 4) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    const n = parseIpv4Number(part);
    if (n === null) return null;
    numbers.push(n);
  }
  const last = numbers.pop()!;
  if (numbers.some((n) => n > 255)) return null;
  if (last >= 256 ** (4 - numbers.length)) return null;
  let value = last;
  numbers.forEach((n, i) => {
    value += n * 256 ** (3 - i);
  });
  return new Uint8Array([(value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
}

function parseIpv4Number(part: string): number | null {
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(part)) {
    digits = part.slice(2);
    radix = 16;
    if (digits === '') return 0;
    if (!/^[0-9a-f]+$/i.test(digits)) return null;
  } else if (part.length > 1 && part.startsWith('0')) {
    digits = part.slice(1);
    radix = 8;
    if (!/^[0-7]+$/.test(digits)) return null;
  } else if (!/^[0-9]+$/.test(part)) {
    return null;
  }
  // Anything longer cannot be below 2^32 (leading zeros aside, which no real host uses).
  if (digits.length > 32) return null;
  const n = parseInt(digits, radix);
  return Number.isSafeInteger(n) && n <= 0xffffffff ? n : null;
}

/** Strict dotted quad, as allowed at the end of an IPv6 address. */
function parseDottedQuad(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    bytes[i] = n;
  }
  return bytes;
}

function parseIpv6(text: string): Uint8Array | null {
  let s = text;
  // A zone id (`fe80::1%eth0`) picks an interface; it does not change what kind of address it is.
  const zone = s.indexOf('%');
  if (zone >= 0) {
    if (zone === s.length - 1) return null;
    s = s.slice(0, zone);
  }
  let embedded: Uint8Array | null = null;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    embedded = parseDottedQuad(tail);
    if (!embedded) return null;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const double = s.indexOf('::');
  if (double !== s.lastIndexOf('::')) return null;
  let head: string[];
  let rest: string[];
  if (double >= 0) {
    const left = s.slice(0, double);
    const right = s.slice(double + 2);
    head = left === '' ? [] : left.split(':');
    rest = right === '' ? [] : right.split(':');
    if (head.length + rest.length > 7) return null;
  } else {
    head = s.split(':');
    rest = [];
    if (head.length !== 8) return null;
  }
  const groups = [...head, ...new Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const group = groups[i]!;
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
    const n = parseInt(group, 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 255;
  }
  if (embedded) bytes.set(embedded, 12);
  return bytes;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run compressed). */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return Array.from(ip.bytes).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((ip.bytes[i * 2]! << 8) | ip.bytes[i * 2 + 1]!);
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLength).join(':');
  return `${left}::${right}`;
}

/** `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128). Null if malformed. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return null;
  const max = ip.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  return { family: ip.family, bytes: ip.bytes, prefix };
}

/**
 * Is `ip` inside `cidr`? An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address it
 * maps, so an allowlist entry written either way covers both.
 */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  const a = unmapIpv4(ip);
  const c = cidr.family === 6 && cidr.prefix >= 96 ? unmapCidr(cidr) : cidr;
  if (a.family !== c.family) return false;
  return prefixMatches(a.bytes, c.bytes, c.prefix);
}

function unmapCidr(cidr: Cidr): Cidr {
  const v4 = mappedIpv4(cidr.bytes);
  return v4 ? { family: 4, bytes: v4, prefix: cidr.prefix - 96 } : cidr;
}

/** The IPv4 address an IPv4-mapped IPv6 address stands for; other addresses unchanged. */
export function unmapIpv4(ip: IpAddress): IpAddress {
  if (ip.family === 4) return ip;
  const v4 = mappedIpv4(ip.bytes);
  return v4 ? { family: 4, bytes: v4 } : ip;
}

function mappedIpv4(bytes: Uint8Array): Uint8Array | null {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return null;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return null;
  return bytes.slice(12, 16);
}

function prefixMatches(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  const whole = prefix >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const bits = prefix & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (a[whole]! & mask) === (b[whole]! & mask);
}

function range(text: string): Cidr {
  const cidr = parseCidr(text);
  if (!cidr) throw new Error(`bad built-in range ${text}`);
  return cidr;
}

/** Most specific first: the first match decides. */
const IPV4_RANGES: ReadonlyArray<readonly [Cidr, AddressClass]> = [
  [range('255.255.255.255/32'), 'broadcast'],
  [range('0.0.0.0/8'), 'unspecified'],
  [range('10.0.0.0/8'), 'private'],
  [range('100.64.0.0/10'), 'cgnat'],
  [range('127.0.0.0/8'), 'loopback'],
  [range('169.254.0.0/16'), 'link_local'],
  [range('172.16.0.0/12'), 'private'],
  [range('192.0.0.0/24'), 'reserved'],
  [range('192.0.2.0/24'), 'documentation'],
  [range('192.88.99.0/24'), 'reserved'],
  [range('192.168.0.0/16'), 'private'],
  [range('198.18.0.0/15'), 'benchmarking'],
  [range('198.51.100.0/24'), 'documentation'],
  [range('203.0.113.0/24'), 'documentation'],
  [range('224.0.0.0/4'), 'multicast'],
  [range('240.0.0.0/4'), 'reserved'],
];

const IPV6_RANGES: ReadonlyArray<readonly [Cidr, AddressClass]> = [
  [range('::/128'), 'unspecified'],
  [range('::1/128'), 'loopback'],
  [range('64:ff9b:1::/48'), 'private'],
  [range('100::/64'), 'reserved'],
  // IETF protocol assignments, Teredo (2001::/32) and ORCHID included: nothing a web page lives on.
  [range('2001:db8::/32'), 'documentation'],
  [range('2001::/23'), 'reserved'],
  [range('3fff::/20'), 'documentation'],
  [range('5f00::/16'), 'reserved'],
  [range('fc00::/7'), 'unique_local'],
  [range('fe80::/10'), 'link_local'],
  [range('fec0::/10'), 'site_local'],
  [range('ff00::/8'), 'multicast'],
];

const IPV4_MAPPED = range('::ffff:0:0/96');
const IPV4_TRANSLATED = range('::ffff:0:0:0/96');
const IPV4_COMPATIBLE = range('::/96');
const NAT64 = range('64:ff9b::/96');
const SIX_TO_FOUR = range('2002::/16');
const GLOBAL_UNICAST = range('2000::/3');

/** The network kind of an address; an address that embeds an IPv4 address is judged by it. */
export function classifyIp(ip: IpAddress): AddressClass {
  if (ip.family === 4) return classifyIpv4(ip.bytes);
  const b = ip.bytes;
  // Sockets reach the embedded IPv4 address for mapped (and, on some stacks, translated) forms.
  if (prefixMatches(b, IPV4_MAPPED.bytes, 96) || prefixMatches(b, IPV4_TRANSLATED.bytes, 96)) return classifyIpv4(b.slice(12));
  for (const [cidr, kind] of IPV6_RANGES) if (prefixMatches(b, cidr.bytes, cidr.prefix)) return kind;
  // Deprecated IPv4-compatible form: unroutable, and some stacks hand it to the IPv4 address.
  if (prefixMatches(b, IPV4_COMPATIBLE.bytes, 96)) return worst(classifyIpv4(b.slice(12)), 'reserved');
  // NAT64 gateways and 6to4 relays forward to the IPv4 address they embed.
  if (prefixMatches(b, NAT64.bytes, 96)) return classifyIpv4(b.slice(12));
  if (prefixMatches(b, SIX_TO_FOUR.bytes, 16)) return classifyIpv4(b.slice(2, 6));
  if (!prefixMatches(b, GLOBAL_UNICAST.bytes, 3)) return 'reserved';
  return 'public';
}

function classifyIpv4(bytes: Uint8Array): AddressClass {
  for (const [cidr, kind] of IPV4_RANGES) if (prefixMatches(bytes, cidr.bytes, cidr.prefix)) return kind;
  return 'public';
}

function worst(embedded: AddressClass, otherwise: AddressClass): AddressClass {
  return embedded === 'public' ? otherwise : embedded;
}

/** Classifies a textual address; anything that does not parse as an address is `reserved`. */
export function classifyAddress(text: string): AddressClass {
  const ip = parseIp(text);
  return ip ? classifyIp(ip) : 'reserved';
}

const CLASS_DESCRIPTIONS: Record<AddressClass, string> = {
  public: 'a public address',
  unspecified: 'an unspecified address',
  loopback: 'a loopback address',
  private: 'a private address',
  link_local: 'a link-local address',
  cgnat: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  broadcast: 'a broadcast address',
  documentation: 'a documentation address',
  benchmarking: 'a benchmarking address',
  unique_local: 'a unique-local address',
  site_local: 'a site-local address',
  reserved: 'a reserved address',
};

export function describeAddressClass(kind: AddressClass): string {
  return CLASS_DESCRIPTIONS[kind];
}
