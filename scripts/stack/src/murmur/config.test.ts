import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MURMUR_AUTOBAN, escapeIniValue, MURMUR_AUTOBAN_OFF, readMurmurTemplate, renderMurmurConfig, type MurmurConfigOptions } from './config.js';

let template: string;
beforeAll(async () => {
  template = await readMurmurTemplate();
});

const options: MurmurConfigOptions = {
  host: '',
  ports: { mumble: 64738, mumbleIce: 6502 },
  iceSecret: 'ice0123456789abcdef',
  serverPassword: 'server0123456789abcdef',
  databasePath: '/data/murmur/murmur.sqlite',
  pidPath: '/data/murmur/murmur.pid',
  tls: { certPath: '/data/tls/cert.pem', keyPath: '/data/tls/key.pem' },
  registerName: 'Alloquy',
  runAsUser: 'mumble-server',
};

/**
 * The [General] part of the ini as key → raw value, the way QSettings reads
 * it (later keys win; ';' lines are comments).
 */
function settings(ini: string): Map<string, string> {
  const general = ini.split(/^\[Ice\]$/m)[0]!;
  const entries = new Map<string, string>();
  for (const line of general.split('\n')) {
    if (line.trim() === '' || line.startsWith(';')) continue;
    const index = line.indexOf('=');
    expect(index, `line without "=": ${line}`).toBeGreaterThan(0);
    entries.set(line.slice(0, index), line.slice(index + 1));
  }
  return entries;
}

/** The inverse of escapeIniValue for quoted values, as Qt reads them. */
function unquote(raw: string): string {
  expect(raw).toMatch(/^".*"$/);
  const text = raw.slice(1, -1).replace(/\\(.)/g, '$1');
  return text.startsWith('@@') ? text.slice(1) : text;
}

describe('renderMurmurConfig', () => {
  it('renders every placeholder and keeps Murmur away from the system folders', () => {
    const ini = renderMurmurConfig(template, options);
    expect(ini).not.toMatch(/\{\{/);
    const values = settings(ini);
    expect(unquote(values.get('database')!)).toBe('/data/murmur/murmur.sqlite');
    expect(unquote(values.get('pidfile')!)).toBe('/data/murmur/murmur.pid');
    // Empty: Murmur logs to stdout, which the supervisor writes to logs/murmur.log.
    expect(unquote(values.get('logfile')!)).toBe('');
    expect(unquote(values.get('uname')!)).toBe('mumble-server');
    expect(values.get('bonjour')).toBe('false');
    expect(ini).not.toContain('/var/lib/mumble-server');
    expect(ini).toMatch(/^\[Ice\]\nIce\.Warn\.UnknownProperties=1\nIce\.MessageSizeMax=65536\n$/m);
  });

  it('puts Ice on loopback, secret for reads and writes alike', () => {
    const ini = renderMurmurConfig(template, options);
    const values = settings(ini);
    expect(unquote(values.get('ice')!)).toBe('tcp -h 127.0.0.1 -p 6502');
    expect(unquote(values.get('icesecretwrite')!)).toBe('ice0123456789abcdef');
    // Reads need the secret too; an empty icesecretread would refuse every call.
    expect(unquote(values.get('icesecretread')!)).toBe('ice0123456789abcdef');
  });

  it('listens on every interface by default and on one address when told', () => {
    expect(unquote(settings(renderMurmurConfig(template, options)).get('host')!)).toBe('');
    const loopback = settings(renderMurmurConfig(template, { ...options, host: '127.0.0.1', ports: { mumble: 20000, mumbleIce: 20001 } }));
    expect(unquote(loopback.get('host')!)).toBe('127.0.0.1');
    expect(loopback.get('port')).toBe('20000');
    expect(unquote(loopback.get('ice')!)).toBe('tcp -h 127.0.0.1 -p 20001');
  });

  it('keeps out unregistered names with the server password and serves the stack certificate', () => {
    const values = settings(renderMurmurConfig(template, options));
    expect(unquote(values.get('serverpassword')!)).toBe('server0123456789abcdef');
    expect(unquote(values.get('sslCert')!)).toBe('/data/tls/cert.pem');
    expect(unquote(values.get('sslKey')!)).toBe('/data/tls/key.pem');
    expect(values.get('certrequired')).toBe('false');
    // The readiness check pings the UDP port.
    expect(values.get('allowping')).toBe('true');
  });

  it('always uses Opus and names the root channel after the network', () => {
    const values = settings(renderMurmurConfig(template, { ...options, registerName: 'My Net' }));
    expect(values.get('opusthreshold')).toBe('0');
    expect(unquote(values.get('registerName')!)).toBe('My Net');
    expect(unquote(values.get('welcometext')!)).toContain('<b>My Net</b>');
    // No registerPassword/registerUrl: never listed in the public server list.
    expect(values.has('registerPassword')).toBe(false);
    expect(values.get('users')).toBe('1000');
    expect(values.get('bandwidth')).toBe('72000');
  });

  it('relaxes the autoban so many users behind one address are not locked out', () => {
    const relaxed = settings(renderMurmurConfig(template, options));
    expect(Number(relaxed.get('autobanAttempts'))).toBe(DEFAULT_MURMUR_AUTOBAN.attempts);
    // Murmur's defaults (10 connections in 120 s, then a 300 s ban) count successful logins too.
    expect(Number(relaxed.get('autobanAttempts'))).toBeGreaterThanOrEqual(500);
    expect(Number(relaxed.get('autobanTime'))).toBeLessThanOrEqual(60);
    const off = settings(renderMurmurConfig(template, { ...options, autoban: MURMUR_AUTOBAN_OFF }));
    expect(off.get('autobanAttempts')).toBe('0');
  });

  it('accepts every Alloquy username character and any printable channel name', () => {
    const values = settings(renderMurmurConfig(template, options));
    const username = new RegExp(`^${unquote(values.get('username')!)}$`);
    for (const name of ['alice', 'a^b`c\\d', 'x|y{z}[w]', 'dash-ed_1']) expect(username.test(name), name).toBe(true);
    expect(username.test('two words')).toBe(false);
    expect(unquote(values.get('channelname')!)).toBe('[^\\x0000-\\x001f\\x007f/]+');
  });

  it('leaves uname out when not running as root', () => {
    const ini = renderMurmurConfig(template, { ...options, runAsUser: null });
    expect(ini).not.toMatch(/^uname=/m);
  });

  it('quotes values so they cannot end early or turn into something else', () => {
    const ini = renderMurmurConfig(template, {
      ...options,
      registerName: 'Say "hi"; a,b \\ @x',
      serverPassword: '@ByteArray(x)',
    });
    const values = settings(ini);
    expect(values.get('registerName')).toBe('"Say \\"hi\\"; a,b \\\\ @x"');
    expect(unquote(values.get('registerName')!)).toBe('Say "hi"; a,b \\ @x');
    expect(values.get('serverpassword')).toBe('"@@ByteArray(x)"');
    expect(values.get('welcometext')).toContain('Say &quot;hi&quot;');
    expect(() => escapeIniValue('two\nlines', 'welcometext')).toThrow(/welcometext contains a control character/);
  });

  it('refuses invalid settings with every problem listed', () => {
    let message = '';
    try {
      renderMurmurConfig(template, {
        ...options,
        host: 'two hosts',
        ports: { mumble: 7000, mumbleIce: 7000 },
        iceSecret: '',
        serverPassword: ' ',
        registerName: '',
        runAsUser: 'not a user',
        users: 0,
        autoban: { attempts: -1, timeframeSeconds: 60, banSeconds: 1.5 },
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/Mumble port and the Ice port must differ/);
    expect(message).toMatch(/host "two hosts"/);
    expect(message).toMatch(/Ice write secret must not be empty/);
    expect(message).toMatch(/server password must not be empty/);
    expect(message).toMatch(/register name/);
    expect(message).toMatch(/user "not a user"/);
    expect(message).toMatch(/users=0/);
    expect(message).toMatch(/autoban attempts=-1/);
    expect(message).toMatch(/autoban time=1.5/);
  });
});
