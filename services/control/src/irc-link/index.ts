/** The control server's services link into InspIRCd: public surface. */
export { ServicesLink } from './link.js';
export { reconnectDelay } from './connection.js';
export { sanitizeText } from './protocol.js';
export type { LinkPhase, ServicesLinkCounters, ServicesLinkEvents, ServicesLinkOptions, ServicesLinkStatus } from './link-types.js';
export type { PseudoClientHandle, PseudoClientSpec } from './pseudo-clients.js';
export type { ChannelEvent, InboundChatMessage } from './handlers.js';
export { formatModeLine, modeKindsByLetter, packModeChanges, parseModeChanges, takesParam } from './modes.js';
export type { ModeChange, ModeInfo, ModeKind, ModeKinds, ModeLine, ParsedModes } from './modes.js';
export type { SaslAuthenticator, SaslCounters, SaslVerdict } from './sasl.js';
export { IrcSerializeError, parseLine, serializeMessage } from '@alloquy/protocol/irc';
export type { IrcMessage, OutgoingMessage, ParseResult } from '@alloquy/protocol/irc';
export { foldCase } from './network-state.js';
export type { JoinMember, ListEntry, NetworkChannel, NetworkServer, NetworkState, NetworkUser } from './network-state.js';
export type { HubCapabilities } from './protocol.js';
export type { LinkLogger } from './logger.js';
