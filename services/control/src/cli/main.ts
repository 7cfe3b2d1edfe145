#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { Account } from '../accounts/account-service.js';
import { createAccountService } from '../accounts/create-account-service.js';
import { loadConfig, type ControlConfig } from '../config/config.js';
import { ControlError } from '../errors/control-error.js';
import type { GuildChange, MemberRemoval } from '../guild/model.js';
import { GuildService } from '../guild/service.js';
import { HistoryStore } from '../history/store.js';
import { notifyGuildChanged, notifyMemberRemoved, notifyOperatorSocket, notifyVoiceChannelsChanged, type AccountChange } from '../operator/operator-socket.js';
import { openControlDatabase } from '../store/database.js';
import { UsageError, formatTable } from './args.js';
import { GUILD_COMMANDS, type Command, type GuildContext, type OptionName, type Options } from './guild-commands.js';
import { readPassword } from './read-password.js';
import { ConfigError } from '@alloquy/service-kit/config';

interface CliContext extends GuildContext {
  config: ControlConfig;
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

function printAccounts(accounts: Account[]): string {
  return formatTable(
    ['NAME', 'ROLE', 'STATE', 'CREATED'],
    accounts.map((a) => [a.username, a.isAdmin ? 'admin' : 'user', a.disabled ? 'disabled' : 'active', new Date(a.createdAt).toISOString()]),
  );
}

const ACCOUNT_COMMANDS: readonly Command<CliContext>[] = [
  {
    name: 'user add',
    synopsis: 'NAME [--admin]',
    summary: 'create an account; the password is read from standard input',
    args: ['NAME'],
    options: ['admin'],
    async run(ctx, [name], options) {
      const password = await readPassword(`Password for ${name}: `);
      const account = await ctx.accounts.register(name!, password, { bypassPolicy: true, admin: options.admin === true });
      await tell(ctx.config, account.username, 'created', password);
      ctx.print(`created ${account.username}${account.isAdmin ? ' (admin)' : ''}`);
    },
  },
  {
    name: 'user list',
    synopsis: '',
    summary: 'list accounts',
    args: [],
    run(ctx) {
      ctx.print(printAccounts(ctx.accounts.list()));
    },
  },
  ...(['disable', 'enable'] as const).map((verb): Command<CliContext> => ({
    name: `user ${verb}`,
    synopsis: 'NAME',
    summary: verb === 'disable' ? 'disable an account; it is logged out and disconnected everywhere' : 'enable a disabled account',
    args: ['NAME'],
    async run(ctx, [name]) {
      const account = ctx.accounts.setDisabled(name!, verb === 'disable');
      await tell(ctx.config, account.username, verb === 'disable' ? 'disabled' : 'enabled');
      ctx.print(`${verb}d ${account.username}`);
    },
  })),
  {
    name: 'user passwd',
    synopsis: 'NAME',
    summary: 'set a new password (read from standard input); other sessions end',
    args: ['NAME'],
    async run(ctx, [name]) {
      const username = ctx.accounts.get(name!).username;
      const password = await readPassword(`New password for ${username}: `);
      await ctx.accounts.setPassword(username, password);
      await tell(ctx.config, username, 'password-changed', password);
      ctx.print(`password changed for ${username}`);
    },
  },
  ...(['promote', 'demote'] as const).map((verb): Command<CliContext> => ({
    name: `user ${verb}`,
    synopsis: 'NAME',
    summary: verb === 'promote' ? "make an account a server admin (the owner's authority in the guild)" : 'make an admin an ordinary account',
    args: ['NAME'],
    run(ctx, [name]) {
      const account = ctx.accounts.setAdmin(name!, verb === 'promote');
      ctx.print(`${account.username} is ${account.isAdmin ? 'now an admin' : 'no longer an admin'}`);
    },
  })),
];

const STATUS_COMMAND: Command<ControlConfig> = {
  name: 'status',
  synopsis: '',
  summary: 'the state of every component of the running stack',
  args: [],
  run: status,
};

const COMMANDS: readonly Command<CliContext>[] = [...ACCOUNT_COMMANDS, ...GUILD_COMMANDS];
const ALL_COMMANDS: readonly Command<never>[] = [...COMMANDS, STATUS_COMMAND];

function usageLine(c: Command<never>): string {
  const head = `${c.name} ${c.synopsis}`.trim();
  return head.length <= 44 ? `  ${head.padEnd(44)} ${c.summary}` : `  ${head}\n  ${' '.repeat(44)} ${c.summary}`;
}

const USAGE = `alloquy: operate an Alloquy server (run as "pnpm alloquy ..." from the repository root)

${ALL_COMMANDS.map(usageLine).join('\n')}

Guild commands act as the operator (above every role) and are kept in the audit log; a running
server applies them at once. PERM lists are names such as VIEW_CHANNEL,SEND_MESSAGES.
The data folder is ALLOQUY_HOME (default ./.alloquy), as for scripts/up.`;

/** The command named by the first words (`member role add` before `member`), and its arguments. */
function findCommand(positionals: string[]): { command: Command<never>; args: string[] } {
  for (let n = Math.min(3, positionals.length); n >= 1; n--) {
    const name = positionals.slice(0, n).join(' ');
    const command = ALL_COMMANDS.find((c) => c.name === name);
    if (command) return { command, args: positionals.slice(n) };
  }
  throw new UsageError(`unknown command "${positionals.join(' ')}"`);
}

function checkArguments(command: Command<never>, args: string[], options: Options): void {
  const { name, args: required, optional } = command;
  if (args.length < required.length) {
    const missing = required.slice(args.length);
    throw new UsageError(
      `"${name}" needs ${missing.length === 1 && required.length === 1 ? `a ${missing[0]}` : missing.join(' ')} (${name} ${command.synopsis})`,
    );
  }
  const max = optional?.rest ? Infinity : required.length + (optional ? 1 : 0);
  if (args.length > max) throw new UsageError(`"${name}" takes ${command.synopsis || 'no arguments'}; unexpected "${args[max]}"`);
  for (const [option, value] of Object.entries(options)) {
    if (value !== undefined && !(command.options ?? []).includes(option as OptionName)) {
      throw new UsageError(`--${option} does not apply to "${name}"`);
    }
  }
}

async function status(config: ControlConfig): Promise<void> {
  const url = `http://127.0.0.1:${config.http.port}/healthz`;
  let report: { status: string; components: Record<string, { status: string; [k: string]: unknown }> };
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    report = (await res.json()) as typeof report;
  } catch {
    console.log(`control server: not reachable at ${url}`);
    process.exitCode = 1;
    return;
  }
  console.log(`stack: ${report.status}`);
  for (const [name, c] of Object.entries(report.components)) {
    const { status: state, ...detail } = c;
    const extra = Object.entries(detail)
      .filter(([, v]) => v !== undefined && v !== null && typeof v !== 'object')
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
    console.log(`  ${name.padEnd(12)} ${state.padEnd(5)} ${extra}`);
  }
  if (report.status !== 'ok') process.exitCode = 1;
}

type GuildEvent = { kind: 'changed'; change: GuildChange } | { kind: 'removed'; removal: MemberRemoval };

/**
 * Hands what this process's GuildService emitted to a running server, in order: removals (so it
 * disconnects with the reason), then changes (so it reloads and enforces). False when no server
 * took them all.
 */
async function forward(config: ControlConfig, events: readonly GuildEvent[], voiceChanged: boolean): Promise<boolean> {
  const path = config.operatorSocketPath;
  let delivered = true;
  for (const e of events) {
    const ok = e.kind === 'changed' ? await notifyGuildChanged(path, e.change) : await notifyMemberRemoved(path, e.removal);
    delivered &&= ok;
  }
  if (voiceChanged) delivered = (await notifyVoiceChannelsChanged(path)) && delivered;
  return delivered;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      admin: { type: 'boolean' },
      'max-uses': { type: 'string' },
      expires: { type: 'string' },
      topic: { type: 'string' },
      category: { type: 'string' },
      permissions: { type: 'string' },
      limit: { type: 'string' },
      action: { type: 'string' },
      actor: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const { help, ...options } = values;
  if (positionals.length === 0) {
    console.log(USAGE);
    return help ? 0 : 2;
  }
  const { command, args } = findCommand(positionals);
  if (help) {
    console.log(`usage: alloquy ${command.name} ${command.synopsis}`.trimEnd() + `\n\n${command.summary}`);
    return 0;
  }
  try {
    checkArguments(command, args, options);
    return await runCommand(command, args, options);
  } catch (err) {
    if (err instanceof UsageError) err.usage ??= `usage: alloquy ${command.name} ${command.synopsis}`.trimEnd();
    throw err;
  }
}

async function runCommand(command: Command<never>, args: string[], options: Options): Promise<number> {
  const config = loadConfig();
  if (command === STATUS_COMMAND) {
    await status(config);
    return process.exitCode === 1 ? 1 : 0;
  }

  const db = openControlDatabase(config.database.path);
  const accounts = createAccountService(config, db);
  // Renaming or deleting a text channel here moves or forgets its history in the same transaction.
  const guild = new GuildService(db, accounts, { history: new HistoryStore(db) });
  try {
    const events: GuildEvent[] = [];
    guild.on('changed', (_snapshot, change) => events.push({ kind: 'changed', change }));
    guild.on('memberRemoved', (removal) => events.push({ kind: 'removed', removal }));
    let voiceChanged = false;
    const ctx: CliContext = {
      config,
      accounts,
      guild,
      print: (text) => console.log(text),
      voiceChanged: () => {
        voiceChanged = true;
      },
    };
    await (command as Command<CliContext>).run(ctx, args, options);
    const delivered = await forward(config, events, voiceChanged);
    // Account commands say for themselves what waits for the server (see tell()).
    if (!delivered && GUILD_COMMANDS.includes(command as Command<GuildContext>) && (events.length > 0 || voiceChanged)) {
      console.log('(no control server is running here: the change applies when it starts)');
    }
    return 0;
  } finally {
    guild.close();
    db.close();
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // node:util parseArgs errors (unknown option, missing value, stray positional) are usage errors too.
    if (err instanceof UsageError && err.usage) {
      console.error(`alloquy: ${err.message}\n${err.usage}\n("alloquy --help" lists every command)`);
      process.exit(2);
    }
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
