import type { Logger } from '@alloquy/service-kit/log';
import { AttachmentError } from '../errors/attachment-error.js';
import type { StoredEmbed, StoredEmbedImage } from './embed.js';
import { parseOEmbed, type OEmbed } from './oembed.js';
import { cleanText, readHeadMetadata, type PageMetadata } from './page-metadata.js';
import type { PreviewMaker } from './preview-image.js';
import type { SafeFetcher } from './safe-fetcher.js';

export interface UnfurlerOptions {
  fetcher: SafeFetcher;
  previews: PreviewMaker;
  /** Each fetch's time limit (`embeds.timeoutMs`): the page gets one, oEmbed and the image share a second. */
  timeoutMs: number;
  /** Bytes of a page read at most while looking for the end of `<head>` (`embeds.maxBytes`). */
  maxPageBytes: number;
  /** Bytes of a preview image fetched at most. */
  maxImageBytes: number;
  /** Bytes of an oEmbed document. */
  maxOEmbedBytes?: number;
  log?: Logger;
}

type Page = { kind: 'html'; url: URL; meta: PageMetadata } | { kind: 'image'; url: URL; bytes: Buffer };

/**
 * Builds the embed for one link: the page's head (OpenGraph, Twitter card, title, description),
 * its oEmbed document when it points to one, and a preview image. Every fetch goes through the
 * SafeFetcher. Only the page itself can fail the embed; a missing oEmbed document or an image
 * that cannot be fetched or decoded just leaves those parts out.
 */
export class Unfurler {
  constructor(private readonly options: UnfurlerOptions) {}

  async unfurl(url: URL): Promise<StoredEmbed> {
    const { fetcher, timeoutMs } = this.options;
    const page = await fetcher.fetch(
      url,
      { accept: ['html', 'image'], maxBytes: { html: this.options.maxPageBytes, image: this.options.maxImageBytes }, deadline: Date.now() + timeoutMs },
      async (res): Promise<Page> => {
        if (res.kind === 'image') {
          const chunks: Buffer[] = [];
          for await (const chunk of res.body) chunks.push(chunk);
          return { kind: 'image', url: res.url, bytes: Buffer.concat(chunks) };
        }
        return { kind: 'html', url: res.url, meta: await readHeadMetadata(res.body, res.url, res.charset) };
      },
    );
    const extrasDeadline = Date.now() + timeoutMs;
    if (page.kind === 'image') {
      return {
        url: url.href,
        title: null,
        description: null,
        site_name: null,
        image: await this.preview(page.bytes, page.url.href),
        type: 'image',
        provider: page.url.hostname,
        video: null,
      };
    }

    const { og, twitter, ...head } = page.meta;
    const oembed = head.oembedUrl ? await this.oembed(head.oembedUrl, extrasDeadline) : null;
    const imageSource = og.image?.url ?? twitter.image ?? oembed?.url ?? oembed?.thumbnailUrl ?? null;
    const image = imageSource ? await this.fetchPreview(imageSource, extrasDeadline) : null;
    return {
      url: url.href,
      title: og.title ?? twitter.title ?? oembed?.title ?? head.title,
      description: og.description ?? twitter.description ?? head.description,
      site_name: og.siteName,
      image,
      type: og.type ?? oembed?.type ?? 'link',
      provider: oembed?.providerName ?? og.siteName ?? cleanText(page.url.hostname),
      video: og.video,
    };
  }

  private async oembed(oembedUrl: string, deadline: number): Promise<OEmbed | null> {
    try {
      const doc = await this.options.fetcher.fetchBytes(oembedUrl, {
        accept: ['json'],
        maxBytes: { json: this.options.maxOEmbedBytes ?? 256 * 1024 },
        deadline,
      });
      return parseOEmbed(doc.bytes.toString('utf8'), doc.url);
    } catch (err) {
      this.skipped('oembed', oembedUrl, err);
      return null;
    }
  }

  private async fetchPreview(imageUrl: string, deadline: number): Promise<StoredEmbedImage | null> {
    let bytes: Buffer;
    try {
      bytes = (await this.options.fetcher.fetchBytes(imageUrl, { accept: ['image'], maxBytes: { image: this.options.maxImageBytes }, deadline })).bytes;
    } catch (err) {
      this.skipped('image', imageUrl, err);
      return null;
    }
    return this.preview(bytes, imageUrl);
  }

  private async preview(bytes: Buffer, sourceUrl: string): Promise<StoredEmbedImage | null> {
    try {
      const preview = await this.options.previews.make(bytes);
      return { preview: preview.sha256, width: preview.width, height: preview.height, source_url: sourceUrl, placeholder: preview.placeholder };
    } catch (err) {
      // A bad image is the site's problem; anything else (the BlobStore, a temp file) is ours.
      if (err instanceof AttachmentError) this.skipped('image decode', sourceUrl, err);
      else this.options.log?.warn({ err, host: hostOf(sourceUrl) }, 'embed preview image could not be stored');
      return null;
    }
  }

  private skipped(what: string, url: string, err: unknown): void {
    const reason = err instanceof AttachmentError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
    // The host only: a link's path and query may carry secrets.
    this.options.log?.debug({ host: hostOf(url), reason }, `embed ${what} skipped`);
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid)';
  }
}
