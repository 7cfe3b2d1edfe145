import { beforeAll, describe, expect, it } from 'vitest';
import { readCoturnTemplate, renderCoturnConfig, type CoturnConfigOptions } from './config.js';

let template: string;
beforeAll(async () => {
  template = await readCoturnTemplate();
});

const options: CoturnConfigOptions = {
  listenIp: '127.0.0.1',
  externalIp: null,
  port: 3478,
  relayMin: 49152,
  relayMax: 49999,
  secret: 'turn0123456789abcdef',
  realm: 'alloquy',
  allowLoopbackPeers: false,
  allowPrivatePeers: false,
  userdbPath: '/data/coturn/turndb',
  pidPath: '/data/coturn/turnserver.pid',
};

/** The options coturn reads: every non-comment line as [key, value] ('' for flags). */
function entries(conf: string): [string, string][] {
  return conf
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const index = line.indexOf('=');
      return index < 0 ? [line, ''] : [line.slice(0, index), line.slice(index + 1)];
    });
}
const single = (conf: string, key: string): string | undefined => entries(conf).find(([name]) => name === key)?.[1];
const keys = (conf: string): string[] => entries(conf).map(([key]) => key);

describe('renderCoturnConfig', () => {
  it('uses TURN REST API auth with the secret and realm, on loopback, without TLS or the CLI', () => {
    const conf = renderCoturnConfig(template, options);
    expect(conf).not.toMatch(/\{\{/);
    expect(single(conf, 'listening-ip')).toBe('127.0.0.1');
    expect(single(conf, 'relay-ip')).toBe('127.0.0.1');
    expect(single(conf, 'listening-port')).toBe('3478');
    expect(single(conf, 'min-port')).toBe('49152');
    expect(single(conf, 'max-port')).toBe('49999');
    expect(single(conf, 'static-auth-secret')).toBe('turn0123456789abcdef');
    expect(single(conf, 'realm')).toBe('alloquy');
    expect(single(conf, 'log-file')).toBe('stdout');
    expect(keys(conf)).toEqual(expect.arrayContaining(['use-auth-secret', 'no-tls', 'no-dtls', 'no-cli', 'fingerprint', 'no-multicast-peers']));
    expect(keys(conf)).not.toContain('external-ip');
    expect(keys(conf)).not.toContain('allow-loopback-peers');
  });

  it('denies private peers unless configured, and allows loopback peers only when asked', () => {
    const production = renderCoturnConfig(template, options);
    const denied = entries(production)
      .filter(([key]) => key === 'denied-peer-ip')
      .map(([, value]) => value);
    expect(denied).toEqual(expect.arrayContaining(['10.0.0.0-10.255.255.255', '172.16.0.0-172.31.255.255', '192.168.0.0-192.168.255.255']));
    const open = renderCoturnConfig(template, { ...options, allowPrivatePeers: true, allowLoopbackPeers: true });
    expect(keys(open)).not.toContain('denied-peer-ip');
    expect(keys(open)).toContain('allow-loopback-peers');
  });

  it('listens on a public address and announces an external one behind NAT', () => {
    const conf = renderCoturnConfig(template, { ...options, listenIp: '10.1.2.3', externalIp: '203.0.113.7' });
    expect(single(conf, 'listening-ip')).toBe('10.1.2.3');
    expect(single(conf, 'relay-ip')).toBe('10.1.2.3');
    expect(single(conf, 'external-ip')).toBe('203.0.113.7');
  });

  it('lists every problem with bad settings', () => {
    expect(() =>
      renderCoturnConfig(template, {
        ...options,
        listenIp: 'turn.example.org',
        externalIp: 'nat',
        port: 49160,
        secret: '',
        realm: 'two words',
      }),
    ).toThrow(/must be an IP address[\s\S]*external address "nat" must be an IP address[\s\S]*inside the relay range|inside the relay range[\s\S]*IP address/);
    expect(() => renderCoturnConfig(template, { ...options, relayMin: 50000, relayMax: 40000 })).toThrow(/starts \(50000\) after it ends \(40000\)/);
    expect(() => renderCoturnConfig(template, { ...options, secret: '' })).toThrow(/shared secret/);
    expect(() => renderCoturnConfig(template, { ...options, realm: 'two words' })).toThrow(/realm/);
    expect(() => renderCoturnConfig(template, { ...options, userdbPath: '/data/a\nno-auth' })).toThrow(/control character/);
  });

  it('names every problem at once, in one error', () => {
    let message = '';
    try {
      renderCoturnConfig(template, { ...options, listenIp: 'turn.example.org', externalIp: 'nat', port: 49160, secret: '', realm: 'two words' });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const problem of [
      'the TURN port 49160 lies inside the relay range 49152-49999',
      'the TURN listening address "turn.example.org" must be an IP address',
      'the TURN external address "nat" must be an IP address',
      'the TURN shared secret must be one word',
      'the TURN realm "two words" must be one word',
    ]) {
      expect(message).toContain(problem);
    }
  });

  it("refuses a value with '#', which coturn would read as the start of a comment", () => {
    expect(() => renderCoturnConfig(template, { ...options, pidPath: '/data/#coturn/turnserver.pid' })).toThrow(/pidPath contains a control character or '#'/);
  });
});
