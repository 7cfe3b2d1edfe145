import { Parser } from 'htmlparser2';

/**
 * What a page's `<head>` says about it: OpenGraph, Twitter card, `<title>`, meta description and
 * the oEmbed discovery link. The parser is fed decoded text as it arrives and reports `done` at
 * `</head>` (or the first `<body>` content), so the reader can stop the download there.
 */
export interface MediaRef {
  url: string;
  width: number | null;
  height: number | null;
  type: string | null;
}

export interface PageMetadata {
  og: {
    title: string | null;
    description: string | null;
    siteName: string | null;
    type: string | null;
    url: string | null;
    image: MediaRef | null;
    video: MediaRef | null;
  };
  twitter: {
    card: string | null;
    title: string | null;
    description: string | null;
    image: string | null;
    site: string | null;
  };
  title: string | null;
  description: string | null;
  /** Absolute URL of the JSON oEmbed document the page points to. */
  oembedUrl: string | null;
}

const MAX_TEXT = 2000;

export class HeadMetadataParser {
  private readonly parser: Parser;
  private readonly meta: PageMetadata = {
    og: { title: null, description: null, siteName: null, type: null, url: null, image: null, video: null },
    twitter: { card: null, title: null, description: null, image: null, site: null },
    title: null,
    description: null,
    oembedUrl: null,
  };
  private inTitle = false;
  private titleText = '';
  /** The og:image / og:video that width/height/type tags that follow it describe. */
  private currentMedia: { kind: 'image' | 'video'; ref: MediaRef } | null = null;
  private finished = false;

  constructor(private readonly baseUrl: URL) {
    this.parser = new Parser(
      {
        onopentag: (name, attribs) => this.openTag(name, attribs),
        onclosetag: (name) => this.closeTag(name),
        ontext: (text) => {
          if (this.inTitle && this.titleText.length < MAX_TEXT) this.titleText += text;
        },
      },
      { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
    );
  }

  /** True once the head is over: nothing after it is read. */
  get done(): boolean {
    return this.finished;
  }

  write(text: string): void {
    if (!this.finished) this.parser.write(text);
  }

  end(): PageMetadata {
    if (!this.finished) this.parser.end();
    this.finished = true;
    if (this.meta.title === null && this.titleText) this.meta.title = cleanText(this.titleText);
    return this.meta;
  }

  private openTag(name: string, attribs: Record<string, string>): void {
    if (this.finished) return;
    switch (name) {
      case 'body':
        this.finish();
        return;
      case 'title':
        if (this.meta.title === null) this.inTitle = true;
        return;
      case 'meta':
        this.metaTag(attribs);
        return;
      case 'link':
        this.linkTag(attribs);
        return;
    }
  }

  private closeTag(name: string): void {
    if (name === 'title' && this.inTitle) {
      this.inTitle = false;
      this.meta.title = cleanText(this.titleText);
    }
    if (name === 'head') this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    if (this.meta.title === null && this.titleText) this.meta.title = cleanText(this.titleText);
    this.finished = true;
    // Stop the tokenizer too: the rest of this chunk is body.
    this.parser.pause();
  }

  private metaTag(attribs: Record<string, string>): void {
    const key = (attribs.property ?? attribs.name ?? '').trim().toLowerCase();
    const content = attribs.content;
    if (!key || content === undefined) return;
    const og = this.meta.og;
    const tw = this.meta.twitter;
    switch (key) {
      case 'og:title':
        og.title ??= cleanText(content);
        return;
      case 'og:description':
        og.description ??= cleanText(content);
        return;
      case 'og:site_name':
        og.siteName ??= cleanText(content);
        return;
      case 'og:type':
        og.type ??= cleanText(content)?.toLowerCase() ?? null;
        return;
      case 'og:url':
        og.url ??= this.resolve(content);
        return;
      case 'og:image':
      case 'og:image:url':
      case 'og:image:secure_url':
        this.mediaUrl('image', content, key === 'og:image');
        return;
      case 'og:video':
      case 'og:video:url':
      case 'og:video:secure_url':
        this.mediaUrl('video', content, key === 'og:video');
        return;
      case 'og:image:width':
      case 'og:image:height':
      case 'og:video:width':
      case 'og:video:height':
      case 'og:image:type':
      case 'og:video:type':
        this.mediaProperty(key, content);
        return;
      case 'twitter:card':
        tw.card ??= cleanText(content);
        return;
      case 'twitter:title':
        tw.title ??= cleanText(content);
        return;
      case 'twitter:description':
        tw.description ??= cleanText(content);
        return;
      case 'twitter:image':
      case 'twitter:image:src':
        tw.image ??= this.resolve(content);
        return;
      case 'twitter:site':
        tw.site ??= cleanText(content);
        return;
      case 'description':
        this.meta.description ??= cleanText(content);
        return;
    }
  }

  /**
   * `og:image` starts a new image (only the first one is kept); `og:image:url` and
   * `og:image:secure_url` give the URL of the current one. Structured properties that follow
   * apply to the image they follow.
   */
  private mediaUrl(kind: 'image' | 'video', content: string, startsNew: boolean): void {
    const url = this.resolve(content);
    if (!url) return;
    const current = this.meta.og[kind];
    if (current === null) {
      const ref: MediaRef = { url, width: null, height: null, type: null };
      this.meta.og[kind] = ref;
      this.currentMedia = { kind, ref };
    } else if (startsNew) {
      this.currentMedia = null;
    } else if (this.currentMedia?.ref === current && content.trim().toLowerCase().startsWith('https:')) {
      current.url = url;
    }
  }

  private mediaProperty(key: string, content: string): void {
    const [, kind, property] = key.split(':') as [string, 'image' | 'video', 'width' | 'height' | 'type'];
    if (!this.currentMedia || this.currentMedia.kind !== kind) return;
    const ref = this.currentMedia.ref;
    if (property === 'type') {
      ref.type ??= cleanText(content)?.toLowerCase() ?? null;
      return;
    }
    const n = Number(content.trim());
    if (Number.isInteger(n) && n > 0 && n <= 100_000) ref[property] ??= n;
  }

  private linkTag(attribs: Record<string, string>): void {
    const rel = (attribs.rel ?? '').toLowerCase().split(/\s+/);
    const type = (attribs.type ?? '').trim().toLowerCase();
    if (rel.includes('alternate') && type === 'application/json+oembed' && attribs.href) {
      this.meta.oembedUrl ??= this.resolve(attribs.href);
    }
  }

  /** Absolute http(s) URL against the page's final URL; anything else (javascript:, data:) dropped. */
  private resolve(value: string): string | null {
    const trimmed = value.trim();
    if (!trimmed) return null;
    try {
      const url = new URL(trimmed, this.baseUrl);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch {
      return null;
    }
  }
}

/** Collapses whitespace, strips control characters, caps the length; null when nothing is left. */
export function cleanText(text: string, max = MAX_TEXT): string | null {
  const cleaned = text
    // eslint-disable-next-line no-control-regex -- control characters are what this removes
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (!cleaned) return null;
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}…` : cleaned;
}

/**
 * The text encoding of an HTML document, as browsers pick it: a BOM, then the Content-Type
 * charset, then a `<meta charset>` / `<meta http-equiv>` in the first 1024 bytes, then UTF-8.
 */
export function sniffCharset(prefix: Buffer, headerCharset: string | null): string {
  if (prefix[0] === 0xef && prefix[1] === 0xbb && prefix[2] === 0xbf) return 'utf-8';
  if (prefix[0] === 0xfe && prefix[1] === 0xff) return 'utf-16be';
  if (prefix[0] === 0xff && prefix[1] === 0xfe) return 'utf-16le';
  const fromHeader = usableEncoding(headerCharset);
  if (fromHeader) return fromHeader;
  const head = prefix.subarray(0, 1024).toString('latin1');
  const meta = /<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_:.-]+)/i.exec(head) ?? /<meta[^>]+content\s*=\s*["'][^"']*charset\s*=\s*([a-z0-9_:.-]+)/i.exec(head);
  const fromMeta = usableEncoding(meta?.[1] ?? null);
  // A document that claims UTF-16 in an ASCII-compatible meta tag cannot be UTF-16.
  if (fromMeta?.startsWith('utf-16')) return 'utf-8';
  return fromMeta ?? 'utf-8';
}

function usableEncoding(label: string | null): string | null {
  if (!label) return null;
  try {
    return new TextDecoder(label).encoding;
  } catch {
    return null;
  }
}

/** A streaming text decoder for `encoding`. */
interface ChunkDecoder {
  decode(chunk: Buffer, options: { stream: boolean }): string;
}

/**
 * Bytes 0x80–0x9f of windows-1252 (the encoding WHATWG uses for every "latin1" label). Node 20's
 * TextDecoder decodes them as ISO-8859-1 control characters, so pages in the most common legacy
 * encoding would lose their quotes, dashes and euro signs.
 */
const WINDOWS_1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

function decoderFor(encoding: string): ChunkDecoder {
  if (encoding !== 'windows-1252') return new TextDecoder(encoding);
  return {
    decode(chunk) {
      let out = '';
      for (const byte of chunk) out += byte >= 0x80 && byte <= 0x9f ? WINDOWS_1252_HIGH[byte - 0x80] : String.fromCharCode(byte);
      return out;
    },
  };
}

/**
 * Reads an HTML body until the head is over (or the body ends) and returns its metadata. The
 * stream is abandoned there: the fetcher then drops the connection.
 */
export async function readHeadMetadata(body: AsyncIterable<Buffer>, baseUrl: URL, headerCharset: string | null): Promise<PageMetadata> {
  const parser = new HeadMetadataParser(baseUrl);
  let decoder: ChunkDecoder | null = null;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const feed = (chunk: Buffer, last: boolean) => {
    parser.write(decoder!.decode(chunk, { stream: !last }));
  };
  for await (const chunk of body) {
    if (!decoder) {
      // The encoding is decided from the first 1024 bytes, as browsers do.
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < 1024) continue;
      const prefix = Buffer.concat(pending);
      pending = [];
      decoder = decoderFor(sniffCharset(prefix, headerCharset));
      feed(prefix, false);
    } else {
      feed(chunk, false);
    }
    if (parser.done) break;
  }
  if (!decoder) {
    const prefix = Buffer.concat(pending);
    decoder = decoderFor(sniffCharset(prefix, headerCharset));
    feed(prefix, true);
  } else if (!parser.done) {
    feed(Buffer.alloc(0), true);
  }
  return parser.end();
}
