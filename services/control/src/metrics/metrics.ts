import { ServiceMetrics } from '@alloquy/service-kit/metrics';
import { Counter, Gauge } from 'prom-client';
import type { AccountService } from '../accounts/account-service.js';

/** Every Prometheus series the control server exports, in one registry per server instance. */
export class ControlMetrics extends ServiceMetrics {
  readonly logins = new Counter({
    name: 'alloquy_logins_total',
    help: 'Login attempts by path (http, irc, cli) and result (ok, invalid, disabled, throttled)',
    labelNames: ['via', 'result'] as const,
    registers: [this.registry],
  });

  readonly ircLinkUp = new Gauge({
    name: 'alloquy_irc_link_up',
    help: '1 while the services link to InspIRCd is established and burst, else 0',
    registers: [this.registry],
  });

  readonly ircLinkRelinks = new Counter({
    name: 'alloquy_irc_link_connects_total',
    help: 'Times the services link came up (the first link and every relink)',
    registers: [this.registry],
  });

  readonly murmurUp = new Gauge({
    name: 'alloquy_murmur_up',
    help: '1 while the control server is connected to Murmur over Ice, else 0',
    registers: [this.registry],
  });

  readonly murmurConnects = new Counter({
    name: 'alloquy_murmur_connects_total',
    help: 'Times the Ice connection to Murmur came up (the first time and after every outage or Murmur restart)',
    registers: [this.registry],
  });

  readonly murmurSyncs = new Counter({
    name: 'alloquy_murmur_syncs_total',
    help: 'Full re-syncs of accounts and voice channels into Murmur, by result (ok, failed)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly murmurStaleAccounts = new Gauge({
    name: 'alloquy_murmur_stale_accounts',
    help: 'Enabled accounts whose Murmur password awaits their next password login (set after the last sync)',
    registers: [this.registry],
  });

  readonly voiceUsers = new Gauge({
    name: 'alloquy_voice_users',
    help: 'Users connected to Murmur, by channel name',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });

  readonly voiceMutedUsers = new Gauge({
    name: 'alloquy_voice_muted_users',
    help: 'Users connected to Murmur who cannot be heard (muted, deafened, self-muted, self-deafened or suppressed)',
    registers: [this.registry],
  });

  readonly voiceDeafenedUsers = new Gauge({
    name: 'alloquy_voice_deafened_users',
    help: 'Users connected to Murmur who are deafened (by themselves or by someone else)',
    registers: [this.registry],
  });

  constructor() {
    super({ httpDurationName: 'alloquy_http_request_duration_seconds', processPrefix: 'alloquy_control_' });
  }

  /** Counts every login the account service decides, whichever way it came in. */
  observeAccounts(accounts: AccountService): void {
    accounts.on('login-succeeded', ({ via }) => this.logins.inc({ via, result: 'ok' }));
    accounts.on('login-failed', ({ via, reason }) => this.logins.inc({ via, result: reason }));
  }
}
