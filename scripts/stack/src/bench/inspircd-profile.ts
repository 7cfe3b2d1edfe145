/**
 * Keeps the benchmark's bare InspIRCd identical to the one `up` runs.
 *
 * The stack's InspIRCd options (module folder, extra modules such as
 * m_alloquy_fastconnect, flood and connection limits) are whatever up.ts
 * passes today, so the bench does not copy them: it reads them back from the
 * config `up` actually rendered, starts the bare server with the same options,
 * and afterwards compares both rendered configs tag by tag. Only
 * instance-specific values (ports, data paths, cloak key) and the services
 * link section may differ.
 */
import { randomBytes } from 'node:crypto';
import { readInspircdTemplates, renderInspircdConfig, type InspircdLimits, type InspircdTemplates } from '../inspircd/config.js';

export interface ConfigTag {
  name: string;
  attrs: [string, string][];
}

/** The tags of a rendered InspIRCd config, in order (comments dropped). */
export function parseConfigTags(text: string): ConfigTag[] {
  const withoutComments = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
  const tags: ConfigTag[] = [];
  for (const match of withoutComments.matchAll(/<([A-Za-z_][\w-]*)((?:\s+[\w-]+="[^"]*")*)\s*>/g)) {
    const attrs: [string, string][] = [];
    for (const attr of match[2]!.matchAll(/([\w-]+)="([^"]*)"/g)) attrs.push([attr[1]!, decodeEntities(attr[2]!)]);
    tags.push({ name: match[1]!.toLowerCase(), attrs });
  }
  return tags;
}

function decodeEntities(value: string): string {
  return value.replace(/&(amp|quot|lt|gt);/g, (_, name: string) => ({ amp: '&', quot: '"', lt: '<', gt: '>' })[name] ?? '');
}

function attr(tag: ConfigTag | undefined, name: string): string | undefined {
  return tag?.attrs.find(([key]) => key === name)?.[1];
}

function numberAttr(tag: ConfigTag | undefined, name: string): number | undefined {
  const value = attr(tag, name);
  if (value === undefined) return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** Tags that exist only because the services link is configured. */
export function isLinkOnlyTag(tag: ConfigTag): boolean {
  if (tag.name === 'link' || tag.name === 'uline' || tag.name === 'sasl') return true;
  if (tag.name === 'bind' && attr(tag, 'type') === 'servers') return true;
  if (tag.name === 'module' && attr(tag, 'name') === 'sasl') return true;
  return false;
}

/** The InspIRCd options `up` used, as startInspircd takes them. */
export interface InspircdProfile {
  moduleDir?: string;
  extraModules: string[];
  limits: InspircdLimits;
  /** The loopback connect class, as the flood limits the bench's sender must respect. */
  flood: { commandsPerSecond: number; threshold: number; fakelag: boolean };
}

/**
 * Reads startInspircd options back from a rendered config. The result is only
 * a means to an end: `compareConfigs` on the two rendered files decides
 * whether the servers are configured alike.
 */
export async function profileFromConfig(text: string, templates?: InspircdTemplates): Promise<InspircdProfile> {
  const tags = parseConfigTags(text);
  const base = new Set(
    parseConfigTags(await renderBaseline(templates))
      .filter((tag) => tag.name === 'module')
      .map((tag) => attr(tag, 'name')),
  );
  const extraModules = tags
    .filter((tag) => tag.name === 'module' && !isLinkOnlyTag(tag))
    .map((tag) => attr(tag, 'name')!)
    .filter((name) => name !== undefined && !base.has(name));
  const moduleDir = attr(
    tags.find((tag) => tag.name === 'path'),
    'moduledir',
  );
  const loopback = tags.find((tag) => tag.name === 'connect' && attr(tag, 'name') === 'loopback');
  const main = tags.find((tag) => tag.name === 'connect' && attr(tag, 'name') === 'main');
  const chanhistory = tags.find((tag) => tag.name === 'chanhistory');
  const defaultModes =
    attr(
      tags.find((tag) => tag.name === 'options'),
      'defaultmodes',
    ) ?? '';
  const historyPeriod = /\d+:(\S+)/.exec(defaultModes)?.[1];
  if (loopback === undefined) throw new Error('the rendered InspIRCd config has no <connect name="loopback"> class');

  const commandRate = numberAttr(loopback, 'commandrate');
  const limits: InspircdLimits = {};
  const set = <K extends keyof InspircdLimits>(key: K, value: InspircdLimits[K] | undefined): void => {
    if (value !== undefined) limits[key] = value;
  };
  set('fakelag', attr(loopback, 'fakelag') === undefined ? undefined : attr(loopback, 'fakelag') === 'yes');
  set('commandsPerSecond', commandRate === undefined ? undefined : commandRate / 1000);
  set('floodThreshold', numberAttr(loopback, 'threshold'));
  set('loopbackMaxClients', numberAttr(loopback, 'localmax'));
  set('maxChannelsPerUser', numberAttr(loopback, 'maxchans'));
  set('maxClientsPerIp', numberAttr(main, 'localmax'));
  set('maxClients', numberAttr(main, 'limit'));
  set('historyLines', numberAttr(chanhistory, 'maxlines'));
  set('historyPeriod', historyPeriod);

  return {
    ...(moduleDir === undefined ? {} : { moduleDir }),
    extraModules,
    limits,
    flood: {
      commandsPerSecond: (commandRate ?? 1000) / 1000,
      threshold: numberAttr(loopback, 'threshold') ?? 10,
      fakelag: attr(loopback, 'fakelag') !== 'no',
    },
  };
}

/** The template rendered with no services link and no extra modules. */
async function renderBaseline(templates?: InspircdTemplates): Promise<string> {
  const { config } = templates ?? (await readInspircdTemplates());
  return renderInspircdConfig(config, {
    server: { name: 'irc.example.test', sid: '1AA', network: 'Example' },
    ports: { irc: 1, ircTls: 2, ircWs: 3, ircLink: 4 },
    dataDir: '/nonexistent',
    tls: { certPath: '/nonexistent/cert.pem', keyPath: '/nonexistent/key.pem' },
    motdPath: '/nonexistent/motd',
    logPath: '/nonexistent/log',
    pidPath: '/nonexistent/pid',
    cloakKey: randomBytes(24).toString('hex'),
    services: null,
  });
}

/** Attributes that name this instance (ports, its own files, secrets), not its behaviour. */
const INSTANCE_ATTRS: Record<string, readonly string[]> = {
  path: ['configdir', 'datadir', 'logdir', 'runtimedir'],
  pid: ['file'],
  files: ['motd'],
  log: ['target'],
  sslprofile: ['certfile', 'keyfile'],
  bind: ['port'],
  cloak: ['key'],
  // Link-only; masked so the password never reaches the report.
  link: ['port', 'sendpass', 'recvpass'],
};

function normalizedTag(tag: ConfigTag): string {
  const masked = INSTANCE_ATTRS[tag.name] ?? [];
  const attrs = tag.attrs.map(([key, value]) => `${key}=${JSON.stringify(masked.includes(key) ? '*' : value)}`);
  return `<${tag.name}${attrs.length > 0 ? ' ' : ''}${attrs.join(' ')}>`;
}

export interface ConfigComparison {
  /** Same tags, same order, same values apart from instance-specific ones and the link section. */
  identical: boolean;
  /** Tags the stack has for the services link (expected). */
  linkOnly: string[];
  bareOnly: string[];
  stackOnly: string[];
  /** Set when both have the same tags but in another order. */
  orderDiffers: boolean;
  /** Instance-specific attributes that were not compared. */
  ignoredAttributes: string[];
}

export function compareConfigs(bareText: string, stackText: string): ConfigComparison {
  const bare = parseConfigTags(bareText).map(normalizedTag);
  const stackTags = parseConfigTags(stackText);
  const linkOnly = stackTags.filter(isLinkOnlyTag).map(normalizedTag);
  const stack = stackTags.filter((tag) => !isLinkOnlyTag(tag)).map(normalizedTag);
  const bareOnly = multisetMinus(bare, stack);
  const stackOnly = multisetMinus(stack, bare);
  const sameSequence = bare.length === stack.length && bare.every((line, index) => line === stack[index]);
  // A bare config must not carry link tags either.
  const bareLink = parseConfigTags(bareText).filter(isLinkOnlyTag).map(normalizedTag);
  return {
    identical: sameSequence && bareLink.length === 0,
    linkOnly,
    bareOnly: [...bareOnly, ...bareLink.map((line) => `${line} (link tag in the bare config)`)],
    stackOnly,
    orderDiffers: !sameSequence && bareOnly.length === 0 && stackOnly.length === 0,
    ignoredAttributes: Object.entries(INSTANCE_ATTRS).flatMap(([tag, names]) => names.map((name) => `${tag}.${name}`)),
  };
}

/** Whether two rendered configs (both with or both without the link) configure InspIRCd alike. */
export function sameConfig(aText: string, bText: string): boolean {
  const a = parseConfigTags(aText).map(normalizedTag);
  const b = parseConfigTags(bText).map(normalizedTag);
  return a.length === b.length && a.every((line, index) => line === b[index]);
}

function multisetMinus(a: readonly string[], b: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const item of b) counts.set(item, (counts.get(item) ?? 0) + 1);
  const out: string[] = [];
  for (const item of a) {
    const left = counts.get(item) ?? 0;
    if (left > 0) counts.set(item, left - 1);
    else out.push(item);
  }
  return out;
}
