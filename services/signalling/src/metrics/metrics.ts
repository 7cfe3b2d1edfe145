import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus series of the signalling service (`GET /metrics`). */
export class SignallingMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'alloquy_signalling_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
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
    collectDefaultMetrics({ register: this.registry, prefix: 'alloquy_signalling_' });
  }
}
