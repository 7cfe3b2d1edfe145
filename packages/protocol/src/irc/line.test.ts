import { describe, expect, it } from 'vitest';

import { IrcSerializeError, escapeTagValue, parseLine, serializeMessage, unescapeTagValue, type IrcMessage } from './line.js';

function parsed(line: string): IrcMessage {
  const result = parseLine(line);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(line)} to parse: ${result.error} ${result.detail}`);
  return result.message;
}

describe('parseLine', () => {
  it('parses source, command, middle and trailing parameters', () => {
    expect(parsed(':1AL UID 1ALAAAAAC 1795292233 alice 127.0.0.1 127.0.0.1 alice 127.0.0.1 1795292233 + :real name')).toEqual({
      tags: new Map(),
      source: '1AL',
      command: 'UID',
      params: ['1ALAAAAAC', '1795292233', 'alice', '127.0.0.1', '127.0.0.1', 'alice', '127.0.0.1', '1795292233', '+', 'real name'],
    });
  });

  it('parses a line without a source and upper-cases the command', () => {
    expect(parsed('capab START 1205')).toMatchObject({ source: null, command: 'CAPAB', params: ['START', '1205'] });
  });

  it('keeps numerics, empty trailing and colons inside the trailing', () => {
    expect(parsed(':irc 903 alice :SASL: ok :)').params).toEqual(['alice', 'SASL: ok :)']);
    expect(parsed(':0AS METADATA 1ALAAAAAC accountname :').params).toEqual(['1ALAAAAAC', 'accountname', '']);
    expect(parsed('PING ::x').params).toEqual([':x']);
  });

  it('tolerates repeated spaces between parts and a trailing space', () => {
    expect(parsed(':src   PRIVMSG   #c    :hi  there').params).toEqual(['#c', 'hi  there']);
    expect(parsed('PING 1AL ').params).toEqual(['1AL']);
  });

  it('parses IRCv3 tags with escapes, valueless keys, client and vendor prefixes', () => {
    const message = parsed('@time=2026-11-21T20:17:14.341Z;+draft/react=\\:\\s\\\\\\r\\n;inspircd.org/bot;a=;x=\\q\\ :1ALAAAAAC QUIT :bye');
    expect(message.tags).toEqual(
      new Map([
        ['time', '2026-11-21T20:17:14.341Z'],
        ['+draft/react', '; \\\r\n'],
        ['inspircd.org/bot', ''],
        ['a', ''],
        ['x', 'q'],
      ]),
    );
    expect(message.source).toBe('1ALAAAAAC');
  });

  it('lets the last duplicate tag win', () => {
    expect(parsed('@a=1;a=2 PING x').tags.get('a')).toBe('2');
  });

  it.each([
    ['', 'empty'],
    ['PING x\0y', 'nul-byte'],
    ['PING x\ry', 'line-break'],
    ['PING\nx', 'line-break'],
    ['@a=b', 'no-command'],
    ['@a=b   ', 'no-command'],
    [':source', 'no-command'],
    [':source   ', 'no-command'],
    [': PING', 'bad-source'],
    ['::x PING', 'bad-source'],
    ['@ PING', 'bad-tags'],
    ['@; PING', 'bad-tags'],
    ['@a=b; PING', 'bad-tags'],
    ['@=v PING', 'bad-tags'],
    ['@ké=v PING', 'bad-tags'],
    ['@a/ PING', 'bad-tags'],
    ['@/a PING', 'bad-tags'],
    ['@++a PING', 'bad-tags'],
    [':src PR1VMSG x', 'bad-command'],
    [':src 12 x', 'bad-command'],
    [':src 1234 x', 'bad-command'],
    [':src :PRIVMSG x', 'bad-command'],
    ['   ', 'no-command'],
  ])('rejects %j as %s', (line, error) => {
    const result = parseLine(line);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toBe(error);
  });

  it('enforces the 512-byte body limit (510 plus CRLF), counting bytes not characters', () => {
    const fits = `PRIVMSG #c :${'a'.repeat(510 - 'PRIVMSG #c :'.length)}`;
    expect(parseLine(fits).ok).toBe(true);
    expect(parseLine(`${fits}a`)).toMatchObject({ ok: false, error: 'body-too-long' });
    const multibyte = `PRIVMSG #c :${'é'.repeat(250)}`; // 12 + 500 bytes
    expect(parseLine(multibyte)).toMatchObject({ ok: false, error: 'body-too-long' });
    expect(parseLine(`${fits}a`, { maxBodyBytes: 4096 }).ok).toBe(true);
  });

  it('enforces the 8191-byte tags limit independently of the body', () => {
    const tagsOf = (bytes: number): string => `@k=${'v'.repeat(bytes - 4)} PING x`; // '@' + 'k=' + value + ' '
    expect(parseLine(tagsOf(8191)).ok).toBe(true);
    expect(parseLine(tagsOf(8192))).toMatchObject({ ok: false, error: 'tags-too-long' });
    expect(parseLine(`@${'x'.repeat(9000)}`)).toMatchObject({ ok: false, error: 'tags-too-long' });
  });

  it('never throws, even on non-string input', () => {
    expect(parseLine(undefined as unknown as string)).toMatchObject({ ok: false, error: 'empty' });
    expect(parseLine(42 as unknown as string)).toMatchObject({ ok: false, error: 'empty' });
  });
});

describe('serializeMessage', () => {
  it('writes source, command and parameters, adding ":" only where needed', () => {
    expect(serializeMessage({ source: '0AS', command: 'ENCAP', params: ['1AL', 'SASL', '0ASAAAAAA', '1ALAAAAAC', 'C', '+'] })).toBe(
      ':0AS ENCAP 1AL SASL 0ASAAAAAA 1ALAAAAAC C +',
    );
    expect(serializeMessage({ source: '0AS', command: 'METADATA', params: ['1ALAAAAAC', 'accountname', ''] })).toBe(':0AS METADATA 1ALAAAAAC accountname :');
    expect(serializeMessage({ command: 'SERVER', params: ['services.alloquy.local', 'pw', '0', '0AS', 'Alloquy services'] })).toBe(
      'SERVER services.alloquy.local pw 0 0AS :Alloquy services',
    );
    expect(serializeMessage({ command: 'PRIVMSG', params: ['#c', ':)'] })).toBe('PRIVMSG #c ::)');
    expect(serializeMessage({ command: 'ENDBURST' })).toBe('ENDBURST');
  });

  it('escapes tag values and omits "=" for empty values', () => {
    const line = serializeMessage({ tags: { '+draft/react': 'a; b\\c\r\n', bot: '' }, command: 'TAGMSG', params: ['#c'] });
    expect(line).toBe('@+draft/react=a\\:\\sb\\\\c\\r\\n;bot TAGMSG #c');
    expect(parsed(line).tags.get('+draft/react')).toBe('a; b\\c\r\n');
  });

  it.each([
    [{ command: 'PRIVMSG', params: ['#c', 'a\r\nQUIT'] }, 'bad-param'],
    [{ command: 'PRIVMSG', params: ['#c', 'a\0'] }, 'bad-param'],
    [{ command: 'PRIVMSG', params: ['#c\n', 'x'] }, 'bad-param'],
    [{ command: 'KILL', params: ['a b', 'x'] }, 'bad-param'],
    [{ command: 'KILL', params: [':x', 'y'] }, 'bad-param'],
    [{ command: 'KILL', params: ['', 'y'] }, 'bad-param'],
    [{ command: 'PRIV MSG' }, 'bad-command'],
    [{ command: '' }, 'bad-command'],
    [{ command: 'PING', source: 'a b' }, 'bad-source'],
    [{ command: 'PING', source: '' }, 'bad-source'],
    [{ command: 'PING', source: ':x' }, 'bad-source'],
    [{ command: 'PING', tags: { 'bad key': 'x' } }, 'bad-tag-key'],
    [{ command: 'PING', tags: { k: 'x\0' } }, 'bad-tag-value'],
    [{ command: 'PRIVMSG', params: ['#c', 'x'.repeat(600)] }, 'too-long'],
  ])('refuses %j with %s', (message, code) => {
    let caught: unknown;
    try {
      serializeMessage(message);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(IrcSerializeError);
    expect((caught as IrcSerializeError).code).toBe(code);
  });

  it.each([
    ':1AL ENCAP 0AS SASL 1ALAAAAAD 0ASAAAAAA C AGJvYgBiYWQ=',
    '@time=2026-11-21T20:17:14.341Z :1ALAAAAAC QUIT :bye',
    ':1AL FJOIN #t 1795292234 +nt :o,1ALAAAAAC:0',
    '@a=\\:\\s;b :x PRIVMSG #chan :hello world',
    'CAPAB CAPABILITIES :NICKMAX=30 CHANMAX=64',
    ':1AL METADATA #t 1795292234 maxlist :b 100',
  ])('round-trips %j', (line) => {
    const message = parsed(line);
    const again = serializeMessage(message);
    expect(parsed(again)).toEqual(message);
  });
});

describe('tag value escaping', () => {
  it('unescapes known sequences, drops the backslash before others and a trailing lone one', () => {
    expect(unescapeTagValue('a\\:b\\sc\\\\d\\re\\nf')).toBe('a;b c\\d\re\nf');
    expect(unescapeTagValue('\\x\\')).toBe('x');
  });

  it('round-trips arbitrary text', () => {
    const text = 'semi;colon space back\\slash \r\n ü 😀';
    expect(unescapeTagValue(escapeTagValue(text))).toBe(text);
  });
});
