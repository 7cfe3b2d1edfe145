import { beforeAll, describe, expect, it } from 'vitest';
import { readInspircdTemplates, renderInspircdConfig, type InspircdConfigOptions, type InspircdTemplates } from '../inspircd/config.js';
import { compareConfigs, parseConfigTags, profileFromConfig, sameConfig } from './inspircd-profile.js';

let templates: InspircdTemplates;
beforeAll(async () => {
  templates = await readInspircdTemplates();
});

const stackOptions: InspircdConfigOptions = {
  server: { name: 'irc.alloquy.local', sid: '1AL', network: 'Alloquy' },
  ports: { irc: 16667, ircTls: 16697, ircWs: 18097, ircLink: 17000 },
  dataDir: '/home/a/inspircd',
  tls: { certPath: '/home/a/tls/cert.pem', keyPath: '/home/a/tls/key.pem' },
  motdPath: '/home/a/inspircd/inspircd.motd',
  logPath: '/home/a/logs/ircd.log',
  pidPath: '/home/a/inspircd/inspircd.pid',
  cloakKey: 'k'.repeat(40),
  services: { name: 'services.alloquy.local', password: 'secret-link-password-0123' },
  moduleDir: '/home/a/inspircd/modules',
  extraModules: ['alloquy_fastconnect'],
  limits: { commandsPerSecond: 12.5, floodThreshold: 80, fakelag: false, maxChannelsPerUser: 300, historyLines: 20, historyPeriod: '2d' },
};

/** What startInspircd renders for the bench's bare server: other ports, paths and key, no link. */
function bareOptions(overrides: Partial<InspircdConfigOptions>): InspircdConfigOptions {
  return {
    ...stackOptions,
    ports: { irc: 26667, ircTls: 26697, ircWs: 28097, ircLink: 27000 },
    dataDir: '/tmp/bare',
    tls: { certPath: '/tmp/bare/tls/cert.pem', keyPath: '/tmp/bare/tls/key.pem' },
    motdPath: '/tmp/bare/inspircd.motd',
    logPath: '/tmp/bare/ircd.log',
    pidPath: '/tmp/bare/inspircd.pid',
    cloakKey: 'z'.repeat(40),
    services: null,
    ...overrides,
  };
}

describe('profileFromConfig', () => {
  it('reads back the options up rendered', async () => {
    const profile = await profileFromConfig(renderInspircdConfig(templates.config, stackOptions), templates);
    expect(profile.moduleDir).toBe('/home/a/inspircd/modules');
    expect(profile.extraModules).toEqual(['alloquy_fastconnect']);
    expect(profile.limits).toMatchObject(stackOptions.limits!);
    expect(profile.flood).toEqual({ commandsPerSecond: 12.5, threshold: 80, fakelag: false });
  });

  it('reads a default config as no module folder and no extra modules', async () => {
    const profile = await profileFromConfig(
      renderInspircdConfig(templates.config, bareOptions({ moduleDir: undefined, extraModules: undefined, limits: undefined })),
      templates,
    );
    expect(profile.moduleDir).toBeUndefined();
    expect(profile.extraModules).toEqual([]);
    expect(profile.flood).toEqual({ commandsPerSecond: 10, threshold: 100, fakelag: true });
  });
});

describe('compareConfigs', () => {
  it('finds a bare config built from the profile identical apart from the link', async () => {
    const stack = renderInspircdConfig(templates.config, stackOptions);
    const profile = await profileFromConfig(stack, templates);
    const bare = renderInspircdConfig(
      templates.config,
      bareOptions({ moduleDir: profile.moduleDir, extraModules: profile.extraModules, limits: profile.limits }),
    );
    const result = compareConfigs(bare, stack);
    expect(result).toMatchObject({ identical: true, bareOnly: [], stackOnly: [], orderDiffers: false });
    expect(result.linkOnly.map((line) => line.split(' ')[0])).toEqual(['<bind', '<link', '<uline', '<module', '<sasl']);
    // The link password never reaches the report.
    expect(result.linkOnly.join('\n')).not.toContain('secret-link-password');
  });

  it('notices a missing module, another module folder or other limits', () => {
    const stack = renderInspircdConfig(templates.config, stackOptions);
    const withoutModule = compareConfigs(renderInspircdConfig(templates.config, bareOptions({ extraModules: [] })), stack);
    expect(withoutModule.identical).toBe(false);
    expect(withoutModule.stackOnly).toEqual(['<module name="alloquy_fastconnect">']);

    const otherDir = compareConfigs(renderInspircdConfig(templates.config, bareOptions({ moduleDir: '/elsewhere' })), stack);
    expect(otherDir.identical).toBe(false);

    const otherLimits = compareConfigs(renderInspircdConfig(templates.config, bareOptions({ limits: { ...stackOptions.limits, floodThreshold: 81 } })), stack);
    expect(otherLimits.identical).toBe(false);
  });

  it('does not accept link tags in the bare config', () => {
    const stack = renderInspircdConfig(templates.config, stackOptions);
    expect(compareConfigs(stack, stack).identical).toBe(false);
  });

  it('sameConfig ignores only ports, paths and secrets', () => {
    const a = renderInspircdConfig(templates.config, stackOptions);
    const b = renderInspircdConfig(templates.config, { ...stackOptions, ports: { irc: 1, ircTls: 2, ircWs: 3, ircLink: 4 }, cloakKey: 'q'.repeat(40) });
    expect(sameConfig(a, b)).toBe(true);
    expect(sameConfig(a, renderInspircdConfig(templates.config, { ...stackOptions, extraModules: [] }))).toBe(false);
  });

  it('parses tags spanning several lines and decodes entities', () => {
    expect(parseConfigTags('# <comment x="1">\n<a b="1"\n   c="&quot;x&amp;y&quot;">')).toEqual([
      {
        name: 'a',
        attrs: [
          ['b', '1'],
          ['c', '"x&y"'],
        ],
      },
    ]);
  });
});
