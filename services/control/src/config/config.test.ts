import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@alloquy/service-kit/config';
import { loadConfig } from './config.js';

const homes: string[] = [];
const tmp = () => {
  const home = mkdtempSync(join(tmpdir(), 'alloquy-config-'));
  homes.push(home);
  return home;
};
afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('puts everything under ALLOQUY_HOME by default', () => {
    const home = tmp();
    const c = loadConfig({ ALLOQUY_HOME: home });
    expect(c.home).toBe(home);
    expect(c.http.port).toBe(8080);
    expect(c.irc.linkPort).toBe(7000);
    expect(c.database.path).toBe(join(home, 'control.sqlite'));
    expect(c.registration).toBe('open');
  });

  it('merges a JSON file under the environment', () => {
    const home = tmp();
    writeFileSync(join(home, 'control.json'), JSON.stringify({ http: { port: 9000 }, registration: 'invite', irc: { network: 'Net' } }));
    const c = loadConfig({ ALLOQUY_HOME: home, ALLOQUY_HTTP_PORT: '9100' });
    expect(c.http.port).toBe(9100);
    expect(c.http.host).toBe('0.0.0.0');
    expect(c.registration).toBe('invite');
    expect(c.irc.network).toBe('Net');
    expect(c.irc.servicesName).toBe('services.alloquy.local');
  });

  it('names the bad setting', () => {
    const home = tmp();
    expect(() => loadConfig({ ALLOQUY_HOME: home, ALLOQUY_HTTP_PORT: 'eighty' })).toThrow(/http\.port/);
    expect(() => loadConfig({ ALLOQUY_HOME: home, ALLOQUY_HTTP_PORT: '70000' })).toThrow(ConfigError);
    expect(() => loadConfig({ ALLOQUY_HOME: home, ALLOQUY_REGISTRATION: 'sometimes' })).toThrow(/registration/);
    expect(() => loadConfig({ ALLOQUY_HOME: home, ALLOQUY_IRC_SERVICES_SID: 'ABC' })).toThrow(/SID/);
    expect(() => loadConfig({ ALLOQUY_HOME: home, ALLOQUY_IRC_LINK: 'maybe' })).toThrow(/ALLOQUY_IRC_LINK/);
  });

  it('configures the Murmur relay: on by default, Ice on loopback, moved and switched off by env', () => {
    const home = tmp();
    const c = loadConfig({ ALLOQUY_HOME: home });
    expect(c.murmur).toEqual({
      enabled: true,
      iceHost: '127.0.0.1',
      icePort: 6502,
      iceSecretPath: join(home, 'secrets', 'murmur-ice.key'),
      serverId: 1,
      pollIntervalMs: 1000,
    });
    const moved = loadConfig({
      ALLOQUY_HOME: home,
      ALLOQUY_MURMUR: 'false',
      ALLOQUY_MUMBLE_ICE_PORT: '16502',
      ALLOQUY_MURMUR_ICE_SECRET_PATH: '/run/ice.key',
      ALLOQUY_MURMUR_SERVER_ID: '2',
    });
    expect(moved.murmur).toMatchObject({ enabled: false, icePort: 16502, iceSecretPath: '/run/ice.key', serverId: 2 });
    expect(() => loadConfig({ ALLOQUY_HOME: home, ALLOQUY_MURMUR: 'perhaps' })).toThrow(/ALLOQUY_MURMUR must be true or false/);
  });

  it('refuses a broken config file instead of ignoring it', () => {
    const home = tmp();
    writeFileSync(join(home, 'control.json'), '{ not json');
    expect(() => loadConfig({ ALLOQUY_HOME: home })).toThrow(/not valid JSON/);
    writeFileSync(join(home, 'control.json'), '[1,2]');
    expect(() => loadConfig({ ALLOQUY_HOME: home })).toThrow(/JSON object/);
    expect(() => loadConfig({ ALLOQUY_HOME: home, ALLOQUY_CONTROL_CONFIG: join(home, 'nope.json') })).toThrow(/does not exist/);
  });
});
