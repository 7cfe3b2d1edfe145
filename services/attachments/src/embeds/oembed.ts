import { z } from 'zod';
import { cleanText } from './page-metadata.js';

/**
 * The parts of an oEmbed response (https://oembed.com, JSON only) an embed uses. Providers are
 * loose with types (numbers as strings, missing `version`), so each field is read on its own and
 * a bad field is dropped rather than failing the document. `html` is never used: we do not
 * render third-party markup.
 */
export interface OEmbed {
  type: 'photo' | 'video' | 'link' | 'rich' | null;
  title: string | null;
  authorName: string | null;
  providerName: string | null;
  providerUrl: string | null;
  /** The photo itself for `type: photo`. */
  url: string | null;
  thumbnailUrl: string | null;
  thumbnailWidth: number | null;
  thumbnailHeight: number | null;
}

const text = z.string().optional().catch(undefined);
const dimension = z.coerce.number().int().positive().max(100_000).optional().catch(undefined);

const oembedSchema = z.object({
  type: z.enum(['photo', 'video', 'link', 'rich']).optional().catch(undefined),
  title: text,
  author_name: text,
  provider_name: text,
  provider_url: text,
  url: text,
  thumbnail_url: text,
  thumbnail_width: dimension,
  thumbnail_height: dimension,
});

/** Parses an oEmbed document; null when it is not a JSON object. Relative URLs resolve against `base`. */
export function parseOEmbed(json: string, base: URL): OEmbed | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const doc = oembedSchema.parse(value);
  return {
    type: doc.type ?? null,
    title: doc.title === undefined ? null : cleanText(doc.title),
    authorName: doc.author_name === undefined ? null : cleanText(doc.author_name),
    providerName: doc.provider_name === undefined ? null : cleanText(doc.provider_name),
    providerUrl: httpUrl(doc.provider_url, base),
    url: doc.type === 'photo' ? httpUrl(doc.url, base) : null,
    thumbnailUrl: httpUrl(doc.thumbnail_url, base),
    thumbnailWidth: doc.thumbnail_width ?? null,
    thumbnailHeight: doc.thumbnail_height ?? null,
  };
}

function httpUrl(value: string | undefined, base: URL): string | null {
  if (!value) return null;
  try {
    const url = new URL(value.trim(), base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}
