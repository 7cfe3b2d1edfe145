import type { Logger } from 'pino';
import type { AccountService } from './accounts/account-service.js';
import { ensureSecret, type ControlConfig } from './config/config.js';
import type { Health } from './health/health.js';
import { ServicesLink, type SaslAuthenticator } from './irc-link/index.js';
import type { ControlMetrics } from './metrics/metrics.js';

/** The control server's presence on IRC: the services link and the account policy it enforces. */
export interface IrcServices {
  link: ServicesLink;
  stop(): Promise<void>;
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
  metrics.ircLinkUp.set(0);
  link.start();

  return {
    link,
    stop: () => link.stop('control server shutting down'),
  };
}
