import { ServiceMetrics } from '@alloquy/service-kit/metrics';
import { Counter, Gauge } from 'prom-client';

/** Prometheus series of the signalling service (`GET /metrics`). */
export class SignallingMetrics extends ServiceMetrics {
  readonly connections = new Gauge({
    name: 'alloquy_signalling_connections',
    help: 'Open WebSocket connections',
    registers: [this.registry],
  });
  readonly roomMembers = new Gauge({
    name: 'alloquy_signalling_room_members',
    help: 'Connections currently in a room',
    registers: [this.registry],
  });
  readonly messages = new Counter({
    name: 'alloquy_signalling_messages_total',
    help: 'Client messages by type and result (ok, refused, invalid, rate_limited)',
    labelNames: ['type', 'result'],
    registers: [this.registry],
  });
  readonly turnCredentials = new Counter({
    name: 'alloquy_signalling_turn_credentials_total',
    help: 'TURN credentials minted, by channel (welcome, refresh, renew, http)',
    labelNames: ['via'],
    registers: [this.registry],
  });

  constructor() {
    super({ httpDurationName: 'alloquy_signalling_http_request_duration_seconds', processPrefix: 'alloquy_signalling_' });
  }
}
