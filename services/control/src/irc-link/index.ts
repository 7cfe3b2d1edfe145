/** The control server's services link into InspIRCd: public surface. */
export { ServicesLink, reconnectDelay, sanitizeText } from './link.js';
export type {
  LinkPhase,
  PseudoClientHandle,
  PseudoClientSpec,
  ServicesLinkCounters,
  ServicesLinkEvents,
  ServicesLinkOptions,
  ServicesLinkStatus,
} from './link.js';
export type { ChannelEvent, InboundChatMessage } from './handlers.js';
export { formatModeLine, modeKindsByLetter, packModeChanges, parseModeChanges, takesParam } from './modes.js';
export type { ModeChange, ModeKind, ModeKinds, ModeLine, ParsedModes } from './modes.js';
export type { SaslAuthenticator, SaslCounters, SaslVerdict } from './sasl.js';
export { IrcSerializeError, parseLine, serializeMessage } from '@alloquy/protocol/irc';
export type { IrcMessage, OutgoingMessage, ParseResult } from '@alloquy/protocol/irc';
export { foldCase } from './network-state.js';
export type { JoinMember, ListEntry, NetworkChannel, NetworkServer, NetworkState, NetworkUser } from './network-state.js';
export type { HubCapabilities, ModeInfo } from './protocol.js';
export type { LinkLogger } from './logger.js';
