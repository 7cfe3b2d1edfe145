import { ServiceMetrics } from '@alloquy/service-kit/metrics';
import { Counter } from 'prom-client';

/** Prometheus series of the attachments service (`GET /metrics`). */
export class AttachmentsMetrics extends ServiceMetrics {
  readonly uploads = new Counter({
    name: 'alloquy_attachments_uploads_total',
    help: 'Finished uploads by kind (image, video, audio, file) and result',
    labelNames: ['kind', 'result'],
    registers: [this.registry],
  });
  readonly uploadedBytes = new Counter({
    name: 'alloquy_attachments_uploaded_bytes_total',
    help: 'Bytes stored from finished uploads',
    registers: [this.registry],
  });
  readonly thumbnails = new Counter({
    name: 'alloquy_attachments_thumbnails_total',
    help: 'Images processed into thumbnails, by result',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly embeds = new Counter({
    name: 'alloquy_attachments_embeds_total',
    help: 'Link embed lookups by result (fetched, cached, refused, failed)',
    labelNames: ['result'],
    registers: [this.registry],
  });

  constructor() {
    super({ httpDurationName: 'alloquy_attachments_http_request_duration_seconds', processPrefix: 'alloquy_attachments_' });
  }
}
