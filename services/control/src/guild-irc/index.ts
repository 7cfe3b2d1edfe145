/** IRC enforcement of the guild model: desired channel state, its diff against the hub, and the reconciler. */
export {
  EVERYONE_MASK,
  accountMask,
  channelTs,
  desiredChannel,
  desiredGuild,
  isServicesMask,
  muteMask,
  type ChannelAccess,
  type DesiredChannel,
  type DesiredGuild,
  type DesiredLists,
} from './desired.js';
export {
  KICK_REASONS,
  MODE_NAMES,
  kickReason,
  planChannel,
  planForeignChannel,
  type ChannelPlan,
  type DiffContext,
  type ForeignChannelPlan,
  type Kick,
  type ModeLetters,
  type UserView,
} from './diff.js';
export {
  removalReason,
  startGuildIrcEnforcement,
  type GuildIrcEnforcement,
  type GuildIrcEnforcementCounters,
  type GuildIrcEnforcementOptions,
  type TopicFromIrc,
} from './reconciler.js';
