import type { EmbedView } from '@alloquy/protocol/http';

/**
 * A link embed as cached: everything but the absolute URL of the preview image, which depends on
 * where clients reach this service and is added when answering.
 */
export interface StoredEmbed {
  /** The normalized link the embed is for. */
  url: string;
  title: string | null;
  description: string | null;
  site_name: string | null;
  image: StoredEmbedImage | null;
  /** `og:type` (`website`, `article`, `video.other`...), the oEmbed type, `image` for a direct image link, else `link`. */
  type: string;
  /** Who serves the content: the oEmbed provider, the site name, or the host. */
  provider: string | null;
  video: EmbedVideo | null;
}

export interface StoredEmbedImage {
  /** The preview's content address in the BlobStore (a small WebP). */
  preview: string;
  width: number;
  height: number;
  /** Where the original image was fetched from. */
  source_url: string;
  /** ThumbHash of the preview, base64 (painted while the image loads). */
  placeholder: string;
}

export interface EmbedVideo {
  url: string;
  width: number | null;
  height: number | null;
  type: string | null;
}

export const PREVIEW_PATH = '/api/v1/embeds/previews';

/** The API's answer (`GET /api/v1/embeds`): the stored embed with its preview's absolute URL. */
export function toApiEmbed(embed: StoredEmbed, baseUrl: string): EmbedView {
  const { image, ...rest } = embed;
  return {
    ...rest,
    image: image
      ? {
          url: `${baseUrl.replace(/\/+$/, '')}${PREVIEW_PATH}/${image.preview}.webp`,
          width: image.width,
          height: image.height,
          source_url: image.source_url,
          placeholder: image.placeholder,
        }
      : null,
  };
}
