import { describe, expect, it } from 'vitest';
import { parseOEmbed } from '../../src/embeds/oembed.js';
import { cleanText, HeadMetadataParser, readHeadMetadata, sniffCharset } from '../../src/embeds/page-metadata.js';

const base = new URL('https://news.example.com/articles/42?ref=x');

async function* chunks(...parts: Array<string | Buffer>): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.isBuffer(p) ? p : Buffer.from(p);
}

function parse(html: string) {
  const parser = new HeadMetadataParser(base);
  parser.write(html);
  return parser.end();
}

describe('HeadMetadataParser', () => {
  it('reads OpenGraph, Twitter card, title, description and the oEmbed link', () => {
    const meta = parse(`<!doctype html><html><head>
      <meta charset="utf-8">
      <title>  Plain   title </title>
      <meta name="description" content="Plain description">
      <meta property="og:title" content="OG &amp; title &#x2014; &quot;quoted&quot;">
      <meta property="og:description" content="OG description &lt;b&gt;">
      <meta property="og:site_name" content="Example News">
      <meta property="og:type" content="Article">
      <meta property="og:url" content="/articles/42">
      <meta property="og:image" content="../img/cover.jpg">
      <meta property="og:image:width" content="1200">
      <meta property="og:image:height" content="630">
      <meta property="og:image:type" content="image/jpeg">
      <meta property="og:image" content="https://cdn.example.com/second.jpg">
      <meta property="og:image:width" content="99">
      <meta property="og:video" content="https://video.example.com/v.mp4">
      <meta property="og:video:width" content="640">
      <meta name="twitter:card" content="summary_large_image">
      <meta name="twitter:title" content="Twitter title">
      <meta name="twitter:image" content="//cdn.example.com/tw.png">
      <meta name="twitter:site" content="@example">
      <link rel="alternate" type="application/json+oembed" href="/oembed?url=x&amp;format=json" title="oEmbed">
      <link rel="alternate" type="text/xml+oembed" href="/oembed.xml">
    </head><body><meta property="og:title" content="in body"></body></html>`);
    expect(meta.og).toEqual({
      title: 'OG & title — "quoted"',
      description: 'OG description <b>',
      siteName: 'Example News',
      type: 'article',
      url: 'https://news.example.com/articles/42',
      image: { url: 'https://news.example.com/img/cover.jpg', width: 1200, height: 630, type: 'image/jpeg' },
      video: { url: 'https://video.example.com/v.mp4', width: 640, height: null, type: null },
    });
    expect(meta.twitter).toEqual({
      card: 'summary_large_image',
      title: 'Twitter title',
      description: null,
      image: 'https://cdn.example.com/tw.png',
      site: '@example',
    });
    expect(meta.title).toBe('Plain title');
    expect(meta.description).toBe('Plain description');
    expect(meta.oembedUrl).toBe('https://news.example.com/oembed?url=x&format=json');
  });

  it('stops at </head>: nothing in the body counts', () => {
    const parser = new HeadMetadataParser(base);
    parser.write('<html><head><title>Head title</title></head>');
    expect(parser.done).toBe(true);
    parser.write('<body><meta property="og:title" content="late"><title>late</title>');
    expect(parser.end()).toMatchObject({ title: 'Head title', og: { title: null } });
  });

  it('stops at <body> when the head is never closed, and keeps a title split across writes', () => {
    const parser = new HeadMetadataParser(base);
    parser.write('<html><title>Split ');
    parser.write('&amp; joined</title><meta property="og:description" content="d">');
    expect(parser.done).toBe(false);
    parser.write('<body><p>text</p><meta property="og:title" content="late">');
    expect(parser.done).toBe(true);
    expect(parser.end()).toMatchObject({ title: 'Split & joined', og: { description: 'd', title: null } });
  });

  it('is not fooled by </head> inside a script or a comment', () => {
    const meta = parse(`<head><script>var s = "</head><body>";</script><!-- </head> --><meta property="og:title" content="after script"></head>`);
    expect(meta.og.title).toBe('after script');
  });

  it('drops URLs that are not http(s) and values that are empty', () => {
    const meta = parse(`<head>
      <meta property="og:image" content="javascript:alert(1)">
      <meta property="og:title" content="   ">
      <meta name="twitter:image" content="data:image/png;base64,AAAA">
      <link rel="alternate" type="application/json+oembed" href="file:///etc/passwd">
      <meta property="og:image:width" content="-5">
    </head>`);
    expect(meta.og.image).toBeNull();
    expect(meta.og.title).toBeNull();
    expect(meta.twitter.image).toBeNull();
    expect(meta.oembedUrl).toBeNull();
  });

  it('accepts twitter tags under property= and og tags under name=, in any case', () => {
    const meta = parse(`<HEAD><META NAME="OG:TITLE" CONTENT="upper"><meta property="twitter:description" content="tw desc"></HEAD>`);
    expect(meta.og.title).toBe('upper');
    expect(meta.twitter.description).toBe('tw desc');
  });

  it('caps and cleans long or dirty text', () => {
    expect(cleanText('a\u0000b\tc\n\nd')).toBe('ab c d');
    expect(cleanText('x'.repeat(5000))!.length).toBe(2000);
    expect(cleanText(' \n ')).toBeNull();
  });
});

describe('readHeadMetadata', () => {
  it('decodes windows-1252 named by a meta tag', async () => {
    const html = Buffer.concat([
      Buffer.from('<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><title>Caf'),
      Buffer.from([0xe9, 0x20, 0x80]),
      Buffer.from('</title></head>'),
    ]);
    const meta = await readHeadMetadata(chunks(html), base, null);
    expect(meta.title).toBe('Café €');
  });

  it('prefers the Content-Type charset and decodes UTF-8 split inside a character', async () => {
    const bytes = Buffer.from('<head><title>日本語のページ</title></head>');
    const split = 14; // inside the first kanji
    const meta = await readHeadMetadata(chunks(bytes.subarray(0, split), bytes.subarray(split)), base, 'utf-8');
    expect(meta.title).toBe('日本語のページ');
    expect(sniffCharset(Buffer.from('<meta charset="shift_jis">'), 'iso-8859-2')).toBe('iso-8859-2');
    expect(sniffCharset(Buffer.from('<meta charset="utf-16">'), null)).toBe('utf-8');
    expect(sniffCharset(Buffer.from('<meta charset="no-such-charset">'), 'also-bogus')).toBe('utf-8');
  });

  it('stops pulling chunks once the head is over', async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      yield Buffer.from(`<head><title>t</title></head>${' '.repeat(2000)}`);
      for (;;) {
        pulled++;
        yield Buffer.from('<p>body</p>'.repeat(100));
      }
    }
    const meta = await readHeadMetadata(endless(), base, null);
    expect(meta.title).toBe('t');
    expect(pulled).toBe(0);
  });
});

describe('parseOEmbed', () => {
  const endpoint = new URL('https://provider.example/oembed');

  it('reads the fields an embed uses, coercing loose types', () => {
    expect(
      parseOEmbed(
        JSON.stringify({
          version: '1.0',
          type: 'video',
          title: ' A  video ',
          author_name: 'Someone',
          provider_name: 'VideoSite',
          provider_url: 'https://video.example/',
          thumbnail_url: '/thumbs/1.jpg',
          thumbnail_width: '480',
          thumbnail_height: 360,
          html: '<iframe src="https://evil.example"></iframe>',
        }),
        endpoint,
      ),
    ).toEqual({
      type: 'video',
      title: 'A video',
      authorName: 'Someone',
      providerName: 'VideoSite',
      providerUrl: 'https://video.example/',
      url: null,
      thumbnailUrl: 'https://provider.example/thumbs/1.jpg',
      thumbnailWidth: 480,
      thumbnailHeight: 360,
    });
  });

  it('drops bad fields instead of failing, and refuses what is not a JSON object', () => {
    expect(
      parseOEmbed(
        JSON.stringify({ type: 'hologram', title: 42, thumbnail_url: 'ftp://x/y.png', thumbnail_width: 'wide', url: 'https://p.example/a.png' }),
        endpoint,
      ),
    ).toEqual({
      type: null,
      title: null,
      authorName: null,
      providerName: null,
      providerUrl: null,
      url: null,
      thumbnailUrl: null,
      thumbnailWidth: null,
      thumbnailHeight: null,
    });
    expect(parseOEmbed(JSON.stringify({ type: 'photo', url: 'https://p.example/a.png' }), endpoint)?.url).toBe('https://p.example/a.png');
    expect(parseOEmbed('[1,2]', endpoint)).toBeNull();
    expect(parseOEmbed('not json', endpoint)).toBeNull();
    expect(parseOEmbed('null', endpoint)).toBeNull();
  });
});
