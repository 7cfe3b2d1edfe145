import { describe, expect, it } from 'vitest';

import { HubCapabilities, UidGenerator, globMatch, isSid, isUid, linkPassword, parseModeToken, sanitizeText } from './protocol.js';

describe('parseModeToken', () => {
  it.each([
    ['simple:servprotect=k', { type: 'simple', name: 'servprotect', letter: 'k' }],
    ['param-set:limit=l', { type: 'param-set', name: 'limit', letter: 'l' }],
    ['list:ban=b', { type: 'list', name: 'ban', letter: 'b' }],
    ['prefix:30000:op=@o', { type: 'prefix', name: 'op', letter: 'o', symbol: '@', rank: 30000 }],
    ['prefix:10000:voice=+v', { type: 'prefix', name: 'voice', letter: 'v', symbol: '+', rank: 10000 }],
  ])('parses %s', (token, expected) => {
    expect(parseModeToken(token)).toEqual(expected);
  });

  it.each(['', 'servprotect=k', ':x=k', 'simple:x=', 'simple:x=kk', 'prefix:op=@o', 'prefix:abc:op=@o', 'simple:=k', 'simple:x=1'])('rejects %j', (token) => {
    expect(parseModeToken(token)).toBeNull();
  });
});

describe('HubCapabilities', () => {
  it('collects what InspIRCd 3.15 sends during CAPAB', () => {
    const caps = new HubCapabilities();
    const lines: string[][] = [
      ['START', '1205'],
      ['MODULES', 'm_ircv3_ctctags.so'],
      ['MODSUPPORT', 'm_services_account.so'],
      ['CHANMODES', 'list:ban=b prefix:30000:op=@o simple:noextmsg=n garbage'],
      ['USERMODES', 'simple:bot=B simple:servprotect=k param-set:snomask=s'],
      ['CAPABILITIES', 'NICKMAX=30 MAXQUIT=255 CHALLENGE=@a~ArYL[gYhC^\\~]o@Hi CASEMAPPING=ascii NOVALUE'],
    ];
    for (const params of lines) expect(caps.accept(params)).toBe(true);
    expect(caps.complete).toBe(false);
    expect(caps.accept(['END'])).toBe(true);
    expect(caps.complete).toBe(true);
    expect(caps.protocol).toBe(1205);
    expect(caps.optionalModules).toEqual(['m_services_account.so']);
    expect(caps.userModeLetter('servprotect')).toBe('k');
    expect(caps.channelModeLetter('op')).toBe('o');
    expect(caps.channelModes.size).toBe(3);
    expect(caps.capabilities.get('CHALLENGE')).toBe('@a~ArYL[gYhC^\\~]o@Hi');
    expect(caps.limit('MAXQUIT', 100)).toBe(255);
    expect(caps.limit('MISSING', 100)).toBe(100);
  });

  it('ignores what it cannot use', () => {
    const caps = new HubCapabilities();
    expect(caps.accept([])).toBe(false);
    expect(caps.accept(['BOGUS', 'x'])).toBe(false);
    expect(caps.accept(['MODULES'])).toBe(false);
    expect(caps.accept(['START', 'abc'])).toBe(true);
    expect(caps.protocol).toBe(0);
  });
});

describe('linkPassword', () => {
  // Captured from a real InspIRCd 3.15 with m_sha256: it accepted the first and sent the second.
  it('matches the HMAC InspIRCd computes for challenge-response links', () => {
    expect(linkPassword('secretpw', '@a~ArYL[gYhC^\\~]o@Hi')).toBe('AUTH:zwXrfCUPEptQoNtl3YFaKfB70rB6Ac3+7d9h+Oxfx+Q');
    expect(linkPassword('secretpw', 'abcdefghij0123456789')).toBe('AUTH:uE5+3u3VfT3TzGxHTYIphvtyJbPZfVP7cWFs9z9uMlY');
  });

  it('is the plain password without a challenge', () => {
    expect(linkPassword('secretpw', undefined)).toBe('secretpw');
    expect(linkPassword('secretpw', '')).toBe('secretpw');
  });
});

describe('identifiers and masks', () => {
  it('recognises SIDs and UIDs', () => {
    expect(isSid('0AS')).toBe(true);
    expect(isSid('AAS')).toBe(false);
    expect(isSid('0as')).toBe(false);
    expect(isUid('1ALAAAAAC')).toBe(true);
    expect(isUid('1ALAAAAA')).toBe(false);
    expect(isUid(':1ALAAAAA')).toBe(false);
  });

  it('generates distinct UIDs under our SID', () => {
    const generator = new UidGenerator('0AS');
    const uids = Array.from({ length: 40 }, () => generator.allocate());
    expect(uids[0]).toBe('0ASAAAAAA');
    expect(uids[1]).toBe('0ASAAAAAB');
    expect(new Set(uids).size).toBe(40);
    expect(uids.every(isUid)).toBe(true);
  });

  it('matches glob masks case-insensitively', () => {
    expect(globMatch('*', 'services.alloquy.local')).toBe(true);
    expect(globMatch('*.ALLOQUY.local', 'services.alloquy.local')).toBe(true);
    expect(globMatch('0A?', '0AS')).toBe(true);
    expect(globMatch('0A', '0AS')).toBe(false);
    expect(globMatch('*x*y*z', 'aaxbbyccz')).toBe(true);
    expect(globMatch('*x*y*z', 'aaxbbycc')).toBe(false);
    expect(globMatch(`${'*a'.repeat(200)}b`, 'a'.repeat(1000))).toBe(false);
  });
});

describe('sanitizeText', () => {
  it('turns NUL, CR and LF into spaces', () => {
    expect(sanitizeText('a\0b\r\nQUIT', 100)).toBe('a b  QUIT');
  });

  it('cuts to the byte limit on a character boundary', () => {
    expect(sanitizeText('abcdef', 4)).toBe('abcd');
    // 'é' is two bytes in UTF-8: three of them do not fit in five bytes.
    expect(sanitizeText('ééé', 5)).toBe('éé');
    expect(Buffer.byteLength(sanitizeText('€'.repeat(100), 200), 'utf8')).toBeLessThanOrEqual(200);
  });

  it('never leaves half a surrogate pair', () => {
    // Each emoji is two UTF-16 units and four UTF-8 bytes.
    expect(sanitizeText('😀😀', 6)).toBe('😀');
    expect(sanitizeText('a😀', 3)).toBe('a');
  });
});
