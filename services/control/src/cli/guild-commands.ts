/**
 * The guild commands of the operator CLI. Each goes through GuildService as the OPERATOR (so
 * it is validated and audited like an API call, with the operator's unlimited authority); the
 * CLI then forwards what the service emitted to a running server (see main.ts).
 */
import type { AccountService } from '../accounts/account-service.js';
import type { Channel, GuildSnapshot } from '../guild/model.js';
import { permissionNames, type OverwriteType } from '@alloquy/protocol/permissions';
import { OPERATOR, type GuildService } from '../guild/service.js';
import { UsageError, formatTable, parseDuration, parsePermissionList, parsePositiveInt, parseSwitch } from './args.js';

export type OptionName = 'admin' | 'max-uses' | 'expires' | 'topic' | 'category' | 'permissions' | 'limit' | 'action' | 'actor';
export type Options = Partial<Record<OptionName, string | boolean>>;

export interface GuildContext {
  guild: GuildService;
  accounts: AccountService;
  print(text: string): void;
  /** A voice channel was added, renamed or removed: Murmur must follow. */
  voiceChanged(): void;
}

export interface Command<C> {
  /** The words that name it, e.g. `channel add-text`. */
  name: string;
  /** Its arguments as shown in the usage, e.g. `NAME [--topic T]`. */
  synopsis: string;
  summary: string;
  /** Required positional arguments after the name, by what they are called. */
  args: readonly string[];
  /** A last optional argument, or a trailing text that takes every remaining word. */
  optional?: { name: string; rest?: boolean };
  options?: readonly OptionName[];
  run(ctx: C, args: string[], options: Options): Promise<void> | void;
}

function text(options: Options, name: OptionName): string | undefined {
  const v = options[name];
  return typeof v === 'string' ? v : undefined;
}

function channelLabel(c: Pick<Channel, 'kind' | 'name'>): string {
  return c.kind === 'text' ? `#${c.name}` : c.name;
}

function names(bits: bigint): string {
  const list = permissionNames(bits);
  return list.length ? list.join(',') : '-';
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/**
 * `1048576`, `500M`, `25MB`, `1GiB`, `1.5G` → bytes. Single letters and IEC units are powers of
 * 1024, SI units (kB, MB, GB, TB) powers of 1000, as `ls -h` and disk vendors respectively mean them.
 */
export function parseByteSize(text: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unitName = match?.[2]!.toLowerCase() ?? '';
  const unit = match && Object.hasOwn(BYTE_UNITS, unitName) ? BYTE_UNITS[unitName] : undefined;
  if (!match || unit === undefined) {
    throw new UsageError(`"${text}" is not a size: use bytes or a number with K, M, G, T (1024s) or kB, MB, GB, TB (1000s), e.g. 500M, 2GiB`);
  }
  const bytes = Math.round(Number(match[1]) * unit);
  if (bytes < 1 || !Number.isSafeInteger(bytes)) throw new UsageError(`a size is at least 1 byte and at most ${Number.MAX_SAFE_INTEGER}, got "${text}"`);
  return bytes;
}

/** 1073741824 → `1 GiB`; sizes that are not a whole number of a unit stay in bytes. */
export function formatByteSize(bytes: number): string {
  for (const [unit, size] of [
    ['TiB', 1024 ** 4],
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} B`;
}

function overwriteType(word: string): OverwriteType {
  if (word !== 'role' && word !== 'member') throw new UsageError(`expected "role" or "member", got "${word}"`);
  return word;
}

function usernameOf(snapshot: GuildSnapshot, accountId: number): string {
  return snapshot.members.get(String(accountId))?.username ?? snapshot.outsiders.find((o) => o.accountId === accountId)?.username ?? `#${accountId}`;
}

function time(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** allow / deny / clear some bits of one overwrite, keeping the rest of it. */
function editOverwrite(ctx: GuildContext, verb: 'allow' | 'deny' | 'clear', [channelRef, typeWord, target, perms]: string[]): void {
  const { guild } = ctx;
  const type = overwriteType(typeWord!);
  const channel = guild.channel(channelRef!);
  const targetId = type === 'role' ? guild.role(target!).id : String(ctx.accounts.get(target!).id);
  const existing = channel.overwrites.find((o) => o.type === type && o.id === targetId);
  const bits = perms === undefined ? undefined : parsePermissionList(perms);
  if (bits === undefined && verb !== 'clear') throw new UsageError(`"channel ${verb}" needs PERM[,PERM...]`);
  let allow = existing?.allow ?? 0n;
  let deny = existing?.deny ?? 0n;
  if (verb === 'allow') [allow, deny] = [allow | bits!, deny & ~bits!];
  else if (verb === 'deny') [allow, deny] = [allow & ~bits!, deny | bits!];
  else if (bits === undefined) [allow, deny] = [0n, 0n];
  else [allow, deny] = [allow & ~bits, deny & ~bits];
  const label = `${channelLabel(channel)}: ${type} ${target}`;
  if (allow === 0n && deny === 0n) {
    if (existing) guild.deleteOverwrite(OPERATOR, channel.id, type, targetId);
    ctx.print(`${label}: no overwrite`);
    return;
  }
  guild.setOverwrite(OPERATOR, channel.id, { type, target: targetId, allow, deny });
  ctx.print(`${label}: allow ${names(allow)}; deny ${names(deny)}`);
}

export const GUILD_COMMANDS: readonly Command<GuildContext>[] = [
  // ---- channels -----------------------------------------------------------------------------
  {
    name: 'channel add-text',
    synopsis: 'NAME [--topic T] [--category C]',
    summary: 'create a text channel (#NAME on IRC)',
    args: ['NAME'],
    options: ['topic', 'category'],
    run(ctx, [name], options) {
      const c = ctx.guild.createChannel(OPERATOR, { kind: 'text', name: name!, topic: text(options, 'topic'), categoryId: text(options, 'category') });
      ctx.print(`created text channel ${channelLabel(c)}`);
    },
  },
  {
    name: 'channel add-voice',
    synopsis: 'NAME [--category C]',
    summary: 'create a voice channel (in Murmur too)',
    args: ['NAME'],
    options: ['category'],
    run(ctx, [name], options) {
      const c = ctx.guild.createChannel(OPERATOR, { kind: 'voice', name: name!, categoryId: text(options, 'category') });
      ctx.voiceChanged();
      ctx.print(`created voice channel ${c.name}`);
    },
  },
  {
    name: 'channel list',
    synopsis: '',
    summary: 'list text and voice channels',
    args: [],
    run(ctx) {
      const s = ctx.guild.snapshot();
      const rows = s.channels.map((c) => [
        c.id,
        c.kind,
        channelLabel(c),
        s.categories.find((k) => k.id === c.categoryId)?.name ?? '-',
        c.kind === 'voice' ? String(c.murmurChannelId ?? '-') : '',
        c.topic,
      ]);
      ctx.print(formatTable(['ID', 'KIND', 'NAME', 'CATEGORY', 'MURMUR', 'TOPIC'], rows));
    },
  },
  {
    name: 'channel topic',
    synopsis: 'NAME TEXT',
    summary: 'set a channel topic ("" clears it)',
    args: ['NAME'],
    optional: { name: 'TEXT', rest: true },
    run(ctx, [name, ...words]) {
      if (words.length === 0) throw new UsageError('"channel topic" needs NAME TEXT (use "" to clear the topic)');
      const c = ctx.guild.updateChannel(OPERATOR, name!, { topic: words.join(' ') });
      ctx.print(c.topic ? `topic of ${channelLabel(c)}: ${c.topic}` : `topic of ${channelLabel(c)} cleared`);
    },
  },
  {
    name: 'channel rename',
    synopsis: 'NAME NEW',
    summary: 'rename a channel (a text channel keeps its history)',
    args: ['NAME', 'NEW'],
    run(ctx, [name, to]) {
      const before = ctx.guild.channel(name!);
      const c = ctx.guild.updateChannel(OPERATOR, before.id, { name: to! });
      if (c.kind === 'voice') ctx.voiceChanged();
      ctx.print(`renamed ${channelLabel(before)} to ${channelLabel(c)}`);
    },
  },
  {
    name: 'channel remove',
    synopsis: 'NAME',
    summary: 'delete a channel',
    args: ['NAME'],
    run(ctx, [name]) {
      const c = ctx.guild.channel(name!);
      ctx.guild.deleteChannel(OPERATOR, c.id);
      if (c.kind === 'voice') ctx.voiceChanged();
      ctx.print(`removed ${c.kind} channel ${channelLabel(c)}`);
    },
  },
  ...(['allow', 'deny', 'clear'] as const).map((verb): Command<GuildContext> => ({
    name: `channel ${verb}`,
    synopsis: verb === 'clear' ? 'NAME role|member TARGET [PERM,...]' : 'NAME role|member TARGET PERM[,PERM...]',
    summary:
      verb === 'allow'
        ? 'allow permissions in a channel for a role or member (an overwrite)'
        : verb === 'deny'
          ? 'deny permissions in a channel for a role or member'
          : 'drop permissions from an overwrite (all of it without PERM)',
    args: ['NAME', 'role|member', 'TARGET'],
    optional: { name: 'PERM,...' },
    run(ctx, args) {
      editOverwrite(ctx, verb, args);
    },
  })),

  // ---- categories ---------------------------------------------------------------------------
  {
    name: 'category add',
    synopsis: 'NAME',
    summary: 'create a channel category',
    args: ['NAME'],
    run(ctx, [name]) {
      const c = ctx.guild.createCategory(OPERATOR, { name: name! });
      ctx.print(`created category ${c.name} (id ${c.id})`);
    },
  },
  {
    name: 'category list',
    synopsis: '',
    summary: 'list categories',
    args: [],
    run(ctx) {
      ctx.print(
        formatTable(
          ['ID', 'POSITION', 'NAME'],
          ctx.guild.snapshot().categories.map((c) => [c.id, String(c.position), c.name]),
        ),
      );
    },
  },
  {
    name: 'category remove',
    synopsis: 'NAME',
    summary: 'delete a category (its channels stay)',
    args: ['NAME'],
    run(ctx, [name]) {
      const c = ctx.guild.category(name!);
      ctx.guild.deleteCategory(OPERATOR, c.id);
      ctx.print(`removed category ${c.name}`);
    },
  },

  // ---- roles --------------------------------------------------------------------------------
  {
    name: 'role add',
    synopsis: 'NAME [--permissions P,...]',
    summary: 'create a role just above @everyone',
    args: ['NAME'],
    options: ['permissions'],
    run(ctx, [name], options) {
      const perms = text(options, 'permissions');
      const r = ctx.guild.createRole(OPERATOR, { name: name!, permissions: perms === undefined ? undefined : parsePermissionList(perms) });
      ctx.print(`created role ${r.name} (id ${r.id}): ${names(r.permissions)}`);
    },
  },
  {
    name: 'role list',
    synopsis: '',
    summary: 'list roles, most senior first',
    args: [],
    run(ctx) {
      const roles = [...ctx.guild.snapshot().roles.values()].sort((a, b) => b.position - a.position);
      // The upload limit column appears once a role sets one: most servers never do.
      if (roles.every((r) => r.maxUploadBytes == null)) {
        ctx.print(
          formatTable(
            ['ID', 'POSITION', 'NAME', 'PERMISSIONS'],
            roles.map((r) => [r.id, String(r.position), r.name, names(r.permissions)]),
          ),
        );
        return;
      }
      const limit = (bytes: number | null | undefined) => (bytes == null ? '-' : formatByteSize(bytes));
      ctx.print(
        formatTable(
          ['ID', 'POSITION', 'NAME', 'UPLOAD LIMIT', 'PERMISSIONS'],
          roles.map((r) => [r.id, String(r.position), r.name, limit(r.maxUploadBytes), names(r.permissions)]),
        ),
      );
    },
  },
  {
    name: 'role limit',
    synopsis: 'ROLE BYTES|none',
    summary: "set the largest upload a role allows (500M, 2G, 1048576); a member gets the largest of their roles', else the server default",
    args: ['ROLE', 'BYTES|none'],
    run(ctx, [name, size]) {
      const role = ctx.guild.role(name!);
      const bytes = size!.toLowerCase() === 'none' ? null : parseByteSize(size!);
      const r = ctx.guild.updateRole(OPERATOR, role.id, { maxUploadBytes: bytes });
      ctx.print(
        `${r.name}: ${r.maxUploadBytes == null ? 'no upload limit of its own (the server default applies)' : `uploads up to ${formatByteSize(r.maxUploadBytes)} (${r.maxUploadBytes} bytes)`}`,
      );
    },
  },
  ...(['grant', 'revoke'] as const).map((verb): Command<GuildContext> => ({
    name: `role ${verb}`,
    synopsis: 'ROLE PERM[,PERM...]',
    summary: verb === 'grant' ? 'add permissions to a role' : 'take permissions from a role',
    args: ['ROLE', 'PERM,...'],
    run(ctx, [name, perms]) {
      const role = ctx.guild.role(name!);
      const bits = parsePermissionList(perms!);
      const r = ctx.guild.updateRole(OPERATOR, role.id, { permissions: verb === 'grant' ? role.permissions | bits : role.permissions & ~bits });
      ctx.print(`${r.name}: ${names(r.permissions)}`);
    },
  })),
  {
    name: 'role remove',
    synopsis: 'NAME',
    summary: 'delete a role',
    args: ['NAME'],
    run(ctx, [name]) {
      const r = ctx.guild.role(name!);
      ctx.guild.deleteRole(OPERATOR, r.id);
      ctx.print(`removed role ${r.name}`);
    },
  },

  // ---- members ------------------------------------------------------------------------------
  {
    name: 'member list',
    synopsis: '',
    summary: 'list members with their roles and timeouts',
    args: [],
    run(ctx) {
      const s = ctx.guild.snapshot();
      const now = Date.now();
      const rows = [...s.members.values()].map((m) => [
        m.username,
        m.roleIds.map((id) => s.roles.get(id)?.name ?? id).join(',') || '-',
        m.timeoutUntil !== null && m.timeoutUntil > now ? time(m.timeoutUntil) : '-',
        [s.settings.ownerId === m.id ? 'owner' : '', m.isAdmin ? 'admin' : ''].filter(Boolean).join(',') || '-',
      ]);
      ctx.print(formatTable(['NAME', 'ROLES', 'TIMED OUT UNTIL', 'FLAGS'], rows));
    },
  },
  ...(['add', 'remove'] as const).map((verb): Command<GuildContext> => ({
    name: `member role ${verb}`,
    synopsis: 'USER ROLE',
    summary: verb === 'add' ? 'give a member a role' : 'take a role from a member',
    args: ['USER', 'ROLE'],
    run(ctx, [user, role]) {
      const m = verb === 'add' ? ctx.guild.addMemberRole(OPERATOR, user!, role!) : ctx.guild.removeMemberRole(OPERATOR, user!, role!);
      const s = ctx.guild.snapshot();
      ctx.print(`${m.username}: ${m.roleIds.map((id) => s.roles.get(id)?.name ?? id).join(',') || 'no roles'}`);
    },
  })),
  {
    name: 'member kick',
    synopsis: 'USER [REASON]',
    summary: 'remove a member (disconnected; may rejoin with an invite)',
    args: ['USER'],
    optional: { name: 'REASON', rest: true },
    run(ctx, [user, ...reason]) {
      ctx.guild.kick(OPERATOR, user!, reason.join(' '));
      ctx.print(`kicked ${user}`);
    },
  },
  {
    name: 'member ban',
    synopsis: 'USER [REASON]',
    summary: 'ban an account (disconnected; cannot rejoin)',
    args: ['USER'],
    optional: { name: 'REASON', rest: true },
    run(ctx, [user, ...reason]) {
      ctx.guild.ban(OPERATOR, user!, reason.join(' '));
      ctx.print(`banned ${user}`);
    },
  },
  {
    name: 'member unban',
    synopsis: 'USER',
    summary: 'lift a ban',
    args: ['USER'],
    run(ctx, [user]) {
      ctx.guild.unban(OPERATOR, user!);
      ctx.print(`unbanned ${user}`);
    },
  },
  {
    name: 'member timeout',
    synopsis: 'USER DURATION [REASON]',
    summary: 'time a member out, e.g. 10m, 2h, 1d (at most 28d)',
    args: ['USER', 'DURATION'],
    optional: { name: 'REASON', rest: true },
    run(ctx, [user, duration, ...reason]) {
      const m = ctx.guild.timeout(OPERATOR, user!, Date.now() + parseDuration(duration!), reason.join(' '));
      ctx.print(`${m.username} is timed out until ${time(m.timeoutUntil)}`);
    },
  },
  {
    name: 'member untimeout',
    synopsis: 'USER',
    summary: 'lift a timeout',
    args: ['USER'],
    run(ctx, [user]) {
      const m = ctx.guild.timeout(OPERATOR, user!, null);
      ctx.print(`${m.username} is no longer timed out`);
    },
  },

  // ---- the guild ----------------------------------------------------------------------------
  {
    name: 'guild show',
    synopsis: '',
    summary: 'the server name, owner and settings',
    args: [],
    run(ctx) {
      const s = ctx.guild.snapshot();
      const st = s.settings;
      const rows = [
        ['name', st.name],
        ['description', st.description || '-'],
        ['icon', st.icon ?? '-'],
        ['owner', st.ownerId === null ? '-' : usernameOf(s, Number(st.ownerId))],
        ['adhoc channels', st.adhocChannels ? 'on' : 'off'],
        ['members', String(s.members.size)],
        ['channels', `${s.channels.filter((c) => c.kind === 'text').length} text, ${s.channels.filter((c) => c.kind === 'voice').length} voice`],
        ['roles', String(s.roles.size)],
        ['bans', String(s.bans.size)],
      ];
      ctx.print(rows.map(([k, v]) => `${k!.padEnd(15)} ${v}`).join('\n'));
    },
  },
  {
    name: 'guild set',
    synopsis: 'name|description|icon|adhoc|owner VALUE',
    summary: 'change a setting (adhoc on|off; icon none removes it)',
    args: ['SETTING', 'VALUE'],
    run(ctx, [setting, value]) {
      const v = value!;
      switch (setting) {
        case 'name':
          ctx.guild.updateSettings(OPERATOR, { name: v });
          break;
        case 'description':
          ctx.guild.updateSettings(OPERATOR, { description: v });
          break;
        case 'icon':
          ctx.guild.updateSettings(OPERATOR, { icon: v === '' || v === 'none' ? null : v });
          break;
        case 'adhoc':
          ctx.guild.updateSettings(OPERATOR, { adhocChannels: parseSwitch(v) });
          break;
        case 'owner':
          ctx.guild.updateSettings(OPERATOR, { owner: v });
          break;
        default:
          throw new UsageError(`unknown setting "${setting}": name, description, icon, adhoc or owner`);
      }
      ctx.print(`${setting} set`);
    },
  },

  // ---- invites and the audit log ------------------------------------------------------------
  {
    name: 'invite create',
    synopsis: '[--max-uses N] [--expires SECONDS]',
    summary: 'make an invite code (registers new accounts, readmits kicked ones)',
    args: [],
    options: ['max-uses', 'expires'],
    run(ctx, _args, options) {
      const invite = ctx.guild.createInvite(OPERATOR, {
        maxUses: parsePositiveInt(text(options, 'max-uses'), '--max-uses'),
        expiresInSeconds: parsePositiveInt(text(options, 'expires'), '--expires'),
      });
      ctx.print(invite.code);
    },
  },
  {
    name: 'invite list',
    synopsis: '',
    summary: 'list live invites',
    args: [],
    run(ctx) {
      const rows = ctx.guild
        .listInvites(OPERATOR)
        .map((i) => [i.code, String(i.uses), i.maxUses === null ? '-' : String(i.maxUses), time(i.expiresAt), i.createdBy ?? 'operator']);
      ctx.print(formatTable(['CODE', 'USES', 'MAX', 'EXPIRES', 'BY'], rows));
    },
  },
  {
    name: 'invite revoke',
    synopsis: 'CODE',
    summary: 'revoke an invite',
    args: ['CODE'],
    run(ctx, [code]) {
      ctx.guild.revokeInvite(OPERATOR, code!);
      ctx.print(`revoked ${code}`);
    },
  },
  {
    name: 'audit',
    synopsis: '[--limit N] [--action A] [--actor NAME]',
    summary: 'the audit log, newest first',
    args: [],
    options: ['limit', 'action', 'actor'],
    run(ctx, _args, options) {
      const entries = ctx.guild.auditLog(OPERATOR, {
        limit: parsePositiveInt(text(options, 'limit'), '--limit'),
        action: text(options, 'action'),
        actor: text(options, 'actor'),
      });
      const rows = entries.map((e) => [
        time(e.time),
        e.actor,
        e.action,
        e.targetName ?? e.targetId ?? '-',
        [e.reason ? `reason: ${e.reason}` : '', e.changes ? JSON.stringify(e.changes) : ''].filter(Boolean).join(' '),
      ]);
      ctx.print(formatTable(['TIME', 'ACTOR', 'ACTION', 'TARGET', 'DETAILS'], rows));
    },
  },
];
