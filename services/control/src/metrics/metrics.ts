import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AccountService } from '../accounts/account-service.js';

/** Every Prometheus series the control server exports, in one registry per server instance. */
export class ControlMetrics {
  readonly registry = new Registry();

  readonly logins = new Counter({
    name: 'alloquy_logins_total',
    help: 'Login attempts by path (http, irc, cli) and result (ok, invalid, disabled, throttled)',
    labelNames: ['via', 'result'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'alloquy_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'alloquy_control_' });
  }

  /** Counts every login the account service decides, whichever way it came in. */
  observeAccounts(accounts: AccountService): void {
    accounts.on('login-succeeded', ({ via }) => this.logins.inc({ via, result: 'ok' }));
    accounts.on('login-failed', ({ via, reason }) => this.logins.inc({ via, result: reason }));
  }
}
