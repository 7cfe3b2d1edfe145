import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServiceMetricsOptions {
  /** Name of the request-duration histogram, e.g. `alloquy_attachments_http_request_duration_seconds`. */
  httpDurationName: string;
  /** Prefix of the process metrics (CPU, memory, event loop), e.g. `alloquy_attachments_`. */
  processPrefix: string;
}

/**
 * What every service's metrics start with: one registry per service instance (tests run several
 * in one process), the HTTP request histogram the shell fills, and the process defaults. Each
 * service extends it with its own series, registered in `registry`.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(options: ServiceMetricsOptions) {
    this.httpDuration = new Histogram({
      name: options.httpDurationName,
      help: 'HTTP request latency by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    collectDefaultMetrics({ register: this.registry, prefix: options.processPrefix });
  }
}
