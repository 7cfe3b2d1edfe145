import { describe, expect, it } from 'vitest';
import { parseIp } from '../../src/embeds/address.js';
import { parseAllowEntry, REFUSED_ADDRESS_MESSAGE, TargetPolicy } from '../../src/embeds/policy.js';

const ips = (...texts: string[]) => texts.map((t) => parseIp(t)!);

describe('allowlist entries', () => {
  it.each([
    ['intranet.example', { kind: 'host', host: 'intranet.example', wildcard: false, port: null }],
    ['*.Intranet.Example.', { kind: 'host', host: 'intranet.example', wildcard: true, port: null }],
    ['wiki.lan:8443', { kind: 'host', host: 'wiki.lan', port: 8443 }],
    ['localhost:*', { kind: 'host', host: 'localhost', port: '*' }],
    ['127.0.0.1:8080', { kind: 'cidr', port: 8080 }],
    ['10.0.0.0/8', { kind: 'cidr', port: null }],
    ['10.0.0.0/8:*', { kind: 'cidr', port: '*' }],
    ['fd00::/8', { kind: 'cidr', port: null }],
    ['[fd00::/8]:8080', { kind: 'cidr', port: 8080 }],
    ['[::1]:3000', { kind: 'cidr', port: 3000 }],
    ['::1', { kind: 'cidr', port: null }],
  ])('%s', (text, expected) => {
    expect(parseAllowEntry(text)).toMatchObject(expected);
  });

  it.each(['', 'bad host!', 'host:0', 'host:65536', 'host:http', '10.0.0.0/40', '[::1', '[::1]8080', 'a/b', '-bad.example'])(
    'refuses %j with the entry named',
    (text) => {
      expect(() => parseAllowEntry(text)).toThrow(/embed allowlist entry/);
    },
  );

  it('a policy with a bad entry cannot be built', () => {
    expect(() => new TargetPolicy(['127.0.0.1:80', 'nope nope'])).toThrow(/"nope nope"/);
  });
});

describe('TargetPolicy.check', () => {
  const none = new TargetPolicy();

  it('allows public addresses on 80 and 443 only', () => {
    expect(none.check({ hostname: 'example.com', port: 443, addresses: ips('93.184.216.34') })).toEqual({ allowed: true });
    expect(none.check({ hostname: 'example.com', port: 80, addresses: ips('2606:2800:220:1::248') })).toEqual({ allowed: true });
    expect(none.check({ hostname: 'example.com', port: 8080, addresses: ips('93.184.216.34') })).toMatchObject({ allowed: false, reason: 'port' });
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.0.0.5', 'private'],
    ['169.254.169.254', 'link_local'],
    ['100.64.0.1', 'cgnat'],
    ['fd00::1', 'unique_local'],
    ['0.0.0.0', 'unspecified'],
  ])('refuses %s (%s) by default with a clear message', (address, kind) => {
    const decision = none.check({ hostname: 'news.example.com', port: 80, addresses: ips(address) });
    expect(decision).toMatchObject({ allowed: false, reason: 'address', addressClass: kind });
    expect(decision.allowed === false && decision.message).toContain(REFUSED_ADDRESS_MESSAGE);
  });

  it('refuses a host when any one of its addresses is not public', () => {
    expect(none.check({ hostname: 'mixed.example', port: 443, addresses: ips('93.184.216.34', '10.0.0.1') })).toMatchObject({
      allowed: false,
      addressClass: 'private',
    });
    expect(none.check({ hostname: 'mixed.example', port: 443, addresses: ips('10.0.0.1', '93.184.216.34') })).toMatchObject({ allowed: false });
    expect(none.check({ hostname: 'nothing.example', port: 443, addresses: [] })).toMatchObject({ allowed: false });
  });

  it('an address entry with a port opens exactly that address and port', () => {
    const policy = new TargetPolicy(['127.0.0.1:4000']);
    expect(policy.check({ hostname: '127.0.0.1', port: 4000, addresses: ips('127.0.0.1') })).toEqual({ allowed: true });
    expect(policy.check({ hostname: 'localhost', port: 4000, addresses: ips('127.0.0.1') })).toEqual({ allowed: true });
    expect(policy.check({ hostname: '127.0.0.1', port: 4000, addresses: ips('::ffff:127.0.0.1') })).toEqual({ allowed: true });
    expect(policy.check({ hostname: '127.0.0.1', port: 4001, addresses: ips('127.0.0.1') })).toMatchObject({ allowed: false, reason: 'address' });
    expect(policy.check({ hostname: '127.0.0.2', port: 4000, addresses: ips('127.0.0.2') })).toMatchObject({ allowed: false, reason: 'address' });
    expect(policy.check({ hostname: 'localhost', port: 4000, addresses: ips('127.0.0.1', '::1') })).toMatchObject({ allowed: false, addressClass: 'loopback' });
  });

  it('an entry without a port opens 80 and 443 only; "*" opens every port', () => {
    const policy = new TargetPolicy(['10.0.0.0/8', '192.168.1.0/24:*']);
    expect(policy.check({ hostname: 'a', port: 80, addresses: ips('10.1.1.1') })).toEqual({ allowed: true });
    expect(policy.check({ hostname: 'a', port: 8080, addresses: ips('10.1.1.1') })).toMatchObject({ allowed: false });
    expect(policy.check({ hostname: 'a', port: 8080, addresses: ips('192.168.1.9') })).toEqual({ allowed: true });
    expect(policy.check({ hostname: 'a', port: 8080, addresses: ips('192.168.2.9') })).toMatchObject({ allowed: false });
  });

  it('a host entry opens that name whatever it resolves to, and only that name', () => {
    const policy = new TargetPolicy(['wiki.lan', '*.corp.example:8443']);
    expect(policy.check({ hostname: 'WIKI.LAN.', port: 443, addresses: ips('10.0.0.7') })).toEqual({ allowed: true });
    expect(policy.check({ hostname: 'evil.wiki.lan', port: 443, addresses: ips('10.0.0.7') })).toMatchObject({ allowed: false });
    expect(policy.check({ hostname: 'git.corp.example', port: 8443, addresses: ips('10.0.0.8') })).toEqual({ allowed: true });
    expect(policy.check({ hostname: 'corp.example', port: 8443, addresses: ips('10.0.0.8') })).toMatchObject({ allowed: false });
    expect(policy.check({ hostname: 'git.corp.example', port: 443, addresses: ips('10.0.0.8') })).toMatchObject({ allowed: false });
  });

  it('a port entry also opens a non-standard port of a public host', () => {
    const policy = new TargetPolicy(['media.example:8080']);
    expect(policy.check({ hostname: 'media.example', port: 8080, addresses: ips('93.184.216.34') })).toEqual({ allowed: true });
    expect(policy.check({ hostname: 'other.example', port: 8080, addresses: ips('93.184.216.34') })).toMatchObject({ allowed: false, reason: 'port' });
  });

  it('fingerprints change with the allowlist, not its order', () => {
    expect(new TargetPolicy(['a', 'b']).fingerprint).toBe(new TargetPolicy(['b', 'a']).fingerprint);
    expect(new TargetPolicy(['a']).fingerprint).not.toBe(new TargetPolicy([]).fingerprint);
  });
});
