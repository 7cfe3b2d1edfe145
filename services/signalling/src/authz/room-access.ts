/**
 * Who may be in which room. A voice room follows the voice channel's permissions: CONNECT to
 * join and watch; SPEAK and VIDEO besides to publish (a camera or a screen is speaking to the
 * channel, so a member a moderator silenced there, or timed out, does not broadcast either). A DM call has no channel and no VIDEO bit, as in Discord: everyone it
 * names may join and share video, as long as they are all members of the server (not kicked,
 * banned or disabled). Asked at every join and publish, never cached.
 */
import { SignallingError } from '../errors/signalling-error.js';
import type { RoomRef } from '../rooms/room-name.js';
import type { Identity, VoiceAccess } from './voice-access.js';

export interface RoomGrant {
  kind: 'voice' | 'dm';
  /** What the room is keyed by: the voice channel's id, or the sorted account ids of a call. */
  key: string;
  /** As announced to clients: `voice:<canonical channel name>` or `dm:<names, sorted>`. */
  name: string;
  /** Voice rooms: the control server's channel id (a renamed channel stays the same room). */
  channelId?: string;
  /** DM calls: everyone the call is between, the caller included, sorted case-insensitively. */
  accounts?: string[];
}

export async function authorizeJoin(access: VoiceAccess, token: string, ref: RoomRef): Promise<RoomGrant> {
  if (ref.kind === 'voice') {
    const grant = await access.authorizeVoice(token, ref.channel, ['CONNECT'], 'joining');
    return { kind: 'voice', key: `voice:${grant.channelId}`, name: `voice:${grant.channelName}`, channelId: grant.channelId };
  }
  const caller = await memberIdentity(access, token);
  const others = ref.accounts.filter((name) => name.toLowerCase() !== caller.account.toLowerCase());
  if (others.length === 0) throw new SignallingError('invalid_message', 'name who to call: "dm:<account>"');
  const found = await access.lookupAccounts(others);
  const people = [{ account: caller.account, accountId: caller.accountId }];
  found.forEach((info, i) => {
    if (info.accountId === 0) throw new SignallingError('not_found', `there is no account ${others[i]}`);
    if (info.disabled || !info.member) throw new SignallingError('forbidden', `${info.account} is not a member of this server`);
    people.push({ account: info.account, accountId: info.accountId });
  });
  const ids = people.map((p) => p.accountId).sort((a, b) => a - b);
  const names = people.map((p) => p.account).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
  return { kind: 'dm', key: `dm:${ids.join(',')}`, name: `dm:${names.join(',')}`, accounts: names };
}

/** Re-checked at every publish: SPEAK and VIDEO in a voice room, membership in a call. */
export async function authorizePublish(access: VoiceAccess, token: string, room: Pick<RoomGrant, 'kind' | 'channelId'>, what: string): Promise<void> {
  if (room.kind === 'voice') await access.authorizeVoice(token, room.channelId!, ['CONNECT', 'SPEAK', 'VIDEO'], what);
  else await memberIdentity(access, token);
}

async function memberIdentity(access: VoiceAccess, token: string): Promise<Identity> {
  const identity = await access.identify(token);
  if (!identity.member) throw new SignallingError('forbidden', 'you are not a member of this server');
  return identity;
}
