#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { Account } from '../accounts/account-service.js';
import { ConfigError, loadConfig, type ControlConfig } from '../config/config.js';
import { ControlError } from '../errors/control-error.js';
import { VoiceChannels } from '../murmur/voice-channels.js';
import { notifyOperatorSocket, notifyVoiceChannelsChanged, type AccountChange } from '../operator/operator-socket.js';
import { createAccountService } from '../accounts/create-account-service.js';
import { openDatabase } from '../store/database.js';
import { readPassword } from './read-password.js';

const USAGE = `alloquy: operate an Alloquy server (run as "pnpm alloquy ..." from the repository root)

  user add NAME [--admin]   create an account; the password is read from standard input
  user list                 list accounts
  user disable NAME         disable an account; it is logged out and disconnected everywhere
  user enable NAME          enable a disabled account
  user passwd NAME          set a new password (read from standard input); other sessions end
  user promote NAME         make an account an admin (user demote NAME undoes it)
  invite create [--max-uses N] [--expires SECONDS]
                            make a registration invite code (for ALLOQUY_REGISTRATION=invite)
  channel add-voice NAME    create a voice channel (in Murmur too); every account may enter and speak
  channel list              list voice channels
  status                    the state of every component of the running stack

The data folder is ALLOQUY_HOME (default ./.alloquy), as for scripts/up.`;

class UsageError extends Error {}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function printAccounts(accounts: Account[]): void {
  console.log(`${pad('NAME', 31)}${pad('ROLE', 7)}${pad('STATE', 10)}CREATED`);
  for (const a of accounts) {
    console.log(`${pad(a.username, 31)}${pad(a.isAdmin ? 'admin' : 'user', 7)}${pad(a.disabled ? 'disabled' : 'active', 10)}${new Date(a.createdAt).toISOString()}`);
  }
}

async function tell(config: ControlConfig, username: string, change: AccountChange, password?: string): Promise<void> {
  // The password goes along so the server can give it to Murmur, which keeps its own hash.
  const delivered = await notifyOperatorSocket(config.operatorSocketPath, username, change, password);
  if (delivered) return;
  if (change === 'disabled' || change === 'password-changed') {
    console.log('(the control server is not running; the change applies when it starts)');
  }
  if (config.murmur.enabled && (change === 'created' || change === 'password-changed')) {
    // Murmur can only be given a password the control server has seen.
    console.log('(voice: Mumble accepts this password once the account has logged in on the web, in an app or over IRC)');
  }
}

async function status(config: ControlConfig): Promise<number> {
  const url = `http://127.0.0.1:${config.http.port}/healthz`;
  let report: { status: string; components: Record<string, { status: string; [k: string]: unknown }> };
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    report = (await res.json()) as typeof report;
  } catch {
    console.log(`control server: not reachable at ${url}`);
    return 1;
  }
  console.log(`stack: ${report.status}`);
  for (const [name, c] of Object.entries(report.components)) {
    const { status: state, ...detail } = c;
    const extra = Object.entries(detail)
      .filter(([, v]) => v !== undefined && v !== null && typeof v !== 'object')
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
    console.log(`  ${pad(name, 12)} ${pad(state, 5)} ${extra}`);
  }
  return report.status === 'ok' ? 0 : 1;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      admin: { type: 'boolean', default: false },
      'max-uses': { type: 'string' },
      expires: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [group, verb, name] = positionals;
  if (values.help || !group) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  if (group === 'status') return status(config);

  const db = openDatabase(config.database.path);
  try {
    const accounts = createAccountService(config, db);
    const needName = (): string => {
      if (!name) throw new UsageError(`"${group} ${verb}" needs a NAME`);
      return name;
    };
    switch (`${group} ${verb ?? ''}`) {
      case 'user add': {
        const username = needName();
        const password = await readPassword(`Password for ${username}: `);
        const account = await accounts.register(username, password, { bypassPolicy: true, admin: values.admin });
        await tell(config, account.username, 'created', password);
        console.log(`created ${account.username}${account.isAdmin ? ' (admin)' : ''}`);
        return 0;
      }
      case 'user list':
        printAccounts(accounts.list());
        return 0;
      case 'user disable':
      case 'user enable': {
        const account = accounts.setDisabled(needName(), verb === 'disable');
        await tell(config, account.username, verb === 'disable' ? 'disabled' : 'enabled');
        console.log(`${verb}d ${account.username}`);
        return 0;
      }
      case 'user passwd': {
        const username = accounts.get(needName()).username;
        const password = await readPassword(`New password for ${username}: `);
        await accounts.setPassword(username, password);
        await tell(config, username, 'password-changed', password);
        console.log(`password changed for ${username}`);
        return 0;
      }
      case 'user promote':
      case 'user demote': {
        const account = accounts.setAdmin(needName(), verb === 'promote');
        console.log(`${account.username} is ${account.isAdmin ? 'now an admin' : 'no longer an admin'}`);
        return 0;
      }
      case 'invite create': {
        const maxUses = values['max-uses'] === undefined ? undefined : Number(values['max-uses']);
        const expires = values.expires === undefined ? undefined : Number(values.expires);
        if ((maxUses !== undefined && !(Number.isInteger(maxUses) && maxUses > 0)) || (expires !== undefined && !(Number.isInteger(expires) && expires > 0))) {
          throw new UsageError('--max-uses and --expires take positive whole numbers');
        }
        const invite = accounts.createInvite({ maxUses, expiresInSeconds: expires });
        console.log(invite.code);
        return 0;
      }
      case 'channel add-voice': {
        const channel = new VoiceChannels(db).create(needName());
        const delivered = await notifyVoiceChannelsChanged(config.operatorSocketPath);
        console.log(`created voice channel ${channel.name}`);
        if (!delivered) console.log('(the control server is not running; it creates the channel in Murmur when it starts)');
        return 0;
      }
      case 'channel list': {
        console.log(`${pad('NAME', 50)}MURMUR ID`);
        for (const c of new VoiceChannels(db).list()) console.log(`${pad(c.name, 50)}${c.murmurChannelId ?? '-'}`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${positionals.join(' ')}"`);
    }
  } finally {
    db.close();
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // node:util parseArgs errors (unknown option, missing value, stray positional) are usage errors too.
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) {
      console.error(`alloquy: ${(err as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    if (err instanceof ControlError || err instanceof ConfigError) {
      console.error(`alloquy: ${(err as Error).message}`);
      process.exit(1);
    }
    console.error(`alloquy: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
