import { describe, expect, it } from 'vitest';
import {
  ATTACHMENT_TAG,
  ATTACHMENT_TAG_BUDGET,
  DELETE_TAG,
  EDIT_TAG,
  REACT_TAG,
  REPLY_TAGS,
  TYPING_TAG,
  UNREACT_TAG,
  attachmentTags,
  deleteTags,
  editTags,
  parseAttachmentTag,
  reactionTags,
  replyTags,
  replyTarget,
  tagWireBytes,
  typingTags,
} from './client-tags.js';
import { escapeTagValue } from './line.js';

const base = {
  id: 'Zx3-kq9Pz0aX1bY2cD3eFg',
  filename: 'cat; dog\\pic.png',
  contentType: 'image/png',
  size: 123_456,
  kind: 'image' as const,
  width: 4000,
  height: 3000,
  placeholder: 'k/cFBwCIeHd3h4eAeIh4d4iHiA==',
  thumbnails: [
    { width: 160, height: 120 },
    { width: 480, height: 360 },
    { width: 1280, height: 960 },
  ],
};

describe('attachmentTags', () => {
  it('carries the metadata as compact JSON in +alloquy/attachment', () => {
    const tags = attachmentTags(base);
    expect(Object.keys(tags)).toEqual([ATTACHMENT_TAG]);
    expect(parseAttachmentTag(tags[ATTACHMENT_TAG]!)).toEqual({
      v: 1,
      id: base.id,
      n: base.filename,
      t: 'image/png',
      s: 123_456,
      k: 'image',
      w: 4000,
      h: 3000,
      p: base.placeholder,
      th: [
        [160, 120],
        [480, 360],
        [1280, 960],
      ],
    });
  });

  it('escapes per IRCv3 message-tags', () => {
    expect(escapeTagValue('a b;c\\d\r\ne')).toBe('a\\sb\\:c\\\\d\\r\\ne');
  });

  it('stays within its budget (far under the 4094-byte client tag limit) with an absurd file name', () => {
    const tags = attachmentTags({ ...base, filename: `${'x; '.repeat(400)}.png` });
    const value = tags[ATTACHMENT_TAG]!;
    expect(tagWireBytes(ATTACHMENT_TAG, value)).toBeLessThanOrEqual(ATTACHMENT_TAG_BUDGET);
    const parsed = parseAttachmentTag(value)!;
    expect(parsed.id).toBe(base.id);
    expect(parsed.n.endsWith('.png')).toBe(true);
    expect(parsed.th).toHaveLength(3);
  });

  it('drops the placeholder and thumbnails before the essentials when it must', () => {
    const tags = attachmentTags({ ...base, placeholder: 'p'.repeat(900) });
    const parsed = parseAttachmentTag(tags[ATTACHMENT_TAG]!)!;
    expect(tagWireBytes(ATTACHMENT_TAG, tags[ATTACHMENT_TAG]!)).toBeLessThanOrEqual(ATTACHMENT_TAG_BUDGET);
    expect(parsed.p).toBeUndefined();
    expect(parsed).toMatchObject({ id: base.id, t: 'image/png', s: 123_456, k: 'image' });
  });

  it('leaves out what a plain file does not have', () => {
    const tags = attachmentTags({ id: 'abc', filename: 'notes.txt', contentType: 'text/plain', size: 5, kind: 'file', thumbnails: [] });
    expect(JSON.parse(tags[ATTACHMENT_TAG]!)).toEqual({ v: 1, id: 'abc', n: 'notes.txt', t: 'text/plain', s: 5, k: 'file' });
  });

  it('rejects values that are not version-1 attachment tags', () => {
    expect(parseAttachmentTag('not json')).toBeUndefined();
    expect(parseAttachmentTag('{"v":2,"id":"a","t":"x","s":1}')).toBeUndefined();
  });
});

describe('message tag encoders', () => {
  it('name exactly the tags HistServ reads', () => {
    expect(editTags('m1')).toEqual({ [EDIT_TAG]: 'm1' });
    expect(deleteTags('m1')).toEqual({ [DELETE_TAG]: 'm1' });
    expect(replyTags('m1')).toEqual({ '+draft/reply': 'm1' });
    expect(reactionTags('m1', '👍')).toEqual({ [REACT_TAG]: '👍', '+draft/reply': 'm1' });
    expect(reactionTags('m1', '👍', true)).toEqual({ [UNREACT_TAG]: '👍', '+draft/reply': 'm1' });
    expect(typingTags('paused')).toEqual({ [TYPING_TAG]: 'paused' });
  });

  it('read a reply target from either reply tag, the ratified one first', () => {
    expect(replyTarget({ '+draft/reply': 'a' })).toBe('a');
    expect(replyTarget({ '+reply': 'b', '+draft/reply': 'a' })).toBe('b');
    expect(replyTarget({ '+reply': '' })).toBeUndefined();
    expect(replyTarget({})).toBeUndefined();
    for (const name of REPLY_TAGS) expect(replyTarget({ [name]: 'x' })).toBe('x');
    // As a parsed IRC line holds them.
    expect(
      replyTarget(
        new Map([
          ['+draft/reply', 'a'],
          ['+reply', 'b'],
        ]),
      ),
    ).toBe('b');
    expect(replyTarget(new Map([['+draft/reply', 'a']]))).toBe('a');
    expect(replyTarget(new Map([['+draft/reply', '']]))).toBeUndefined();
  });
});
