import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../home.js';
import { renderTemplate } from '../template.js';

export interface CoturnConfigOptions {
  /** The address TURN listens on and relays from (ALLOQUY_TURN_HOST; default 127.0.0.1). */
  listenIp: string;
  /** The public address announced behind NAT (ALLOQUY_TURN_EXTERNAL_IP); null when listenIp is reachable as is. */
  externalIp: string | null;
  port: number;
  relayMin: number;
  relayMax: number;
  /** The TURN REST API shared secret ($ALLOQUY_HOME/secrets/turn.key). */
  secret: string;
  realm: string;
  /** Tests only: lets relays reach 127.0.0.0/8, where both test peers live. */
  allowLoopbackPeers: boolean;
  /** Relaying to private and link-local ranges (ALLOQUY_TURN_ALLOW_PRIVATE_PEERS); false in production. */
  allowPrivatePeers: boolean;
  userdbPath: string;
  pidPath: string;
}

export const COTURN_TEMPLATE_PATH = join(repoRoot(), 'infra', 'coturn', 'turnserver.conf.template');

export function readCoturnTemplate(path: string = COTURN_TEMPLATE_PATH): Promise<string> {
  return readFile(path, 'utf8');
}

/** Renders turnserver.conf. Throws, listing every problem, on settings coturn would reject or misread. */
export function renderCoturnConfig(template: string, options: CoturnConfigOptions): string {
  validate(options);
  const values: Record<string, string | number> = {
    listenIp: options.listenIp,
    port: options.port,
    relayMin: options.relayMin,
    relayMax: options.relayMax,
    secret: options.secret,
    realm: options.realm,
    userdbPath: options.userdbPath,
    pidPath: options.pidPath,
  };
  if (options.externalIp !== null) values.externalIp = options.externalIp;
  return renderTemplate(template, {
    values,
    flags: {
      externalIp: options.externalIp !== null,
      allowLoopbackPeers: options.allowLoopbackPeers,
      denyPrivatePeers: !options.allowPrivatePeers,
    },
    escape: (value, name) => {
      // coturn reads "key=value" to the end of the line; a line break or '#' would start another option or a comment.
      // eslint-disable-next-line no-control-regex -- refusing control characters is the point.
      if (/[\u0000-\u001f\u007f#]/.test(value)) throw new Error(`${name} contains a control character or '#' and cannot be written to turnserver.conf`);
      return value;
    },
  });
}

function validate(options: CoturnConfigOptions): void {
  const problems: string[] = [];
  const isPort = (value: number): boolean => Number.isInteger(value) && value >= 1 && value <= 65535;
  if (!isPort(options.port)) problems.push(`the TURN port ${options.port} is not a port number`);
  if (!isPort(options.relayMin) || !isPort(options.relayMax)) {
    problems.push(`the relay range ${options.relayMin}-${options.relayMax} must be port numbers`);
  } else if (options.relayMin > options.relayMax) {
    problems.push(`the relay range starts (${options.relayMin}) after it ends (${options.relayMax})`);
  } else if (options.port >= options.relayMin && options.port <= options.relayMax) {
    problems.push(`the TURN port ${options.port} lies inside the relay range ${options.relayMin}-${options.relayMax}`);
  }
  if (isIP(options.listenIp) === 0) problems.push(`the TURN listening address ${JSON.stringify(options.listenIp)} must be an IP address`);
  if (options.externalIp !== null && isIP(options.externalIp) === 0) {
    problems.push(`the TURN external address ${JSON.stringify(options.externalIp)} must be an IP address`);
  }
  if (options.secret.trim() === '' || /\s/.test(options.secret)) problems.push('the TURN shared secret must be one word, not empty');
  if (options.realm.trim() === '' || /\s/.test(options.realm)) problems.push(`the TURN realm ${JSON.stringify(options.realm)} must be one word, not empty`);
  if (problems.length > 0) throw new Error(`Invalid coturn configuration:\n  ${problems.join('\n  ')}`);
}
