/**
 * HistServ on the services link: the recorder for every guild text channel HistServ sits in,
 * and the command handler for private messages to HistServ. The pseudo-client itself (its UID,
 * its nick, joining channels) belongs to the IRC enforcement side; this only listens to what the
 * link receives and answers as that UID.
 */
import type { Logger } from '@alloquy/service-kit/log';
import type { GuildSource } from '../guild/model.js';
import type { HistoryStore } from '../history/store.js';
import type { InboundChatMessage, ServicesLink } from '../irc-link/index.js';
import { RequestLimiter, histservReply } from './commands.js';
import { HistoryRecorder, type RecorderOptions, type RecorderStats } from './recorder.js';

/** What HistServ needs of the link. */
export type HistServLink = Pick<ServicesLink, 'on' | 'off' | 'send' | 'network'>;

export interface HistServOptions {
  link: HistServLink;
  /** HistServ's pseudo-client, introduced by the IRC enforcement side. */
  histserv: { uid: string };
  guild: GuildSource;
  store: HistoryStore;
  log: Logger;
  now?: () => number;
  /** Batching overrides (tests, benchmarks). */
  recorder?: Pick<RecorderOptions, 'flushDelayMs' | 'maxBatch' | 'maxPending'>;
  /** Requests per asker at once, and the refill interval: default 5 and 3 s. */
  rateLimit?: { capacity: number; refillMs: number };
}

export interface HistServ {
  recorder: HistoryRecorder;
  stats(): RecorderStats;
  /** Stops listening and commits what is waiting. */
  stop(): Promise<void>;
}

export function startHistServ(options: HistServOptions): HistServ {
  const { link, histserv, guild, store, log } = options;
  const now = options.now ?? Date.now;
  const recorder = new HistoryRecorder({ store, guild, users: link.network.users, log, now, ...options.recorder });
  const limiter = new RequestLimiter(options.rateLimit?.capacity, options.rateLimit?.refillMs);

  const notice = (to: string, text: string) => {
    try {
      link.send({ source: histserv.uid, command: 'NOTICE', params: [to, text] });
    } catch (err) {
      // A line we built badly must not take the link down; the reply is lost, say so.
      log.warn({ err }, 'histserv: could not send a reply line');
    }
  };

  const onCommand = (message: InboundChatMessage) => {
    // Never answer a NOTICE (RFC 1459), nor a CTCP (\x01...).
    if (message.command !== 'PRIVMSG' || message.text.startsWith('\x01')) return;
    const user = link.network.users.get(message.source);
    if (!user) return;
    const key = user.account ? `a:${user.account.toLowerCase()}` : `u:${user.uid}`;
    const at = now();
    const verdict = limiter.take(key, at);
    if (verdict === 'silent') return;
    if (verdict === 'limited') {
      notice(user.uid, `Slow down, please: ask again in ${limiter.waitSeconds(key)} s.`);
      return;
    }
    let lines: string[];
    try {
      lines = histservReply({ account: user.account, nick: user.nick, text: message.text }, guild.snapshot(), store, at);
    } catch (err) {
      log.error({ err }, 'histserv: command failed');
      lines = ['Sorry, something went wrong on our side.'];
    }
    for (const line of lines) notice(user.uid, line);
  };

  const onMessage = (message: InboundChatMessage) => {
    if (message.target === histserv.uid) onCommand(message);
    else recorder.handle(message);
  };
  link.on('message', onMessage);

  return {
    recorder,
    stats: () => recorder.stats(),
    async stop() {
      link.off('message', onMessage);
      await recorder.stop();
    },
  };
}
