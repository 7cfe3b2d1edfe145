/**
 * The answers of the Access service, apart from gRPC plumbing: every request is validated, the
 * token (if any) is verified by the AccountService, and the question is answered from the
 * guild's current snapshot with the same permission math the HTTP API, IRC and Murmur use.
 * A failure is an {@link AccessFailure} carrying the gRPC status the caller will see.
 */
import { status } from '@grpc/grpc-js';
import type { Account, AccountService } from '../accounts/account-service.js';
import { ControlError } from '../errors/control-error.js';
import {
  type Channel,
  type GuildSnapshot,
  type GuildSource,
  type Member,
  channelByName,
  channelPermissionsOf,
  defaultMemberPermissions,
  guildPermissionsOf,
  maxUploadBytesOf,
} from '../guild/model.js';
import { InvalidPermissionsError, Permission, has, permissionNames, permissionsFromNames } from '@alloquy/protocol/permissions';
import type {
  AuthorizeChannelRequest,
  AuthorizeGuildRequest,
  ChannelDecision,
  ChannelInfo,
  ChannelKindName,
  ErrorReason,
  GetChannelRequest,
  GuildDecision,
  IdentifyRequest,
  IdentifyResponse,
  LookupAccountsRequest,
  LookupAccountsResponse,
  ReceivedChannelRef,
} from '@alloquy/access';

/** Bounds on request fields: enough for any real value, small enough that no request is costly. */
export const LIMITS = Object.freeze({ tokenChars: 8192, channelNameChars: 200, accountNameChars: 64, permissions: 64, lookupAccounts: 25 });

export class AccessFailure extends Error {
  override name = 'AccessFailure';
  constructor(
    readonly code: status,
    readonly reason: ErrorReason,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string) => new AccessFailure(status.INVALID_ARGUMENT, 'invalid_request', message);

/** A CheckAccount request as received: the oneof `who` names the member that is set. */
export interface ReceivedCheckAccountRequest {
  account?: string;
  account_id?: number;
  who?: 'account' | 'account_id';
  channel: ReceivedChannelRef | null;
  permissions: string[];
}

export interface ReceivedAuthorizeChannelRequest extends Omit<AuthorizeChannelRequest, 'channel'> {
  channel: ReceivedChannelRef | null;
}

export interface ReceivedGetChannelRequest extends Omit<GetChannelRequest, 'channel'> {
  channel: ReceivedChannelRef | null;
}

export interface AccessHandlersDeps {
  accounts: Pick<AccountService, 'authenticateAccessToken' | 'find' | 'byId'>;
  guild: Pick<GuildSource, 'snapshot'>;
  /** Upload limit of a member none of whose roles sets one. */
  defaultMaxUploadBytes: number;
  now?: () => number;
}

export class AccessHandlers {
  private readonly now: () => number;

  constructor(private readonly deps: AccessHandlersDeps) {
    this.now = deps.now ?? Date.now;
  }

  identify(req: IdentifyRequest): IdentifyResponse {
    const account = this.authenticate(req.token);
    const member = this.deps.guild.snapshot().members.get(String(account.id));
    return { account: account.username, account_id: account.id, member: member !== undefined, admin: account.isAdmin };
  }

  authorizeChannel(req: ReceivedAuthorizeChannelRequest): ChannelDecision {
    const flags = requestedPermissions(req.permissions);
    const ref = channelRef(req.channel);
    const account = this.authenticate(req.token);
    return this.channelDecision(account, ref, flags);
  }

  checkAccount(req: ReceivedCheckAccountRequest): ChannelDecision {
    const flags = requestedPermissions(req.permissions);
    const ref = channelRef(req.channel);
    let account: Account | undefined;
    if (req.who === 'account') {
      const name = req.account ?? '';
      if (name === '' || name.length > LIMITS.accountNameChars) throw invalid(`an account name is 1 to ${LIMITS.accountNameChars} characters`);
      account = this.deps.accounts.find(name);
    } else if (req.who === 'account_id') {
      const id = req.account_id ?? 0;
      if (!Number.isSafeInteger(id) || id < 1) throw invalid('an account id is a whole number of at least 1');
      account = this.deps.accounts.byId(id);
    } else {
      throw invalid('name the account: set account or account_id');
    }
    return this.channelDecision(account, ref, flags);
  }

  authorizeGuild(req: AuthorizeGuildRequest): GuildDecision {
    const flags = requestedPermissions(req.permissions);
    const account = this.authenticate(req.token);
    const snapshot = this.deps.guild.snapshot();
    const member = snapshot.members.get(String(account.id));
    const missing = flags & ~guildPermissionsOf(snapshot, member, this.now());
    return {
      account: account.username,
      account_id: account.id,
      member: member !== undefined,
      allowed: member !== undefined && missing === 0n,
      missing: permissionNames(missing),
    };
  }

  getChannel(req: ReceivedGetChannelRequest): ChannelInfo {
    const ref = channelRef(req.channel);
    const snapshot = this.deps.guild.snapshot();
    return channelInfo(snapshot, resolveChannel(snapshot, ref), this.now());
  }

  lookupAccounts(req: LookupAccountsRequest): LookupAccountsResponse {
    const names = req.accounts ?? [];
    if (names.length === 0 || names.length > LIMITS.lookupAccounts) throw invalid(`name 1 to ${LIMITS.lookupAccounts} accounts`);
    for (const name of names) {
      if (typeof name !== 'string' || name === '' || name.length > LIMITS.accountNameChars)
        throw invalid(`an account name is 1 to ${LIMITS.accountNameChars} characters`);
    }
    const members = this.deps.guild.snapshot().members;
    return {
      accounts: names.map((name) => {
        const account = this.deps.accounts.find(name);
        if (!account) return { account: '', account_id: 0, member: false, disabled: false };
        return { account: account.username, account_id: account.id, member: members.has(String(account.id)), disabled: account.disabled };
      }),
    };
  }

  /** An unknown account (CheckAccount) is answered like a non-member: nothing allowed. */
  private channelDecision(account: Account | undefined, ref: ChannelLookup, flags: bigint): ChannelDecision {
    const snapshot = this.deps.guild.snapshot();
    const channel = resolveChannel(snapshot, ref);
    const now = this.now();
    const member: Member | undefined = account && snapshot.members.get(String(account.id));
    const missing = flags & ~channelPermissionsOf(snapshot, member, channel, now);
    return {
      account: account?.username ?? '',
      account_id: account?.id ?? 0,
      member: member !== undefined,
      allowed: member !== undefined && missing === 0n,
      missing: permissionNames(missing),
      max_upload_bytes: maxUploadBytesOf(snapshot, member, this.deps.defaultMaxUploadBytes, now),
      channel: channelInfo(snapshot, channel, now),
    };
  }

  private authenticate(token: string): Account {
    if (typeof token !== 'string' || token === '') throw new AccessFailure(status.UNAUTHENTICATED, 'invalid_token', 'no access token was given');
    if (token.length > LIMITS.tokenChars) throw invalid(`an access token is at most ${LIMITS.tokenChars} characters`);
    try {
      return this.deps.accounts.authenticateAccessToken(token);
    } catch (err) {
      if (err instanceof ControlError && err.code === 'invalid_token') throw new AccessFailure(status.UNAUTHENTICATED, 'invalid_token', err.message);
      if (err instanceof ControlError && err.code === 'account_disabled') throw new AccessFailure(status.PERMISSION_DENIED, 'account_disabled', err.message);
      throw err;
    }
  }
}

type ChannelLookup = { kind: 'text' | 'voice' } & ({ by: 'name'; name: string } | { by: 'id'; id: string });

const KINDS: Readonly<Record<string, 'text' | 'voice'>> = { CHANNEL_KIND_TEXT: 'text', CHANNEL_KIND_VOICE: 'voice' };
const KIND_NAMES: Readonly<Record<'text' | 'voice', ChannelKindName>> = { text: 'CHANNEL_KIND_TEXT', voice: 'CHANNEL_KIND_VOICE' };

function channelRef(ref: ReceivedChannelRef | null | undefined): ChannelLookup {
  if (!ref) throw invalid('name the channel: channel is required');
  const kind = typeof ref.kind === 'string' && Object.hasOwn(KINDS, ref.kind) ? KINDS[ref.kind]! : undefined;
  if (!kind) throw invalid('a channel reference needs its kind: CHANNEL_KIND_TEXT or CHANNEL_KIND_VOICE');
  if (ref.ref === 'name') {
    const name = ref.name ?? '';
    if (name === '' || name.length > LIMITS.channelNameChars) throw invalid(`a channel name is 1 to ${LIMITS.channelNameChars} characters`);
    return { kind, by: 'name', name };
  }
  if (ref.ref === 'id') {
    const id = ref.id ?? '';
    if (!/^[1-9][0-9]{0,15}$/.test(id)) throw invalid('a channel id is a positive decimal number');
    return { kind, by: 'id', id };
  }
  throw invalid('a channel reference needs a name or an id');
}

function resolveChannel(snapshot: GuildSnapshot, ref: ChannelLookup): Channel {
  const found = ref.by === 'id' ? snapshot.channels.find((c) => c.kind === ref.kind && c.id === ref.id) : channelByName(snapshot, ref.kind, ref.name);
  if (!found) {
    const what = ref.by === 'id' ? `with id ${ref.id}` : ref.kind === 'text' ? `#${ref.name.replace(/^#/, '')}` : `"${ref.name}"`;
    throw new AccessFailure(status.NOT_FOUND, 'not_found', `there is no ${ref.kind} channel ${what}`);
  }
  return found;
}

function requestedPermissions(names: readonly string[] | null | undefined): bigint {
  if (!names || names.length === 0) throw invalid('name at least one permission to check');
  if (names.length > LIMITS.permissions) throw invalid(`at most ${LIMITS.permissions} permissions per request`);
  try {
    return permissionsFromNames(names);
  } catch (err) {
    if (err instanceof InvalidPermissionsError) throw invalid(err.message);
    throw err;
  }
}

/**
 * Public: a member with no roles may see the channel and, for text, read what was posted there
 * (attachments live in history). Anything less and its files are served to readers only.
 */
function isPublic(snapshot: GuildSnapshot, channel: Channel, now: number): boolean {
  const needed = channel.kind === 'text' ? Permission.VIEW_CHANNEL | Permission.READ_HISTORY : Permission.VIEW_CHANNEL;
  return has(defaultMemberPermissions(snapshot, channel, now), needed);
}

function channelInfo(snapshot: GuildSnapshot, channel: Channel, now: number): ChannelInfo {
  return { id: channel.id, name: channel.name, kind: KIND_NAMES[channel.kind], is_public: isPublic(snapshot, channel, now), created_at_ms: channel.createdAt };
}
