import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../home.js';
import type { StackPorts } from '../ports.js';
import { renderTemplate } from '../template.js';

export type InspircdPorts = Pick<StackPorts, 'irc' | 'ircTls' | 'ircWs' | 'ircLink'>;

/** The control server's side of the server link, as InspIRCd must know it. */
export interface InspircdServicesLink {
  /** Server name the control server introduces itself with (ALLOQUY_IRC_SERVICES_NAME). */
  name: string;
  /** Shared link password; InspIRCd uses it as both sendpass and recvpass. */
  password: string;
  /** Address the link listener binds to (ALLOQUY_IRC_LINK_HOST). Default 127.0.0.1. */
  bindAddress?: string;
  /** Source addresses allowed to link, space separated. Default: loopback. */
  allowMask?: string;
  /** <link ipaddr>: only dialled on an explicit /CONNECT. Default 127.0.0.1. */
  address?: string;
}

export interface InspircdLimits {
  /** Delay floods instead of disconnecting them. Default true. */
  fakelag?: boolean;
  /** Commands per second a client may sustain. Default 10 (InspIRCd's own default of 1 makes a client joining many channels crawl). */
  commandsPerSecond?: number;
  /** Command penalty a client may build up before fakelag or an Excess Flood quit. Default 100. */
  floodThreshold?: number;
  /** Connections per address, except loopback. Default 50. */
  maxClientsPerIp?: number;
  /** Connections from loopback (tests, bots, benchmarks, a reverse proxy). Default 20000. */
  loopbackMaxClients?: number;
  /** Connections in the public class. Default 20000. */
  maxClients?: number;
  /** Channels one client may be in; a member of many guilds is in many channels. Default 500. */
  maxChannelsPerUser?: number;
  /** Lines replayed to a joining client (chanhistory). Default 50. */
  historyLines?: number;
  /** How long replayed lines are kept, in InspIRCd duration syntax. Default 7d. */
  historyPeriod?: string;
}

export interface InspircdConfigOptions {
  server: {
    /** ALLOQUY_IRC_SERVER_NAME */
    name: string;
    /** ALLOQUY_IRC_SERVER_SID: a digit followed by two digits or upper-case letters. */
    sid: string;
    /** ALLOQUY_IRC_NETWORK */
    network: string;
    description?: string;
  };
  admin?: { name: string; nick: string; email: string };
  ports: InspircdPorts;
  /** InspIRCd's <path> folders (its data files, relative paths). */
  dataDir: string;
  tls: { certPath: string; keyPath: string };
  motdPath: string;
  logPath: string;
  pidPath: string;
  /** At least 30 characters; changing it changes every cloaked host and breaks host bans. */
  cloakKey: string;
  /** The services link, or null for a bare InspIRCd (benchmarks compare against it). */
  services: InspircdServicesLink | null;
  /**
   * Reverse proxies in front of the WebSocket port (CIDR or glob), trusted to
   * report the browser's address. Connections from them without that header
   * are refused, so leave this empty unless every such connection is proxied.
   */
  webSocketProxies?: readonly string[];
  /** <path moduledir>: a folder holding extra modules plus the stock ones. Default: InspIRCd's own. */
  moduleDir?: string;
  /** More modules to load, by name without the m_ prefix (e.g. "alloquy_fastconnect"). */
  extraModules?: readonly string[];
  limits?: InspircdLimits;
}

export const INSPIRCD_TEMPLATE_PATH = join(repoRoot(), 'infra', 'inspircd', 'inspircd.conf.template');
export const INSPIRCD_MOTD_TEMPLATE_PATH = join(repoRoot(), 'infra', 'inspircd', 'inspircd.motd');

export interface InspircdTemplates {
  config: string;
  motd: string;
}

export async function readInspircdTemplates(): Promise<InspircdTemplates> {
  const [config, motd] = await Promise.all([readFile(INSPIRCD_TEMPLATE_PATH, 'utf8'), readFile(INSPIRCD_MOTD_TEMPLATE_PATH, 'utf8')]);
  return { config, motd };
}

/** Renders inspircd.conf from `template`. Pure: no file or network access. */
export function renderInspircdConfig(template: string, options: InspircdConfigOptions): string {
  validate(options);
  const limits = options.limits ?? {};
  const services = options.services;
  const commandsPerSecond = limits.commandsPerSecond ?? 10;
  const values: Record<string, string | number> = {
    dataDir: options.dataDir,
    serverName: options.server.name,
    serverDescription: options.server.description ?? `${options.server.network} IRC`,
    network: options.server.network,
    serverSid: options.server.sid,
    adminName: options.admin?.name ?? `${options.server.network} operators`,
    adminNick: options.admin?.nick ?? 'admin',
    adminEmail: options.admin?.email ?? `admin@${options.server.name}`,
    pidPath: options.pidPath,
    motdPath: options.motdPath,
    logPath: options.logPath,
    certPath: options.tls.certPath,
    keyPath: options.tls.keyPath,
    ircTlsPort: options.ports.ircTls,
    ircPort: options.ports.irc,
    ircWsPort: options.ports.ircWs,
    ircLinkPort: options.ports.ircLink,
    // InspIRCd counts in thousandths of a command per second.
    commandRate: Math.round(commandsPerSecond * 1000),
    floodThreshold: limits.floodThreshold ?? 100,
    fakelag: (limits.fakelag ?? true) ? 'yes' : 'no',
    maxClientsPerIp: limits.maxClientsPerIp ?? 50,
    loopbackMaxClients: limits.loopbackMaxClients ?? 20000,
    maxClients: limits.maxClients ?? 20000,
    maxChannelsPerUser: limits.maxChannelsPerUser ?? 500,
    historyLines: limits.historyLines ?? 50,
    historyPeriod: limits.historyPeriod ?? '7d',
    cloakKey: options.cloakKey,
    cloakPrefix: `${cloakPrefixFor(options.server.network)}-`,
  };
  if (services !== null) {
    values.servicesName = services.name;
    values.linkPassword = services.password;
    values.linkBindAddress = services.bindAddress ?? '127.0.0.1';
    values.linkAllowMask = services.allowMask ?? '127.0.0.0/8 ::1/128';
    values.servicesAddress = services.address ?? '127.0.0.1';
  }
  const webSocketProxies = options.webSocketProxies ?? [];
  if (webSocketProxies.length > 0) values.wsProxyRanges = webSocketProxies.join(' ');
  if (options.moduleDir !== undefined) values.moduleDir = options.moduleDir;
  const extraModules = options.extraModules ?? [];
  // Markup rather than an attribute value, so it bypasses the escaper; validate() keeps the names plain.
  values.extraModuleTags = extraModules.map((name) => `<module name="${name}">`).join('\n');
  return renderTemplate(template, {
    values,
    flags: {
      linked: services !== null,
      wsProxies: webSocketProxies.length > 0,
      moduleDir: options.moduleDir !== undefined,
      extraModules: extraModules.length > 0,
    },
    escape: (value, name) => (name === 'extraModuleTags' ? value : escapeConfigValue(value, name)),
  });
}

/** Renders the MOTD file (plain text, shown verbatim by InspIRCd). */
export function renderInspircdMotd(template: string, server: { name: string; network: string }): string {
  return renderTemplate(template, { values: { serverName: server.name, network: server.network } });
}

/**
 * Quotes a value for an InspIRCd 3 config attribute: inside "..." the parser
 * only treats `"` and `&` (entities) specially. Control characters cannot be
 * represented and would split the tag.
 */
export function escapeConfigValue(value: string, name = 'value'): string {
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point.
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new Error(`${name} contains a control character and cannot be written to inspircd.conf`);
  }
  return value.replace(/[&"<>]/g, (char) => {
    switch (char) {
      case '&':
        return '&amp;';
      case '"':
        return '&quot;';
      case '<':
        return '&lt;';
      default:
        return '&gt;';
    }
  });
}

function cloakPrefixFor(network: string): string {
  const prefix = network.toLowerCase().replace(/[^a-z0-9]+/g, '');
  return prefix === '' ? 'user' : prefix.slice(0, 16);
}

const SERVER_NAME = /^(?=.{3,64}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const SERVER_ID = /^[0-9][0-9A-Z]{2}$/;

function validate(options: InspircdConfigOptions): void {
  const problems: string[] = [];
  // Spanningtree tells servers from users by the dot in the name.
  if (!SERVER_NAME.test(options.server.name)) {
    problems.push(`server name ${JSON.stringify(options.server.name)} must be a host name with at least one dot`);
  }
  if (!SERVER_ID.test(options.server.sid)) {
    problems.push(`server id ${JSON.stringify(options.server.sid)} must be a digit followed by two digits or capital letters`);
  }
  if (options.server.network.trim() === '' || /\s/.test(options.server.network)) {
    problems.push(`network name ${JSON.stringify(options.server.network)} must be one word`);
  }
  const ports = Object.entries(options.ports) as [string, number][];
  for (const [name, port] of ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`port ${name}=${port} is not a TCP port`);
  }
  if (new Set(ports.map(([, port]) => port)).size !== ports.length) {
    problems.push(`InspIRCd ports must differ: ${ports.map(([name, port]) => `${name}=${port}`).join(', ')}`);
  }
  if (options.cloakKey.length < 30) problems.push('the cloak key must be at least 30 characters long');
  const services = options.services;
  if (services !== null) {
    if (!SERVER_NAME.test(services.name)) {
      problems.push(`services server name ${JSON.stringify(services.name)} must be a host name with at least one dot`);
    }
    if (services.name.toLowerCase() === options.server.name.toLowerCase()) {
      problems.push('the services server needs a name of its own');
    }
    // The password travels as one word of the SERVER command.
    if (services.password === '' || /\s/.test(services.password)) {
      problems.push('the link password must be non-empty and contain no spaces');
    }
  }
  for (const module of options.extraModules ?? []) {
    if (!/^[a-z0-9_]+$/.test(module)) problems.push(`module name ${JSON.stringify(module)} must be lower-case letters, digits and _`);
  }
  for (const proxy of options.webSocketProxies ?? []) {
    if (proxy === '' || /\s/.test(proxy)) problems.push(`WebSocket proxy ${JSON.stringify(proxy)} must be one address, CIDR range or glob`);
  }
  const limits = options.limits ?? {};
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value === 'number' && !(Number.isFinite(value) && value > 0)) {
      problems.push(`limit ${name}=${value} must be a positive number`);
    }
  }
  if (limits.historyPeriod !== undefined && !/^([0-9]+[smhdwy]?)+$/.test(limits.historyPeriod)) {
    problems.push(`historyPeriod ${JSON.stringify(limits.historyPeriod)} is not an InspIRCd duration (e.g. 7d, 12h)`);
  }
  if (problems.length > 0) throw new Error(`Invalid InspIRCd configuration:\n  ${problems.join('\n  ')}`);
}
