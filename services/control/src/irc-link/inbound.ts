/**
 * The path of every line from the hub: parse it, route it by the link's phase (to the
 * handshake while negotiating, to a handler from handlers.ts once the hub is accepted), and
 * count what could not be used. A line is never answered with an error and never lets an
 * exception out: a reply the hub dislikes drops the whole link, so garbage is only counted.
 */
import { parseLine, type IrcMessage } from '@alloquy/protocol/irc';

import { inboundHandlers, type LinkContext } from './handlers.js';
import type { LinkPhase } from './link-types.js';
import type { LinkLogger } from './logger.js';

/** InspIRCd's own server-to-server lines are not bound to the client 512-byte limit (e.g. long METADATA). */
const INBOUND_LIMITS = { maxBodyBytes: 16_384 } as const;

/** What routing needs from the link, read live on every line. */
export interface InboundRoutes {
  phase(): LinkPhase;
  /** The hub's server id once accepted, for lines without a source. */
  hubSid(): string | null;
  readonly ourSid: string;
  isOurClient(uid: string): boolean;
  /** What handlers see and do. */
  readonly context: LinkContext;
  /** A line while negotiating; returns false when it was not usable. */
  negotiate(message: IrcMessage): boolean;
  /** The hub sent ERROR: it is closing the link. */
  onHubError(text: string): void;
}

export interface InboundCounters {
  readonly linesIn: number;
  readonly parseErrors: number;
  readonly unknownCommands: number;
  /** Recognised commands whose parameters or source were unusable. */
  readonly ignoredLines: number;
  /** Exceptions caught while handling a line (bugs; the line is dropped, the link stays). */
  readonly handlerErrors: number;
}

export class InboundDispatcher {
  private readonly count = { linesIn: 0, parseErrors: 0, unknownCommands: 0, ignoredLines: 0, handlerErrors: 0 };

  constructor(
    private readonly routes: InboundRoutes,
    private readonly log: LinkLogger,
  ) {}

  counters(): InboundCounters {
    return { ...this.count };
  }

  /** Take one line (without CRLF). Never throws. */
  handle(raw: string): void {
    this.count.linesIn++;
    const parsed = parseLine(raw, INBOUND_LIMITS);
    if (!parsed.ok) {
      this.count.parseErrors++;
      this.log.debug({ error: parsed.error, detail: parsed.detail, line: raw.slice(0, 200) }, 'unparseable line from hub ignored');
      return;
    }
    try {
      this.dispatch(parsed.message);
    } catch (error) {
      this.count.handlerErrors++;
      this.log.error({ err: error, line: raw.slice(0, 200) }, 'error while handling a line from the hub; line ignored');
    }
  }

  private dispatch(message: IrcMessage): void {
    const routes = this.routes;
    if (message.command === 'ERROR') {
      routes.onHubError(message.params[0] ?? '');
      return;
    }
    const phase = routes.phase();
    if (phase === 'negotiating') {
      if (!routes.negotiate(message)) this.count.ignoredLines++;
      return;
    }
    if (phase !== 'bursting' && phase !== 'up') {
      this.count.ignoredLines++;
      return;
    }
    const handler = inboundHandlers.get(message.command);
    if (!handler) {
      this.count.unknownCommands++;
      return;
    }
    // Lines without a prefix come from the server at the other end of the socket.
    const source = message.source ?? routes.hubSid() ?? '';
    // The spanning tree never routes a line back to where it came from: nothing from the hub
    // can come from us or our clients, and acting on such a line would corrupt our view.
    if (source === routes.ourSid || routes.isOurClient(source)) {
      this.count.ignoredLines++;
      return;
    }
    if (!handler(routes.context, message, source)) this.count.ignoredLines++;
  }
}
