import type { Logger } from '@alloquy/service-kit/log';
import type { AccountService } from './accounts/account-service.js';
import { type ControlConfig } from './config/config.js';
import type { GuildSource } from './guild/model.js';
import { startGuildIrcEnforcement, type GuildIrcEnforcement, type TopicFromIrc } from './guild-irc/index.js';
import type { Health } from '@alloquy/service-kit/health';
import { ServicesLink, type PseudoClientHandle, type SaslAuthenticator } from './irc-link/index.js';
import type { ControlMetrics } from './metrics/metrics.js';
import { ensureSecret } from '@alloquy/service-kit/config';

/** The nick of the pseudo-client that holds every guild channel and records its history. */
export const HISTSERV_NICK = 'HistServ';

/**
 * The control server's presence on IRC: the services link, the account policy it enforces,
 * HistServ, and (given a guild) the enforcement of the guild model in every text channel.
 */
export interface IrcServices {
  link: ServicesLink;
  /**
   * HistServ: opped in every guild text channel. Channel messages and private PRIVMSG/NOTICE/
   * TAGMSG to it arrive on `link.on('message')` (private ones with `target` = its uid); answer
   * with `link.send({ source: histserv.uid, command: 'NOTICE', params: [userUid, text] })`.
   */
  histserv: PseudoClientHandle;
  /** Null when started without a guild. */
  enforcement: GuildIrcEnforcement | null;
  stop(): Promise<void>;
}

export interface IrcGuildOptions {
  /** Takes a topic set on IRC by a MANAGE_CHANNELS holder into the model (else it is reverted). */
  onTopicFromIrc?: TopicFromIrc;
  /** `+H` parameter for guild channels without one; null leaves history modes alone. Default '50:7d'. */
  history?: string | null;
  /** `#` channels outside the model that something else owns (direct messages), not to be closed. */
  ownedElsewhere?: (ircName: string) => boolean;
}

/** SASL PLAIN checks go through the same account service as HTTP logins (same limits, same rules). */
export function saslAuthenticator(accounts: AccountService): SaslAuthenticator {
  return {
    async authenticate(authcid, password, ctx) {
      const result = await accounts.checkCredentials(authcid, password, { ip: ctx.ip, via: 'irc' }, true);
      return result.ok ? { ok: true, account: result.account.username } : { ok: false, reason: result.reason };
    },
  };
}

export function startIrcServices(
  config: ControlConfig,
  accounts: AccountService,
  metrics: ControlMetrics,
  health: Health,
  log: Logger,
  guild?: GuildSource,
  guildOptions: IrcGuildOptions = {},
): IrcServices {
  const link = new ServicesLink({
    host: config.irc.linkHost,
    port: config.irc.linkPort,
    password: ensureSecret(config.irc.linkPasswordPath),
    serverName: config.irc.servicesName,
    sid: config.irc.servicesSid,
    description: `${config.irc.network} services`,
    expectedHubName: config.irc.serverName,
    authenticator: saslAuthenticator(accounts),
    logger: log,
  });

  const kickDisabled = (username: string) => {
    const killed = link.disconnectAccount(username, 'Account disabled');
    if (killed > 0) log.info({ username, killed }, 'disconnected a disabled account');
  };
  accounts.on('disabled', (account) => kickDisabled(account.username));
  link.on('up', (status) => {
    metrics.ircLinkUp.set(1);
    metrics.ircLinkRelinks.inc();
    log.info({ hub: status.hub?.name }, 'services link up');
    // An account disabled while we were unlinked may still be online: the burst says who is.
    const online = new Set<string>();
    for (const user of link.network.users.values()) if (user.account) online.add(user.account);
    for (const name of online) if (accounts.find(name)?.disabled) kickDisabled(name);
  });
  link.on('down', ({ reason }) => {
    metrics.ircLinkUp.set(0);
    log.warn({ reason }, 'services link down');
  });
  health.register('ircLink', () => {
    const s = link.status();
    return { status: s.state, phase: s.phase, since: s.since, hub: s.hub?.name ?? null, users: s.usersKnown, lastError: s.lastError };
  });
  const histserv = link.addPseudoClient({ nick: HISTSERV_NICK, ident: 'histserv', realname: 'Alloquy history' });
  const enforcement = guild
    ? startGuildIrcEnforcement({
        link,
        guild,
        holder: histserv,
        log: log.child({ component: 'guild-irc' }),
        ...(guildOptions.onTopicFromIrc ? { onTopicFromIrc: guildOptions.onTopicFromIrc } : {}),
        ...(guildOptions.history === undefined ? {} : { history: guildOptions.history }),
        ...(guildOptions.ownedElsewhere ? { ownedElsewhere: guildOptions.ownedElsewhere } : {}),
      })
    : null;
  metrics.ircLinkUp.set(0);
  link.start();

  return {
    link,
    histserv,
    enforcement,
    stop: async () => {
      enforcement?.stop();
      await link.stop('control server shutting down');
    },
  };
}
