import { homeLayout, resolveHome, type HomeLayout } from './home.js';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { loadPorts, loadTurnRelayRange, portsToEnv, type StackPorts, type TurnRelayRange } from './ports.js';

/**
 * What the stack's components must agree on (ports, names, paths), resolved and validated.
 * Settings only the control server reads (registration mode, log level, token lifetimes) reach
 * it through the inherited environment and its own config file, which it validates itself.
 */
export interface StackSettings {
  layout: HomeLayout;
  ports: StackPorts;
  httpHost: string;
  /** Where Murmur's voice port (TCP and UDP) listens; '' for every interface (ALLOQUY_MUMBLE_HOST). */
  mumbleHost: string;
  turn: TurnSettings;
  irc: {
    serverName: string;
    serverSid: string;
    network: string;
    servicesName: string;
    servicesSid: string;
    /** Where InspIRCd listens for the services link and the control server connects. */
    linkHost: string;
  };
}

/** coturn's settings (the port is ports.turn). */
export interface TurnSettings {
  /** Where TURN listens and relays from: an IP address of this machine (ALLOQUY_TURN_HOST; default 127.0.0.1). */
  host: string;
  /** The public address announced behind NAT (ALLOQUY_TURN_EXTERNAL_IP); null when host is reachable as is. */
  externalIp: string | null;
  realm: string;
  relay: TurnRelayRange;
  /** The TURN REST API shared secret; the signalling service reads it too (ALLOQUY_TURN_SECRET_PATH). */
  secretPath: string;
  /** Only for tests (ALLOQUY_TURN_ALLOW_LOOPBACK_PEERS=true): relays may reach 127.0.0.0/8. */
  allowLoopbackPeers: boolean;
  /** ALLOQUY_TURN_ALLOW_PRIVATE_PEERS=true lets relays reach private ranges (a LAN-only deployment). */
  allowPrivatePeers: boolean;
  /** coturn's folder (user database, pid file) and its rendered config. */
  dataDir: string;
  configPath: string;
}

const SERVER_ID = /^[0-9][0-9A-Z]{2}$/;

/** Reads the stack's settings from the environment; one error lists every bad value. */
export function loadStackSettings(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): StackSettings {
  const problems: string[] = [];
  let ports: StackPorts | undefined;
  try {
    ports = loadPorts(env);
  } catch (error) {
    problems.push((error as Error).message);
  }
  const read = (name: string, fallback: string): string => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? fallback : value;
  };
  const irc = {
    serverName: read('ALLOQUY_IRC_SERVER_NAME', 'irc.alloquy.local'),
    serverSid: read('ALLOQUY_IRC_SERVER_SID', '1AL'),
    network: read('ALLOQUY_IRC_NETWORK', 'Alloquy'),
    servicesName: read('ALLOQUY_IRC_SERVICES_NAME', 'services.alloquy.local'),
    servicesSid: read('ALLOQUY_IRC_SERVICES_SID', '0AS'),
    linkHost: read('ALLOQUY_IRC_LINK_HOST', '127.0.0.1'),
  };
  for (const [name, value] of [
    ['ALLOQUY_IRC_SERVER_SID', irc.serverSid],
    ['ALLOQUY_IRC_SERVICES_SID', irc.servicesSid],
  ] as const) {
    if (!SERVER_ID.test(value)) {
      problems.push(`${name} must be a digit followed by two digits or capital letters (like 1AL), got ${JSON.stringify(value)}`);
    }
  }
  if (irc.serverSid === irc.servicesSid) {
    problems.push('ALLOQUY_IRC_SERVER_SID and ALLOQUY_IRC_SERVICES_SID must differ');
  }
  for (const [name, value] of [
    ['ALLOQUY_IRC_SERVER_NAME', irc.serverName],
    ['ALLOQUY_IRC_SERVICES_NAME', irc.servicesName],
  ] as const) {
    if (!value.includes('.') || /\s/.test(value)) {
      problems.push(`${name} must be a host name with at least one dot, got ${JSON.stringify(value)}`);
    }
  }
  if (irc.serverName.toLowerCase() === irc.servicesName.toLowerCase()) {
    problems.push('ALLOQUY_IRC_SERVER_NAME and ALLOQUY_IRC_SERVICES_NAME must differ');
  }
  // Unset or empty: every interface, as Murmur's own default.
  const mumbleHost = env.ALLOQUY_MUMBLE_HOST?.trim() ?? '';
  if (/[\s"\\]/.test(mumbleHost)) {
    problems.push(`ALLOQUY_MUMBLE_HOST must be one address or host name, got ${JSON.stringify(mumbleHost)}`);
  }
  let relay: TurnRelayRange | undefined;
  try {
    relay = loadTurnRelayRange(env);
  } catch (error) {
    problems.push((error as Error).message);
  }
  const turnHost = read('ALLOQUY_TURN_HOST', '127.0.0.1');
  if (isIP(turnHost) === 0) problems.push(`ALLOQUY_TURN_HOST must be an IP address of this machine, got ${JSON.stringify(turnHost)}`);
  const turnExternal = env.ALLOQUY_TURN_EXTERNAL_IP?.trim() || null;
  if (turnExternal !== null && isIP(turnExternal) === 0) {
    problems.push(`ALLOQUY_TURN_EXTERNAL_IP must be an IP address, got ${JSON.stringify(turnExternal)}`);
  }
  const turnRealm = read('ALLOQUY_TURN_REALM', irc.network.toLowerCase());
  if (/\s/.test(turnRealm)) problems.push(`ALLOQUY_TURN_REALM must be one word, got ${JSON.stringify(turnRealm)}`);
  const flag = (name: string): boolean => {
    const value = env[name]?.trim().toLowerCase();
    if (value === undefined || value === '' || value === 'false' || value === '0') return false;
    if (value === 'true' || value === '1') return true;
    problems.push(`${name} must be true or false, got ${JSON.stringify(env[name])}`);
    return false;
  };
  const allowLoopbackPeers = flag('ALLOQUY_TURN_ALLOW_LOOPBACK_PEERS');
  const allowPrivatePeers = flag('ALLOQUY_TURN_ALLOW_PRIVATE_PEERS');
  if (ports !== undefined && relay !== undefined && ports.turn >= relay.min && ports.turn <= relay.max) {
    problems.push(`ALLOQUY_TURN_PORT (${ports.turn}) lies inside the relay range ${relay.min}-${relay.max}`);
  }
  // Passed through as is: the control server owns the meaning of its log levels.
  if (problems.length > 0 || ports === undefined || relay === undefined) {
    throw new Error(`Invalid Alloquy configuration:\n  ${problems.join('\n  ')}`);
  }
  const home = resolveHome(env, cwd);
  const layout = homeLayout(home, env);
  const turnSecretPath = env.ALLOQUY_TURN_SECRET_PATH?.trim();
  return {
    layout,
    ports,
    httpHost: read('ALLOQUY_HTTP_HOST', '0.0.0.0'),
    mumbleHost,
    turn: {
      host: turnHost,
      externalIp: turnExternal,
      realm: turnRealm,
      relay,
      secretPath: turnSecretPath ? resolve(home, turnSecretPath) : join(layout.secretsDir, 'turn.key'),
      allowLoopbackPeers,
      allowPrivatePeers,
      dataDir: join(home, 'coturn'),
      configPath: join(home, 'coturn', 'turnserver.conf'),
    },
    irc,
  };
}

/**
 * The control server's environment, every variable set explicitly so both
 * sides agree even where the control server's own defaults would differ.
 */
export function controlServerEnv(settings: StackSettings): Record<string, string> {
  const { layout, irc } = settings;
  return {
    ALLOQUY_HOME: layout.home,
    ...portsToEnv(settings.ports),
    ALLOQUY_HTTP_HOST: settings.httpHost,
    // Its gRPC API (for attachments and signalling) has no caller authentication: loopback only.
    ALLOQUY_CONTROL_GRPC_HOST: '127.0.0.1',
    ALLOQUY_IRC_SERVER_NAME: irc.serverName,
    ALLOQUY_IRC_SERVER_SID: irc.serverSid,
    ALLOQUY_IRC_NETWORK: irc.network,
    ALLOQUY_IRC_SERVICES_NAME: irc.servicesName,
    ALLOQUY_IRC_SERVICES_SID: irc.servicesSid,
    ALLOQUY_IRC_LINK_HOST: irc.linkHost,
    ALLOQUY_IRC_LINK_PASSWORD_PATH: layout.linkPasswordPath,
    ALLOQUY_JWT_SECRET_PATH: layout.jwtSecretPath,
    ALLOQUY_DB_PATH: layout.dbPath,
    // Murmur's ports are in portsToEnv; up always puts its Ice endpoint on loopback.
    ALLOQUY_MURMUR_ICE_HOST: '127.0.0.1',
    ALLOQUY_MURMUR_ICE_SECRET_PATH: layout.murmurIceSecretPath,
  };
}

/** The attachments service's environment: the data folder, its port and the control server's gRPC port. */
export function attachmentsServiceEnv(settings: StackSettings): Record<string, string> {
  return {
    ALLOQUY_HOME: settings.layout.home,
    ALLOQUY_ATTACHMENTS_HOST: settings.httpHost,
    ALLOQUY_ATTACHMENTS_PORT: String(settings.ports.attachments),
    ALLOQUY_CONTROL_GRPC_PORT: String(settings.ports.grpc),
  };
}

/** The signalling service's environment: its port, the control server's gRPC port, and coturn's address and secret. */
export function signallingServiceEnv(settings: StackSettings): Record<string, string> {
  const { turn, ports } = settings;
  const turnAddress = turn.externalIp ?? turn.host;
  return {
    ALLOQUY_HOME: settings.layout.home,
    ALLOQUY_SIGNALLING_HOST: settings.httpHost,
    ALLOQUY_SIGNALLING_PORT: String(ports.signalling),
    ALLOQUY_CONTROL_GRPC_PORT: String(ports.grpc),
    ALLOQUY_TURN_SECRET_PATH: turn.secretPath,
    ALLOQUY_TURN_URLS: `turn:${turnAddress}:${ports.turn}?transport=udp,turn:${turnAddress}:${ports.turn}?transport=tcp`,
  };
}

/** An address to reach a listener bound to `host` from this machine (wildcards mean loopback). */
export function localAddressFor(host: string): string {
  if (host === '' || host === '0.0.0.0' || host === '*') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}
