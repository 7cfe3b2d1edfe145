import { z } from 'zod';

/** A stored avatar, banner or server icon (`PUT /api/v1/me/avatar`, `/me/banner`, `/guild/icon`). */
export const AssetImageView = z.object({
  url: z.string().describe('public URL, with a version parameter that changes with the image'),
  width: z.number().int(),
  height: z.number().int(),
  content_type: z.string().describe('always image/webp'),
  size: z.number().int(),
});
export type AssetImageView = z.infer<typeof AssetImageView>;

/** A custom emoji. IRC users see `:name:` as text; rich clients show the image. */
export const EmojiView = z.object({
  name: z.string(),
  url: z.string(),
  animated: z.boolean(),
  created_by: z.string(),
});
export type EmojiView = z.infer<typeof EmojiView>;

/** `GET /api/v1/emoji`: every custom emoji, by name. */
export const EmojiList = z.array(EmojiView);
export type EmojiList = z.infer<typeof EmojiList>;
