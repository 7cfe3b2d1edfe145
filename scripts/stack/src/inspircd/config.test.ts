import { beforeAll, describe, expect, it } from 'vitest';
import {
  escapeConfigValue,
  readInspircdTemplates,
  renderInspircdConfig,
  renderInspircdMotd,
  type InspircdConfigOptions,
  type InspircdTemplates,
} from './config.js';

let templates: InspircdTemplates;
beforeAll(async () => {
  templates = await readInspircdTemplates();
});

const bare: InspircdConfigOptions = {
  server: { name: 'irc.example.test', sid: '1AL', network: 'Example' },
  ports: { irc: 16667, ircTls: 16697, ircWs: 18097, ircLink: 17000 },
  dataDir: '/data/inspircd',
  tls: { certPath: '/data/tls/cert.pem', keyPath: '/data/tls/key.pem' },
  motdPath: '/data/inspircd/inspircd.motd',
  logPath: '/data/logs/ircd.log',
  pidPath: '/data/inspircd/inspircd.pid',
  cloakKey: 'k'.repeat(40),
  services: null,
};

const linked: InspircdConfigOptions = {
  ...bare,
  services: { name: 'services.example.test', password: 'linkpass0123456789' },
};

/** The attributes of every `<tag ...>` with the given name, in order. */
function tags(config: string, name: string): Record<string, string>[] {
  const withoutComments = config
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
  return [...withoutComments.matchAll(new RegExp(`<${name}\\b([^>]*)>`, 'g'))].map((match) =>
    Object.fromEntries([...match[1]!.matchAll(/([a-z]+)="([^"]*)"/g)].map((attr) => [attr[1]!, attr[2]!])),
  );
}

function modules(config: string): string[] {
  return tags(config, 'module').map((tag) => tag.name!);
}

describe('renderInspircdConfig', () => {
  it('substitutes every placeholder', () => {
    for (const options of [bare, linked]) {
      const config = renderInspircdConfig(templates.config, options);
      expect(config).not.toMatch(/\{\{|\}\}/);
    }
  });

  it('puts the ports on the documented interfaces', () => {
    const binds = tags(renderInspircdConfig(templates.config, linked), 'bind');
    expect(binds).toEqual([
      { address: '', port: '16697', type: 'clients', sslprofile: 'Clients' },
      { address: '127.0.0.1', port: '16667', type: 'clients' },
      { address: '', port: '18097', type: 'clients', hook: 'websocket' },
      { address: '127.0.0.1', port: '17000', type: 'servers' },
    ]);
  });

  it('names the server and uses the stack certificate', () => {
    const config = renderInspircdConfig(templates.config, bare);
    expect(tags(config, 'server')).toEqual([{ name: 'irc.example.test', description: 'Example IRC', network: 'Example', id: '1AL' }]);
    expect(tags(config, 'sslprofile')[0]).toMatchObject({
      provider: 'gnutls',
      certfile: '/data/tls/cert.pem',
      keyfile: '/data/tls/key.pem',
    });
    expect(tags(config, 'pid')).toEqual([{ file: '/data/inspircd/inspircd.pid' }]);
    expect(tags(config, 'files')).toEqual([{ motd: '/data/inspircd/inspircd.motd' }]);
    expect(tags(config, 'log')[0]).toMatchObject({ method: 'file', target: '/data/logs/ircd.log' });
  });

  it('never loads STS (the certificate is self-signed)', () => {
    for (const options of [bare, linked]) {
      const config = renderInspircdConfig(templates.config, options);
      expect(modules(config)).not.toContain('ircv3_sts');
      expect(tags(config, 'sts')).toEqual([]);
    }
  });

  it('loads the IRCv3 modules clients rely on', () => {
    const loaded = modules(renderInspircdConfig(templates.config, linked));
    for (const module of [
      'cap',
      'ircv3',
      'ircv3_accounttag',
      'ircv3_batch',
      'ircv3_capnotify',
      'ircv3_chghost',
      'ircv3_ctctags',
      'ircv3_echomessage',
      'ircv3_invitenotify',
      'ircv3_labeledresponse',
      'ircv3_msgid',
      'ircv3_servertime',
      'sasl',
      'services_account',
      'monitor',
      'setname',
      'chanhistory',
      'spanningtree',
      'ssl_gnutls',
      'websocket',
      'sha1',
    ]) {
      expect(loaded).toContain(module);
    }
    expect(new Set(loaded).size).toBe(loaded.length);
  });

  it('turns hostname lookups off and gives loopback generous limits in every class', () => {
    const classes = tags(renderInspircdConfig(templates.config, bare), 'connect');
    expect(classes.map((c) => c.allow)).toEqual(['127.0.0.0/8', '::1/128', '*']);
    for (const connectClass of classes) expect(connectClass.resolvehostnames).toBe('no');
    expect(Number(classes[0]!.localmax)).toBeGreaterThanOrEqual(1000);
    expect(Number(classes[0]!.globalmax)).toBeGreaterThanOrEqual(1000);
    expect(Number(classes[2]!.localmax)).toBe(50);
  });

  it('switches fakelag and the command rate through limits', () => {
    const classes = tags(renderInspircdConfig(templates.config, { ...bare, limits: { fakelag: false, commandsPerSecond: 2.5, floodThreshold: 7 } }), 'connect');
    for (const connectClass of classes) {
      expect(connectClass).toMatchObject({ fakelag: 'no', commandrate: '2500', threshold: '7' });
    }
    expect(tags(renderInspircdConfig(templates.config, bare), 'connect')[0]).toMatchObject({ fakelag: 'yes' });
  });

  it('has no services link when bare', () => {
    const config = renderInspircdConfig(templates.config, bare);
    expect(tags(config, 'link')).toEqual([]);
    expect(tags(config, 'uline')).toEqual([]);
    expect(tags(config, 'sasl')).toEqual([]);
    expect(modules(config)).not.toContain('sasl');
    expect(tags(config, 'bind').filter((bind) => bind.type === 'servers')).toEqual([]);
    expect(config).not.toContain('services.example.test');
  });

  it('accepts the control server as a U-lined services server when linked', () => {
    const config = renderInspircdConfig(templates.config, linked);
    expect(tags(config, 'link')).toEqual([
      {
        name: 'services.example.test',
        ipaddr: '127.0.0.1',
        port: '17000',
        allowmask: '127.0.0.0/8 ::1/128',
        timeout: '30',
        statshidden: 'yes',
        hidden: 'no',
        sendpass: 'linkpass0123456789',
        recvpass: 'linkpass0123456789',
      },
    ]);
    expect(tags(config, 'autoconnect')).toEqual([]);
    expect(tags(config, 'uline')).toEqual([{ server: 'services.example.test', silent: 'yes' }]);
    expect(tags(config, 'sasl')).toEqual([{ target: 'services.example.test', requiressl: 'no' }]);
  });

  it('binds the link listener where the control server is told to connect', () => {
    const config = renderInspircdConfig(templates.config, {
      ...linked,
      services: { ...linked.services!, bindAddress: '10.0.0.5', allowMask: '10.0.0.0/24' },
    });
    expect(tags(config, 'bind').find((bind) => bind.type === 'servers')).toMatchObject({ address: '10.0.0.5' });
    expect(tags(config, 'link')[0]).toMatchObject({ allowmask: '10.0.0.0/24' });
  });

  it('trusts WebSocket proxies only when some are configured', () => {
    // InspIRCd refuses connections from a trusted proxy range that lack X-Real-IP, so the default trusts none.
    expect(tags(renderInspircdConfig(templates.config, bare), 'websocket')).toEqual([{ defaultmode: 'text' }]);
    const proxied = renderInspircdConfig(templates.config, { ...bare, webSocketProxies: ['127.0.0.1', '10.1.0.0/16'] });
    expect(tags(proxied, 'websocket')).toEqual([{ defaultmode: 'text', proxyranges: '127.0.0.1 10.1.0.0/16' }]);
    expect(tags(proxied, 'wsorigin')).toEqual([{ allow: '*' }]);
  });

  it('can load extra modules from a module folder of our own', () => {
    const plain = renderInspircdConfig(templates.config, bare);
    expect(tags(plain, 'path')[0]).not.toHaveProperty('moduledir');
    const custom = renderInspircdConfig(templates.config, {
      ...bare,
      moduleDir: '/data/inspircd/modules',
      extraModules: ['alloquy_fastconnect'],
    });
    expect(tags(custom, 'path')[0]).toMatchObject({ moduledir: '/data/inspircd/modules' });
    expect(modules(custom)).toContain('alloquy_fastconnect');
    expect(() => renderInspircdConfig(templates.config, { ...bare, extraModules: ['x"><die'] })).toThrow(/module name/);
  });

  it('escapes values so they cannot break out of an attribute', () => {
    const config = renderInspircdConfig(templates.config, {
      ...bare,
      server: { ...bare.server, description: 'Say "hi" & <wave>' },
    });
    expect(config).toContain('description="Say &quot;hi&quot; &amp; &lt;wave&gt;"');
    expect(() => escapeConfigValue('two\nlines', 'description')).toThrow(/description contains a control character/);
  });

  it('refuses invalid settings with every problem listed', () => {
    let message = '';
    try {
      renderInspircdConfig(templates.config, {
        ...linked,
        server: { name: 'localhost', sid: 'AAA', network: 'Two words' },
        ports: { ...linked.ports, ircWs: 16667 },
        cloakKey: 'short',
        services: { name: 'services.example.test', password: 'has space' },
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/server name "localhost" must be a host name with at least one dot/);
    expect(message).toMatch(/server id "AAA"/);
    expect(message).toMatch(/network name "Two words" must be one word/);
    expect(message).toMatch(/ports must differ/);
    expect(message).toMatch(/cloak key must be at least 30 characters/);
    expect(message).toMatch(/link password must be non-empty and contain no spaces/);
    expect(() => renderInspircdConfig(templates.config, { ...linked, services: { name: 'irc.example.test', password: 'x'.repeat(20) } })).toThrow(
      /services server needs a name of its own/,
    );
  });
});

describe('renderInspircdMotd', () => {
  it('names the network', () => {
    const motd = renderInspircdMotd(templates.motd, { name: 'irc.example.test', network: 'Example' });
    expect(motd).toContain('Welcome to Example (irc.example.test)');
    expect(motd).not.toMatch(/\{\{/);
  });
});
