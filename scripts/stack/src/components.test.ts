import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { canBindUdp, checkPortsFree, stackComponents, type StackContext } from './components.js';
import { freePorts, freeStackPorts } from './ports.js';
import { controlServerEnv, loadStackSettings } from './settings.js';

async function context(env: NodeJS.ProcessEnv = {}): Promise<StackContext> {
  const ports = await freeStackPorts();
  const settings = loadStackSettings({ ALLOQUY_HOME: '/data/alloquy', ...env });
  return {
    settings: { ...settings, ports },
    repoRoot: '/repo',
    inspircd: { configPath: '/data/alloquy/inspircd/inspircd.conf', binary: '/usr/sbin/inspircd' },
    murmur: { configPath: '/data/alloquy/murmur.ini', binary: '/usr/sbin/murmurd' },
    controlEntry: '/repo/services/control/dist/main.js',
  };
}

describe('stackComponents', () => {
  it('starts Murmur after InspIRCd and before the control server', async () => {
    expect(stackComponents(await context()).map((spec) => spec.name)).toEqual(['inspircd', 'murmur', 'coturn', 'control', 'attachments', 'signalling']);
  });

  it('runs Murmur in the foreground, TCP and UDP on the voice port, Ice on loopback', async () => {
    const ctx = await context();
    const murmur = stackComponents(ctx).find((spec) => spec.name === 'murmur')!;
    expect([murmur.command, ...(murmur.args ?? [])]).toEqual(['/usr/sbin/murmurd', '-fg', '-ini', '/data/alloquy/murmur.ini']);
    const { mumble, mumbleIce } = ctx.settings.ports;
    expect(murmur.listens).toEqual([
      { host: '', port: mumble, variable: 'ALLOQUY_MUMBLE_PORT' },
      { host: '', port: mumble, protocol: 'udp', variable: 'ALLOQUY_MUMBLE_PORT' },
      { host: '127.0.0.1', port: mumbleIce, variable: 'ALLOQUY_MUMBLE_ICE_PORT' },
    ]);
    expect(murmur.cleanExitCodes).toEqual([0]);
    expect(murmur.stopSignal ?? 'SIGTERM').toBe('SIGTERM');
    expect(murmur.ready).toBeTypeOf('function');
  });

  it('binds the voice port where ALLOQUY_MUMBLE_HOST says', async () => {
    const murmur = stackComponents(await context({ ALLOQUY_MUMBLE_HOST: '127.0.0.1' })).find((spec) => spec.name === 'murmur')!;
    expect(murmur.listens.slice(0, 2).map((listen) => listen.host)).toEqual(['127.0.0.1', '127.0.0.1']);
  });
});

describe('settings for Murmur', () => {
  it('defaults the voice host to every interface and refuses odd values', () => {
    expect(loadStackSettings({ ALLOQUY_HOME: '/data' }).mumbleHost).toBe('');
    expect(loadStackSettings({ ALLOQUY_HOME: '/data', ALLOQUY_MUMBLE_HOST: ' 10.0.0.2 ' }).mumbleHost).toBe('10.0.0.2');
    expect(() => loadStackSettings({ ALLOQUY_HOME: '/data', ALLOQUY_MUMBLE_HOST: 'a b' })).toThrow(/ALLOQUY_MUMBLE_HOST must be one address/);
  });

  it('tells the control server where Murmur and its Ice secret are', () => {
    const env = controlServerEnv(loadStackSettings({ ALLOQUY_HOME: '/data', ALLOQUY_MUMBLE_PORT: '1234', ALLOQUY_MUMBLE_ICE_PORT: '1235' }));
    expect(env).toMatchObject({
      ALLOQUY_MUMBLE_PORT: '1234',
      ALLOQUY_MUMBLE_ICE_PORT: '1235',
      ALLOQUY_MURMUR_ICE_HOST: '127.0.0.1',
      ALLOQUY_MURMUR_ICE_SECRET_PATH: '/data/secrets/murmur-ice.key',
    });
  });
});

describe('coturn', () => {
  it('runs turnserver with the rendered config on loopback TCP+UDP by default', async () => {
    const ctx = await context();
    const coturn = stackComponents(ctx).find((spec) => spec.name === 'coturn')!;
    const port = ctx.settings.ports.turn;
    expect(coturn.command).toBe('/usr/bin/turnserver');
    expect(coturn.args).toEqual(['-c', '/data/alloquy/coturn/turnserver.conf']);
    expect(coturn.listens).toEqual([
      { host: '127.0.0.1', port, variable: 'ALLOQUY_TURN_PORT' },
      { host: '127.0.0.1', port, protocol: 'udp', variable: 'ALLOQUY_TURN_PORT' },
    ]);
    expect(coturn.cleanExitSignals).toEqual(['SIGTERM']);
  });

  it('reads the TURN settings, refusing bad ones', () => {
    const turn = loadStackSettings({ ALLOQUY_HOME: '/data' }).turn;
    expect(turn).toMatchObject({
      host: '127.0.0.1',
      externalIp: null,
      realm: 'alloquy',
      relay: { min: 49152, max: 49999 },
      secretPath: '/data/secrets/turn.key',
      allowLoopbackPeers: false,
      allowPrivatePeers: false,
    });
    const configured = loadStackSettings({
      ALLOQUY_HOME: '/data',
      ALLOQUY_TURN_HOST: '10.0.0.5',
      ALLOQUY_TURN_EXTERNAL_IP: '203.0.113.9',
      ALLOQUY_TURN_RELAY_MIN: '40000',
      ALLOQUY_TURN_RELAY_MAX: '40100',
      ALLOQUY_TURN_ALLOW_LOOPBACK_PEERS: 'true',
    }).turn;
    expect(configured).toMatchObject({ host: '10.0.0.5', externalIp: '203.0.113.9', relay: { min: 40000, max: 40100 }, allowLoopbackPeers: true });
    expect(() =>
      loadStackSettings({
        ALLOQUY_HOME: '/data',
        ALLOQUY_TURN_HOST: 'turn.example.org',
        ALLOQUY_TURN_RELAY_MIN: '5000',
        ALLOQUY_TURN_RELAY_MAX: '4000',
        ALLOQUY_TURN_ALLOW_LOOPBACK_PEERS: 'yes',
      }),
    ).toThrow(/ALLOQUY_TURN_RELAY_MIN \(5000\)[\s\S]*ALLOQUY_TURN_HOST must be an IP address[\s\S]*ALLOQUY_TURN_ALLOW_LOOPBACK_PEERS must be true or false/);

    expect(() =>
      loadStackSettings({
        ALLOQUY_HOME: '/data',
        ALLOQUY_TURN_EXTERNAL_IP: 'turn.example.org',
        ALLOQUY_TURN_REALM: 'two words',
        ALLOQUY_TURN_ALLOW_PRIVATE_PEERS: 'maybe',
        ALLOQUY_TURN_RELAY_MIN: '70000',
      }),
    ).toThrow(
      /ALLOQUY_TURN_RELAY_MIN must be a port number[\s\S]*ALLOQUY_TURN_EXTERNAL_IP must be an IP address[\s\S]*ALLOQUY_TURN_REALM must be one word[\s\S]*ALLOQUY_TURN_ALLOW_PRIVATE_PEERS must be true or false/,
    );
    // The listening port inside the relay range would be handed out as a relay too.
    expect(() =>
      loadStackSettings({ ALLOQUY_HOME: '/data', ALLOQUY_TURN_PORT: '40050', ALLOQUY_TURN_RELAY_MIN: '40000', ALLOQUY_TURN_RELAY_MAX: '40100' }),
    ).toThrow(/ALLOQUY_TURN_PORT \(40050\) lies inside the relay range 40000-40100/);
  });
});

describe('checkPortsFree', () => {
  it('reports a taken UDP port with its variable', async () => {
    const [port] = await freePorts(1);
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(port, '127.0.0.1', resolve));
    try {
      expect(await canBindUdp('127.0.0.1', port!)).toBe(false);
      await expect(
        checkPortsFree([
          {
            name: 'murmur',
            command: 'x',
            requiredFiles: [],
            listens: [
              { host: '127.0.0.1', port: port!, variable: 'ALLOQUY_MUMBLE_PORT' },
              { host: '127.0.0.1', port: port!, protocol: 'udp', variable: 'ALLOQUY_MUMBLE_PORT' },
            ],
          },
        ]),
      ).rejects.toThrow(new RegExp(`murmur: UDP port ${port} on 127\\.0\\.0\\.1 \\(ALLOQUY_MUMBLE_PORT\\)`));
    } finally {
      holder.close();
    }
    expect(await canBindUdp('127.0.0.1', port!)).toBe(true);
  });

  it('sees a UDP port taken on loopback as taken for every interface', async () => {
    const [port] = await freePorts(1);
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(port, '127.0.0.1', resolve));
    try {
      expect(await canBindUdp('', port!)).toBe(false);
    } finally {
      holder.close();
    }
  });
});
