import type { Logger } from '@alloquy/service-kit/log';
import type { AttachmentsConfig } from '../config/config.js';
import { ImageProcessor, type ImageProcessorOptions } from '../images/image-processor.js';
import type { AttachmentsMetrics } from '../metrics/metrics.js';
import type { MediaInfo, MediaInput, MediaProcessor, ProcessedThumbnail } from '../uploads/media-processor.js';
import { readDurationFromFile } from './duration/index.js';
import { baseContentType, mediaKind } from './media-kind.js';

// The contract is the upload path's (src/uploads/media-processor.ts); re-exported for callers here.
export type { MediaInfo, MediaInput, MediaProcessor, ProcessedThumbnail, ThumbnailToWrite } from '../uploads/media-processor.js';

export type LocalMediaProcessorOptions = ImageProcessorOptions;

/**
 * The service's MediaProcessor: images through sharp ({@link ImageProcessor}), durations of audio
 * and video from container headers (src/media/duration). Thumbnails are all made before the
 * first `write`, so a failure stores none.
 */
export class LocalMediaProcessor implements MediaProcessor {
  readonly images: ImageProcessor;

  constructor(private readonly options: LocalMediaProcessorOptions) {
    this.images = new ImageProcessor(options);
  }

  async process(input: MediaInput): Promise<MediaInfo> {
    const type = baseContentType(input.contentType);
    switch (mediaKind(type)) {
      case 'image': {
        const image = await this.images.process(input.path, type);
        const thumbnails: ProcessedThumbnail[] = [];
        for (const thumbnail of image.thumbnails) {
          const { key } = await input.write(thumbnail);
          thumbnails.push({ key, width: thumbnail.width, height: thumbnail.height, contentType: thumbnail.contentType });
        }
        return { width: image.width, height: image.height, placeholder: image.placeholder, animated: image.animated, thumbnails };
      }
      case 'audio':
      case 'video': {
        const seconds = await readDurationFromFile(input.path, type);
        if (seconds === undefined) {
          this.options.log?.debug({ contentType: type }, 'no cheap duration for this file');
          return { thumbnails: [] };
        }
        return { durationSeconds: Math.round(seconds * 1000) / 1000, thumbnails: [] };
      }
      case 'file':
        return { thumbnails: [] };
    }
  }
}

/** The service's media processor from its configuration. */
export function createMediaProcessor(
  config: Pick<AttachmentsConfig, 'limits'>,
  deps: { metrics?: Pick<AttachmentsMetrics, 'thumbnails'>; log?: Logger } = {},
): LocalMediaProcessor {
  return new LocalMediaProcessor({ maxImagePixels: config.limits.maxImagePixels, ...deps });
}
