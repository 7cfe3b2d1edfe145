/** The control server's services link into InspIRCd: public surface. */
export { ServicesLink, reconnectDelay } from './link.js';
export type {
  LinkPhase,
  ServicesLinkCounters,
  ServicesLinkEvents,
  ServicesLinkOptions,
  ServicesLinkStatus,
} from './link.js';
export type { InboundChatMessage } from './handlers.js';
export type { SaslAuthenticator, SaslCounters, SaslVerdict } from './sasl.js';
export { IrcSerializeError, parseLine, serializeMessage } from './line.js';
export type { IrcMessage, OutgoingMessage, ParseResult } from './line.js';
export type { NetworkChannel, NetworkServer, NetworkState, NetworkUser } from './network-state.js';
export type { HubCapabilities, ModeInfo } from './protocol.js';
export type { LinkLogger } from './logger.js';
