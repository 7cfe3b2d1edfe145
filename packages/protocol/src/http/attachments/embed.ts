import { z } from 'zod';

/** An embed's preview image, served by the attachments service. */
export const EmbedImageView = z.object({
  url: z.string().describe('the preview (WebP, at most 400×400, animated if the original is)'),
  width: z.number().int(),
  height: z.number().int(),
  source_url: z.string().describe('where the original was fetched from'),
  placeholder: z.string().describe('ThumbHash, base64'),
});
export type EmbedImageView = z.infer<typeof EmbedImageView>;

/** A player the page names (`og:video`, oEmbed). */
export const EmbedVideoView = z.object({
  url: z.string(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  type: z.string().nullable(),
});
export type EmbedVideoView = z.infer<typeof EmbedVideoView>;

/** `GET /api/v1/embeds?url=`: a link's preview (OpenGraph, Twitter card, oEmbed). */
export const EmbedView = z.object({
  url: z.string().describe('the normalised link'),
  title: z.string().nullable(),
  description: z.string().nullable(),
  site_name: z.string().nullable(),
  image: EmbedImageView.nullable(),
  type: z.string().describe('`og:type`, the oEmbed type, `image` for a direct image link, else `link`'),
  provider: z.string().nullable().describe('who serves the content: the oEmbed provider, the site name, or the host'),
  video: EmbedVideoView.nullable(),
});
export type EmbedView = z.infer<typeof EmbedView>;
