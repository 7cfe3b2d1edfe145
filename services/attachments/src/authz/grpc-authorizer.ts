/**
 * The Authorizer over gRPC: every question goes to the control server's Access service
 * (`proto/alloquy/control/v1/access.proto`), which answers from its live guild snapshot, so a
 * role change or a ban applies to the very next request. Nothing is cached here.
 *
 * Failures become AttachmentErrors the HTTP layer can send as they are: a bad token is
 * `invalid_token` (401), a disabled account or a missing permission `forbidden` (403), an unknown
 * channel `not_found` (404), and a control server that is down or does not answer before the
 * deadline `control_unavailable` (503): never an upload let through by default.
 */
import {
  AccessClient,
  accessFailure,
  askAccess,
  type AccessCallError,
  type ChannelDecision,
  type ChannelInfo,
  type ChannelRef as WireChannelRef,
} from '@alloquy/access';
import { AttachmentError, attachmentError } from '../errors/attachment-error.js';
import type { Authorizer, ChannelRef, ChannelSummary, Principal, UploadGrant } from './authorizer.js';

export interface GrpcAuthorizerOptions {
  /** The control server's gRPC address, `host:port` (the attachments config's `control.grpcAddress`). */
  address: string;
  /** Deadline of each call in ms (default 3000); past it the control server counts as unavailable. */
  timeoutMs?: number;
}

/** Longer than any token the control server mints; refused here without a call. */
const MAX_TOKEN_CHARS = 8192;

const GUILD_ACTIONS = { manage_emojis: 'MANAGE_EMOJIS', manage_guild: 'MANAGE_GUILD' } as const;

export class GrpcAuthorizer implements Authorizer {
  private readonly client: AccessClient;

  constructor(options: GrpcAuthorizerOptions) {
    this.client = new AccessClient({ address: options.address, timeoutMs: options.timeoutMs });
  }

  async identify(token: string): Promise<Principal> {
    checkToken(token);
    const answer = await this.ask(() => this.client.identify({ token }));
    return { account: answer.account, accountId: answer.account_id };
  }

  async authorizeUpload(token: string, channel: string): Promise<UploadGrant> {
    checkToken(token);
    const decision = await this.ask(() => this.client.authorizeChannel({ token, channel: textChannel(channel), permissions: ['ATTACH_FILES'] }));
    if (!decision.allowed) throw refusal(decision, 'uploading files');
    return { account: decision.account, accountId: decision.account_id, maxBytes: decision.max_upload_bytes, channel: summary(decision.channel) };
  }

  async canRead(account: string | number, channel: ChannelRef): Promise<boolean> {
    const who = typeof account === 'number' ? { account_id: account } : { account };
    try {
      const decision = await this.ask(() => this.client.checkAccount({ ...who, channel: textChannel(channel), permissions: ['VIEW_CHANNEL', 'READ_HISTORY'] }));
      return decision.allowed;
    } catch (err) {
      if (err instanceof AttachmentError && err.code === 'not_found') return false;
      throw err;
    }
  }

  async isPublicChannel(channel: ChannelRef): Promise<boolean> {
    try {
      const info = await this.ask(() => this.client.getChannel({ channel: textChannel(channel) }));
      return info.is_public;
    } catch (err) {
      if (err instanceof AttachmentError && err.code === 'not_found') return false;
      throw err;
    }
  }

  async authorizeGuildAction(token: string, action: 'manage_emojis' | 'manage_guild'): Promise<Principal> {
    checkToken(token);
    const permission = GUILD_ACTIONS[action];
    const decision = await this.ask(() => this.client.authorizeGuild({ token, permissions: [permission] }));
    if (!decision.allowed) {
      throw new AttachmentError('forbidden', decision.member ? `this needs the ${permission} permission` : 'you are not a member of this server');
    }
    return { account: decision.account, accountId: decision.account_id };
  }

  /** Closes the connection to the control server; calls after this fail with `control_unavailable`. */
  close(): void {
    this.client.close();
  }

  private ask<T>(call: () => Promise<T>): Promise<T> {
    return askAccess(call, attachmentError);
  }
}

function checkToken(token: string): void {
  if (token === '') throw new AttachmentError('unauthorized', 'an access token is required');
  if (token.length > MAX_TOKEN_CHARS) throw new AttachmentError('invalid_token', 'the access token is not valid');
}

function textChannel(channel: ChannelRef): WireChannelRef {
  return typeof channel === 'string' ? { kind: 'CHANNEL_KIND_TEXT', name: channel } : { kind: 'CHANNEL_KIND_TEXT', id: channel.id };
}

function summary(info: ChannelInfo): ChannelSummary {
  return { id: info.id, name: info.name, public: info.is_public };
}

function refusal(decision: ChannelDecision, what: string): AttachmentError {
  if (!decision.member) return new AttachmentError('forbidden', 'you are not a member of this server');
  return new AttachmentError('forbidden', `${what} in #${decision.channel.name} needs ${decision.missing.join(' and ')}`);
}

export function toAttachmentError(err: AccessCallError): AttachmentError {
  return accessFailure(err, attachmentError);
}
