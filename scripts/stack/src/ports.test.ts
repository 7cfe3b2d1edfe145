import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PORTS, freePorts, freeStackPorts, loadPorts, PORT_ENV_VARS, PORT_NAMES, portsToEnv } from './ports.js';

describe('loadPorts', () => {
  it('uses the documented defaults when nothing is set', () => {
    expect(loadPorts({})).toEqual({
      ircTls: 6697,
      irc: 6667,
      ircWs: 8097,
      ircLink: 7000,
      http: 8080,
      grpc: 50051,
      attachments: 8081,
      signalling: 8082,
      mumble: 64738,
      mumbleIce: 6502,
      turn: 3478,
    });
  });

  it('takes every port from its environment variable', () => {
    const env = Object.fromEntries(PORT_NAMES.map((name, index) => [PORT_ENV_VARS[name], String(20000 + index)]));
    const ports = loadPorts(env);
    PORT_NAMES.forEach((name, index) => expect(ports[name]).toBe(20000 + index));
  });

  it('ignores empty values and surrounding spaces', () => {
    expect(loadPorts({ ALLOQUY_HTTP_PORT: '', ALLOQUY_IRC_PORT: ' 7777 ' })).toMatchObject({ http: 8080, irc: 7777 });
  });

  it.each(['abc', '80x', '0x50', '1e3', '-1', '0', '65536', '8080.5', '123456'])('rejects %j with the variable named', (bad) => {
    expect(() => loadPorts({ ALLOQUY_HTTP_PORT: bad })).toThrow(
      new RegExp(`ALLOQUY_HTTP_PORT must be a port number between 1 and 65535, got "${bad.replace('.', '\\.')}"`),
    );
  });

  it('reports every bad variable at once', () => {
    let message = '';
    try {
      loadPorts({ ALLOQUY_HTTP_PORT: 'web', ALLOQUY_TURN_PORT: '99999' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('ALLOQUY_HTTP_PORT');
    expect(message).toContain('ALLOQUY_TURN_PORT');
  });

  it('rejects two components on one port', () => {
    expect(() => loadPorts({ ALLOQUY_HTTP_PORT: '6697' })).toThrow(/ALLOQUY_IRC_TLS_PORT and ALLOQUY_HTTP_PORT are both 6697/);
  });

  it('round-trips through portsToEnv', () => {
    const ports = { ...DEFAULT_PORTS, http: 9999, irc: 16667 };
    expect(loadPorts(portsToEnv(ports))).toEqual(ports);
  });
});

describe('freePorts', () => {
  it('hands out distinct ports that can be bound on loopback', async () => {
    const ports = await freePorts(20);
    expect(new Set(ports).size).toBe(20);
    for (const port of ports.slice(0, 3)) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('fills every stack port', async () => {
    const ports = await freeStackPorts();
    expect(Object.keys(ports).sort()).toEqual([...PORT_NAMES].sort());
    expect(() => loadPorts(portsToEnv(ports))).not.toThrow();
  });
});
