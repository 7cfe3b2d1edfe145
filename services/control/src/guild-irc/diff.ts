/**
 * The difference between what a channel should look like (desired.ts) and what the hub says
 * it looks like (NetworkState), as the fewest KICKs, mode changes and topic change that close
 * it. Pure: mode letters come in resolved from the hub's CAPAB, users through a lookup.
 */
import type { ModeChange, NetworkChannel } from '../irc-link/index.js';
import { foldCase } from '@alloquy/protocol/irc';
import { isServicesMask, type DesiredChannel, type DesiredLists } from './desired.js';

/** Kick reasons users see. */
export const KICK_REASONS = {
  noAccount: 'Log in to your account to join guild channels',
  notMember: 'You are not a member of this guild',
  noView: 'You do not have access to this channel',
  adhoc: 'Channels outside the guild are disabled on this server',
  removed: 'This channel is no longer part of the guild',
} as const;

/** The hub's letters for the modes services use, by CAPAB name; absent when the hub lacks one. */
export interface ModeLetters {
  readonly ban?: string;
  readonly banexception?: string;
  readonly invex?: string;
  readonly inviteonly?: string;
  readonly reginvite?: string;
  readonly noextmsg?: string;
  readonly topiclock?: string;
  readonly history?: string;
  readonly op?: string;
  readonly voice?: string;
}

/** The CAPAB names ModeLetters reads. */
export const MODE_NAMES = ['ban', 'banexception', 'invex', 'inviteonly', 'reginvite', 'noextmsg', 'topiclock', 'history', 'op', 'voice'] as const;

/** What the diff needs to know about a user in the channel. */
export interface UserView {
  readonly account: string | null;
  /** One of our pseudo-clients (never kicked, never re-moded except HistServ's op). */
  readonly ours: boolean;
}

export interface DiffContext {
  readonly letters: ModeLetters;
  readonly user: (uid: string) => UserView | undefined;
  /** HistServ's UID: it must be opped. */
  readonly holder: string;
  /** `+H` parameter to set when the channel has no history mode; null to leave it alone. */
  readonly history: string | null;
  /** The topic as the hub will store it (services cut it to MAXTOPIC bytes). */
  readonly fitTopic: (topic: string) => string;
}

export interface Kick {
  readonly uid: string;
  readonly reason: string;
}

export interface ChannelPlan {
  readonly kicks: Kick[];
  /** In the order they should be sent (see planChannel). */
  readonly modes: ModeChange[];
  /** The topic to set, or null when it is right. */
  readonly topic: string | null;
}

/** Why a present user may not stay, or null when they may. */
export function kickReason(desired: DesiredChannel, user: UserView): string | null {
  if (user.ours) return null;
  if (user.account === null) return KICK_REASONS.noAccount;
  const access = desired.access.get(foldCase(user.account));
  if (!access) return KICK_REASONS.notMember;
  if (!access.view) return KICK_REASONS.noView;
  return null;
}

/**
 * Plan one guild channel. Mode changes are ordered so that nobody is wrongly shut out or
 * muted between two lines: exceptions and invite exceptions first, then bans, then the simple
 * modes (`+i` after the `+I` it needs), then removals of stale list entries, then prefixes.
 */
export function planChannel(desired: DesiredChannel, actual: NetworkChannel, ctx: DiffContext): ChannelPlan {
  const { letters } = ctx;
  const kicks: Kick[] = [];
  const staying: Array<{ uid: string; user: UserView; prefixes: string }> = [];
  for (const [uid, prefixes] of actual.members) {
    const user = ctx.user(uid);
    if (!user) continue;
    const reason = kickReason(desired, user);
    if (reason !== null) kicks.push({ uid, reason });
    else staying.push({ uid, user, prefixes });
  }

  const adds: ModeChange[] = [];
  const removals: ModeChange[] = [];
  const listOrder: Array<keyof DesiredLists> = ['banexception', 'invex', 'ban'];
  for (const name of listOrder) {
    const letter = letters[name];
    if (letter === undefined) continue;
    const wanted = desired.lists[name];
    const present = actual.lists.get(letter);
    for (const mask of wanted) if (!present?.has(mask)) adds.push({ adding: true, letter, param: mask });
    if (present) {
      for (const mask of present.keys()) {
        if (isServicesMask(mask) && !wanted.has(mask)) removals.push({ adding: false, letter, param: mask });
      }
    }
  }

  const simple: ModeChange[] = [];
  const wantSet = (letter: string | undefined, on: boolean): void => {
    if (letter === undefined || actual.modes.has(letter) === on) return;
    simple.push({ adding: on, letter });
  };
  wantSet(letters.noextmsg, true);
  wantSet(letters.topiclock, true);
  wantSet(letters.reginvite, true);
  wantSet(letters.inviteonly, desired.inviteOnly);
  if (letters.history !== undefined && ctx.history !== null && !actual.modes.has(letters.history)) {
    simple.push({ adding: true, letter: letters.history, param: ctx.history });
  }
  // Opening a channel (-i) waits until the bans that keep the wrong people out are in.
  const opening = simple.filter((change) => !change.adding);
  const closing = simple.filter((change) => change.adding);

  const prefixes: ModeChange[] = [];
  if (letters.op !== undefined) {
    const op = letters.op;
    const holderPrefixes = actual.members.get(ctx.holder);
    if (holderPrefixes !== undefined && !holderPrefixes.includes(op)) prefixes.push({ adding: true, letter: op, param: ctx.holder });
    for (const { uid, user, prefixes: has } of staying) {
      if (user.ours) continue;
      const access = desired.access.get(foldCase(user.account!))!;
      if (access.op !== has.includes(op)) prefixes.push({ adding: access.op, letter: op, param: uid });
      // Voice lets a user talk past mute bans: only those who may send keep it.
      if (letters.voice !== undefined && !access.send && has.includes(letters.voice)) {
        prefixes.push({ adding: false, letter: letters.voice, param: uid });
      }
    }
  }

  const topic = ctx.fitTopic(desired.topic);
  return {
    kicks,
    modes: [...adds, ...closing, ...opening, ...removals, ...prefixes],
    topic: actual.topic === topic ? null : topic,
  };
}

/** A channel that is not (or no longer) in the guild. */
export interface ForeignChannelPlan {
  readonly kicks: Kick[];
  /** HistServ is in it and should leave. */
  readonly part: boolean;
}

/**
 * Plan a `#` channel outside the model: HistServ leaves it (it was a guild channel), and unless
 * ad-hoc channels are allowed every user is kicked out of it (which closes it on the hub).
 */
export function planForeignChannel(actual: NetworkChannel, ctx: Pick<DiffContext, 'user' | 'holder'>, adhocChannels: boolean): ForeignChannelPlan {
  const part = actual.members.has(ctx.holder);
  const kicks: Kick[] = [];
  if (!adhocChannels) {
    const reason = part ? KICK_REASONS.removed : KICK_REASONS.adhoc;
    for (const uid of actual.members.keys()) {
      const user = ctx.user(uid);
      if (user && !user.ours) kicks.push({ uid, reason });
    }
  }
  return { kicks, part };
}
