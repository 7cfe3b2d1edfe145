import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { cidrContains, classifyAddress, classifyIp, formatIp, parseCidr, parseIp, type AddressClass } from '../../src/embeds/address.js';

describe('parseIp reads every form a resolver or URL parser accepts', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0x7F.0.0.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0177.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['0x', '0.0.0.0'],
    ['3232235521', '192.168.0.1'],
    ['10.1', '10.0.0.1'],
    ['169.254.43518', '169.254.169.254'],
    ['4294967295', '255.255.255.255'],
    ['::1', '::1'],
    ['[::1]', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::', '::'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
    ['::ffff:7f00:1', '::ffff:7f00:1'],
    ['::FFFF:7F00:0001', '::ffff:7f00:1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2606:4700:4700::1111', '2606:4700:4700::1111'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1::', '1::'],
    ['64:ff9b::10.0.0.1', '64:ff9b::a00:1'],
  ])('%s → %s', (text, canonical) => {
    const ip = parseIp(text);
    expect(ip).not.toBeNull();
    expect(formatIp(ip!)).toBe(canonical);
  });

  it.each([
    '',
    '.',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.256.1.1',
    '1.2.65536',
    '4294967296',
    '0x100000000',
    '08.1.1.1',
    '09',
    '1..2.3',
    'localhost',
    'example.com',
    '1.2.3.a',
    '-1.2.3.4',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '0x7g.1',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '::1::',
    '12345::',
    'g::1',
    '::ffff:256.0.0.1',
    '::ffff:1.2.3',
    '::ffff:01.2.3.4',
    'fe80::1%',
    '[::1',
    ':1::',
    '1:2:3:4:5:6:7::8:9',
  ])('refuses %j', (text) => {
    expect(parseIp(text)).toBeNull();
  });

  it('formats like Node does for canonical IPv6 text', () => {
    for (const text of ['::1', 'fe80::', '2001:db8::1', '1:0:0:1::', '1::1:0:0:1', '0:1:0:1:0:1:0:1', 'ffff::']) {
      const formatted = formatIp(parseIp(text)!);
      expect(isIP(formatted)).toBe(6);
      expect(formatted).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
    }
  });
});

describe('classifyAddress', () => {
  const table: Array<[string, AddressClass]> = [
    // loopback, in every spelling
    ['127.0.0.1', 'loopback'],
    ['127.1', 'loopback'],
    ['0x7f.1', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['2130706433', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['[::ffff:127.0.0.1]', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['2002:7f00:1::', 'loopback'],
    // unspecified
    ['0.0.0.0', 'unspecified'],
    ['0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['::ffff:0.0.0.0', 'unspecified'],
    // private (RFC 1918)
    ['10.0.0.0', 'private'],
    ['10.255.255.255', 'private'],
    ['10.1', 'private'],
    ['167772161', 'private'],
    ['172.16.0.0', 'private'],
    ['172.20.1.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['192.168.255.255', 'private'],
    ['3232235521', 'private'],
    ['::ffff:192.168.1.1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['2002:c0a8:101::1', 'private'],
    ['64:ff9b:1::1', 'private'],
    // neighbours of the private ranges are public
    ['9.255.255.255', 'public'],
    ['11.0.0.0', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['192.167.255.255', 'public'],
    ['192.169.0.0', 'public'],
    // link-local, cloud metadata
    ['169.254.169.254', 'link_local'],
    ['169.254.0.1', 'link_local'],
    ['0xa9.0xfe.0xa9.0xfe', 'link_local'],
    ['2852039166', 'link_local'],
    ['::ffff:169.254.169.254', 'link_local'],
    ['fe80::', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['febf:ffff::1', 'link_local'],
    // carrier-grade NAT
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    // multicast, broadcast, reserved
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['ff02::1', 'multicast'],
    ['ff05::2', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['4294967295', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.88.99.1', 'reserved'],
    ['100::1', 'reserved'],
    ['2001::1', 'reserved'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'],
    ['5f00::1', 'reserved'],
    ['4000::1', 'reserved'],
    ['1::1', 'reserved'],
    ['::8.8.8.8', 'reserved'],
    // documentation, benchmarking
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.200', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    // IPv6 local
    ['fc00::1', 'unique_local'],
    ['fd12:3456:789a::1', 'unique_local'],
    ['fec0::1', 'site_local'],
    // public
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['93.184.216.34', 'public'],
    ['134744072', 'public'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['2002:808:808::1', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4001:80b::200e', 'public'],
    // not an address at all: never passed on
    ['localhost', 'reserved'],
    ['', 'reserved'],
    ['999.1.1.1', 'reserved'],
  ];

  it.each(table)('%s is %s', (text, kind) => {
    expect(classifyAddress(text)).toBe(kind);
  });

  it('agrees with the WHATWG URL parser: whatever host a URL normalizes to is classified the same', () => {
    for (const [text, kind] of table) {
      if (!text || text.includes('%') || kind === 'reserved') continue;
      const host = text.includes(':') && !text.startsWith('[') ? `[${text}]` : text;
      let hostname: string;
      try {
        hostname = new URL(`http://${host}/`).hostname;
      } catch {
        continue;
      }
      expect([text, classifyAddress(hostname)]).toEqual([text, kind]);
    }
  });

  it('judges every address of a /24 of each blocked IPv4 range', () => {
    for (const [prefix, kind] of [
      ['127.9.8', 'loopback'],
      ['10.200.3', 'private'],
      ['169.254.7', 'link_local'],
      ['100.100.1', 'cgnat'],
    ] as const) {
      for (let i = 0; i < 256; i++) expect(classifyIp(parseIp(`${prefix}.${i}`)!)).toBe(kind);
    }
  });
});

describe('CIDR ranges', () => {
  it('contains what it should', () => {
    const ten = parseCidr('10.0.0.0/8')!;
    expect(cidrContains(ten, parseIp('10.1.2.3')!)).toBe(true);
    expect(cidrContains(ten, parseIp('11.0.0.0')!)).toBe(false);
    expect(cidrContains(ten, parseIp('::ffff:10.9.9.9')!)).toBe(true);
    const twelve = parseCidr('172.16.0.0/12')!;
    expect(cidrContains(twelve, parseIp('172.31.255.255')!)).toBe(true);
    expect(cidrContains(twelve, parseIp('172.32.0.0')!)).toBe(false);
    const host = parseCidr('127.0.0.1')!;
    expect(host.prefix).toBe(32);
    expect(cidrContains(host, parseIp('127.0.0.1')!)).toBe(true);
    expect(cidrContains(host, parseIp('127.0.0.2')!)).toBe(false);
    const mapped = parseCidr('::ffff:127.0.0.0/104')!;
    expect(cidrContains(mapped, parseIp('127.3.3.3')!)).toBe(true);
    const ula = parseCidr('fd00::/8')!;
    expect(cidrContains(ula, parseIp('fd12::1')!)).toBe(true);
    expect(cidrContains(ula, parseIp('fc00::1')!)).toBe(false);
    expect(cidrContains(ula, parseIp('10.0.0.1')!)).toBe(false);
    expect(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('8.8.8.8')!)).toBe(true);
  });

  it.each(['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/-1', 'example.com/8', '10.0.0.0/8/8', '10.0.0.0/0x8'])('refuses %j', (text) => {
    expect(parseCidr(text)).toBeNull();
  });
});
