/**
 * What the signalling service asks the control server (gRPC Access service,
 * `proto/alloquy/control/v1/access.proto`): who holds a token, and whether they may connect to or
 * publish video in a voice channel, and who the people named by a DM call are. Nothing is cached, so a role change or a ban applies to the
 * next join or publish.
 *
 * Failures become SignallingErrors: a bad token `invalid_token`, a disabled account or a missing
 * permission `forbidden`, an unknown channel `not_found`, a control server down or late
 * `control_unavailable`: never a join let through by default.
 */
import { AccessClient, askAccess } from '@alloquy/access';
import { SignallingError, signallingError } from '../errors/signalling-error.js';

export interface Identity {
  account: string;
  accountId: number;
  /** A guild member now (not kicked, not banned). */
  member: boolean;
}

/** An account named by someone else (the people of a DM call); `accountId` 0 when there is none. */
export interface AccountInfo {
  account: string;
  accountId: number;
  member: boolean;
  disabled: boolean;
}

export interface VoiceGrant extends Identity {
  channelId: string;
  /** The channel's canonical (display) name. */
  channelName: string;
}

/** The questions the service asks; GrpcVoiceAccess answers them from the control server. */
export interface VoiceAccess {
  identify(token: string): Promise<Identity>;
  /** Resolves when the bearer holds every permission in the voice channel; else a SignallingError. */
  authorizeVoice(token: string, channel: string, permissions: readonly VoicePermission[], what: string): Promise<VoiceGrant>;
  /** One answer per name, in order. */
  lookupAccounts(names: readonly string[]): Promise<AccountInfo[]>;
  close(): void;
}

export type VoicePermission = 'CONNECT' | 'SPEAK' | 'VIDEO';

export class GrpcVoiceAccess implements VoiceAccess {
  private readonly client: AccessClient;

  constructor(options: { address: string; timeoutMs?: number }) {
    this.client = new AccessClient({ address: options.address, timeoutMs: options.timeoutMs });
  }

  async identify(token: string): Promise<Identity> {
    const answer = await ask(() => this.client.identify({ token }));
    return { account: answer.account, accountId: Number(answer.account_id), member: answer.member };
  }

  async lookupAccounts(names: readonly string[]): Promise<AccountInfo[]> {
    const answer = await ask(() => this.client.lookupAccounts({ accounts: [...names] }));
    return answer.accounts.map((a) => ({ account: a.account, accountId: Number(a.account_id), member: a.member, disabled: a.disabled }));
  }

  async authorizeVoice(token: string, channel: string, permissions: readonly VoicePermission[], what: string): Promise<VoiceGrant> {
    // A decimal string is a channel id (it survives renames); anything else a display name.
    const ref = /^\d{1,19}$/.test(channel) ? { id: channel } : { name: channel };
    const decision = await ask(() => this.client.authorizeChannel({ token, channel: { kind: 'CHANNEL_KIND_VOICE', ...ref }, permissions: [...permissions] }));
    if (!decision.member) throw new SignallingError('forbidden', 'you are not a member of this server');
    if (!decision.allowed) throw new SignallingError('forbidden', `${what} in ${decision.channel.name} needs ${decision.missing.join(' and ')}`);
    return {
      account: decision.account,
      accountId: Number(decision.account_id),
      member: decision.member,
      channelId: decision.channel.id,
      channelName: decision.channel.name,
    };
  }

  close(): void {
    this.client.close();
  }
}

function ask<T>(call: () => Promise<T>): Promise<T> {
  return askAccess(call, signallingError);
}
