import { createServer, type Server } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';

/** Every TCP/UDP port of an Alloquy stack, keyed by what listens on it. */
export interface StackPorts {
  /** IRC over TLS, all interfaces. */
  ircTls: number;
  /** IRC plaintext, loopback only. */
  irc: number;
  /** IRC over WebSocket (browsers), all interfaces. */
  ircWs: number;
  /** InspIRCd server link for the control server, loopback only. */
  ircLink: number;
  /** Control server HTTP (API, web client, /healthz, /metrics). */
  http: number;
  /** Control server gRPC, loopback only. */
  grpc: number;
  attachments: number;
  signalling: number;
  mumble: number;
  /** Murmur's ZeroC Ice endpoint, loopback only. */
  mumbleIce: number;
  turn: number;
}

export type PortName = keyof StackPorts;

/** The environment variable that overrides each port (the same variables configure every component). */
export const PORT_ENV_VARS: Readonly<Record<PortName, string>> = Object.freeze({
  ircTls: 'ALLOQUY_IRC_TLS_PORT',
  irc: 'ALLOQUY_IRC_PORT',
  ircWs: 'ALLOQUY_IRC_WS_PORT',
  ircLink: 'ALLOQUY_IRC_LINK_PORT',
  http: 'ALLOQUY_HTTP_PORT',
  // The control server reads it under this name, and so do the services that call it.
  grpc: 'ALLOQUY_CONTROL_GRPC_PORT',
  attachments: 'ALLOQUY_ATTACHMENTS_PORT',
  signalling: 'ALLOQUY_SIGNALLING_PORT',
  mumble: 'ALLOQUY_MUMBLE_PORT',
  mumbleIce: 'ALLOQUY_MUMBLE_ICE_PORT',
  turn: 'ALLOQUY_TURN_PORT',
});

export const DEFAULT_PORTS: Readonly<StackPorts> = Object.freeze({
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

export const PORT_NAMES: readonly PortName[] = Object.freeze(Object.keys(DEFAULT_PORTS) as PortName[]);

/**
 * Reads every port from the environment, falling back to the defaults.
 * Throws one error listing every bad value, so a misconfigured deployment is
 * fixed in one go rather than one variable per restart.
 */
export function loadPorts(env: NodeJS.ProcessEnv = process.env): StackPorts {
  const ports = { ...DEFAULT_PORTS };
  const problems: string[] = [];
  for (const name of PORT_NAMES) {
    const variable = PORT_ENV_VARS[name];
    const raw = env[variable];
    if (raw === undefined || raw.trim() === '') continue;
    const parsed = parsePort(raw);
    if (parsed === undefined) {
      problems.push(`${variable} must be a port number between 1 and 65535, got ${JSON.stringify(raw)}`);
    } else {
      ports[name] = parsed;
    }
  }
  const owners = new Map<number, PortName>();
  for (const name of PORT_NAMES) {
    const previous = owners.get(ports[name]);
    if (previous !== undefined) {
      problems.push(`${PORT_ENV_VARS[previous]} and ${PORT_ENV_VARS[name]} are both ${ports[name]}; every component needs its own port`);
    } else {
      owners.set(ports[name], name);
    }
  }
  if (problems.length > 0) {
    throw new Error(`Invalid port configuration:\n  ${problems.join('\n  ')}`);
  }
  return ports;
}

/** The environment variables that reproduce `ports` (for handing them to child processes). */
export function portsToEnv(ports: StackPorts): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PORT_NAMES) env[PORT_ENV_VARS[name]] = String(ports[name]);
  return env;
}

function parsePort(raw: string): number | undefined {
  const trimmed = raw.trim();
  // Number() would accept "0x1F", "1e3" and "  " variants; a port is plain decimal.
  if (!/^[0-9]{1,5}$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return value >= 1 && value <= 65535 ? value : undefined;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for tests). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/**
 * `count` distinct free ports. All probe sockets stay open until every port is
 * chosen, otherwise the kernel may hand out the same port twice.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            if (address === null || typeof address === 'string') {
              reject(new Error('listening socket has no TCP address'));
            } else {
              resolve(address.port);
            }
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** Free ports for every stack component, as a {@link StackPorts}. */
export async function freeStackPorts(): Promise<StackPorts> {
  const ports = await freePorts(PORT_NAMES.length);
  const result = {} as StackPorts;
  PORT_NAMES.forEach((name, index) => {
    result[name] = ports[index]!;
  });
  return result;
}

/** The UDP ports coturn allocates relays from (ALLOQUY_TURN_RELAY_MIN/MAX). */
export interface TurnRelayRange {
  min: number;
  max: number;
}

/** Below Linux's ephemeral range (32768-60999) would be ideal but is crowded; coturn skips ports in use. */
export const DEFAULT_TURN_RELAY_RANGE: Readonly<TurnRelayRange> = Object.freeze({ min: 49152, max: 49999 });

/** Reads ALLOQUY_TURN_RELAY_MIN/MAX; throws on values that are not ports or a reversed range. */
export function loadTurnRelayRange(env: NodeJS.ProcessEnv = process.env): TurnRelayRange {
  const problems: string[] = [];
  const read = (variable: string, fallback: number): number => {
    const raw = env[variable];
    if (raw === undefined || raw.trim() === '') return fallback;
    const parsed = parsePort(raw);
    if (parsed === undefined) problems.push(`${variable} must be a port number between 1 and 65535, got ${JSON.stringify(raw)}`);
    return parsed ?? fallback;
  };
  const range = {
    min: read('ALLOQUY_TURN_RELAY_MIN', DEFAULT_TURN_RELAY_RANGE.min),
    max: read('ALLOQUY_TURN_RELAY_MAX', DEFAULT_TURN_RELAY_RANGE.max),
  };
  if (problems.length === 0 && range.min > range.max) {
    problems.push(`ALLOQUY_TURN_RELAY_MIN (${range.min}) must not be above ALLOQUY_TURN_RELAY_MAX (${range.max})`);
  }
  if (problems.length > 0) throw new Error(`Invalid port configuration:\n  ${problems.join('\n  ')}`);
  return range;
}

/**
 * `count` consecutive UDP ports on 127.0.0.1 that were all free a moment ago
 * (a relay range for tests), from a random start in 20000-29999, below the
 * kernel's ephemeral range so other tests' sockets rarely land in it.
 */
export async function freeUdpPortRange(count: number): Promise<TurnRelayRange> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const min = 20000 + Math.floor(Math.random() * (10000 - count));
    const sockets: Socket[] = [];
    let free = true;
    try {
      for (let port = min; port < min + count && free; port++) {
        const socket = createSocket('udp4');
        sockets.push(socket);
        free = await new Promise<boolean>((resolve) => {
          socket.once('error', () => resolve(false));
          socket.bind({ address: '127.0.0.1', port, exclusive: true }, () => resolve(true));
        });
      }
    } finally {
      await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<void>((resolve) => {
              try {
                socket.close(() => resolve());
              } catch {
                resolve(); // Never bound.
              }
            }),
        ),
      );
    }
    if (free) return { min, max: min + count - 1 };
  }
  throw new Error(`found no ${count} consecutive free UDP ports on 127.0.0.1`);
}
