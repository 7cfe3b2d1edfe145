/**
 * What the signalling service asks the control server (gRPC Access service,
 * `proto/alloquy/control/v1/access.proto`): who holds a token, and whether they may connect to or
 * publish video in a voice channel. Nothing is cached, so a role change or a ban applies to the
 * next join or publish.
 *
 * Failures become SignallingErrors: a bad token `invalid_token`, a disabled account or a missing
 * permission `forbidden`, an unknown channel `not_found`, a control server down or late
 * `control_unavailable`: never a join let through by default.
 */
import { AccessCallError, AccessClient } from '@alloquy/control/grpc/access-client.js';
import { status } from '@grpc/grpc-js';
import { SignallingError, type SignallingErrorCode } from '../errors/signalling-error.js';

export interface Identity {
  account: string;
  accountId: number;
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
    return { account: answer.account, accountId: Number(answer.account_id) };
  }

  async authorizeVoice(token: string, channel: string, permissions: readonly VoicePermission[], what: string): Promise<VoiceGrant> {
    // A decimal string is a channel id (it survives renames); anything else a display name.
    const ref = /^\d{1,19}$/.test(channel) ? { id: channel } : { name: channel };
    const decision = await ask(() => this.client.authorizeChannel({ token, channel: { kind: 'CHANNEL_KIND_VOICE', ...ref }, permissions: [...permissions] }));
    if (!decision.member) throw new SignallingError('forbidden', 'you are not a member of this server');
    if (!decision.allowed) throw new SignallingError('forbidden', `${what} in ${decision.channel.name} needs ${decision.missing.join(' and ')}`);
    return { account: decision.account, accountId: Number(decision.account_id), channelId: decision.channel.id, channelName: decision.channel.name };
  }

  close(): void {
    this.client.close();
  }
}

async function ask<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof AccessCallError) throw toSignallingError(err);
    throw err;
  }
}

/** gRPC status → our code; anything else (INTERNAL, UNIMPLEMENTED, ...) is the control server's fault: `bad_gateway`. */
const STATUS_TO_CODE: ReadonlyMap<status, SignallingErrorCode> = new Map([
  [status.UNAUTHENTICATED, 'invalid_token'],
  [status.PERMISSION_DENIED, 'forbidden'],
  [status.NOT_FOUND, 'not_found'],
  [status.INVALID_ARGUMENT, 'invalid_request'],
  [status.UNAVAILABLE, 'control_unavailable'],
  [status.DEADLINE_EXCEEDED, 'control_unavailable'],
  [status.CANCELLED, 'control_unavailable'],
  [status.RESOURCE_EXHAUSTED, 'control_unavailable'],
]);

export function toSignallingError(err: AccessCallError): SignallingError {
  const code = STATUS_TO_CODE.get(err.code) ?? 'bad_gateway';
  if (code === 'control_unavailable') {
    const why = err.code === status.DEADLINE_EXCEEDED ? 'did not answer in time' : 'cannot be reached';
    return new SignallingError(code, `the control server ${why}; try again shortly`);
  }
  if (code === 'bad_gateway') return new SignallingError(code, 'the control server could not answer the permission check');
  return new SignallingError(code, err.message);
}
