import { describe, expect, it } from 'vitest';

import { arePrefixModes, formatModeLine, modeKindsByLetter, packModeChanges, parseModeChanges, takesParam, type ModeChange } from './modes.js';
import { HubCapabilities } from './protocol.js';

/** The CAPAB CHANMODES InspIRCd 3.15 sends with our config (captured from the real daemon). */
const HUB_CHANMODES =
  'list:ban=b list:banexception=e list:invex=I param-set:history=H param-set:limit=l param:key=k prefix:10000:voice=+v prefix:30000:op=@o simple:c_registered=r simple:inviteonly=i simple:moderated=m simple:noextmsg=n simple:private=p simple:reginvite=R simple:regmoderated=M simple:secret=s simple:topiclock=t';

function hubKinds() {
  const capab = new HubCapabilities();
  capab.accept(['CHANMODES', HUB_CHANMODES]);
  return capab.channelModeKinds();
}

const kinds = hubKinds();
const add = (letter: string, param?: string): ModeChange => (param === undefined ? { adding: true, letter } : { adding: true, letter, param });
const del = (letter: string, param?: string): ModeChange => (param === undefined ? { adding: false, letter } : { adding: false, letter, param });

describe('mode kinds from CAPAB', () => {
  it('indexes every advertised channel mode by letter', () => {
    expect(Object.fromEntries(kinds)).toEqual({
      b: 'list',
      e: 'list',
      I: 'list',
      H: 'param-set',
      l: 'param-set',
      k: 'param',
      v: 'prefix',
      o: 'prefix',
      r: 'simple',
      i: 'simple',
      m: 'simple',
      n: 'simple',
      p: 'simple',
      R: 'simple',
      M: 'simple',
      s: 'simple',
      t: 'simple',
    });
  });

  it('leaves out descriptors of kinds it does not know', () => {
    const byLetter = modeKindsByLetter([
      { type: 'simple', name: 'a', letter: 'a' },
      { type: 'weird', name: 'w', letter: 'w' },
    ]);
    expect([...byLetter]).toEqual([['a', 'simple']]);
  });

  it('accepts only advertised prefix modes as member prefixes', () => {
    expect(arePrefixModes('', kinds)).toBe(true);
    expect(arePrefixModes('ov', kinds)).toBe(true);
    expect(arePrefixModes('ob', kinds)).toBe(false);
    expect(arePrefixModes('oZ', kinds)).toBe(false);
    expect(arePrefixModes(',', kinds)).toBe(false);
  });

  it('knows which kinds take a parameter when set and when unset', () => {
    expect([true, false].map((adding) => takesParam('simple', adding))).toEqual([false, false]);
    expect([true, false].map((adding) => takesParam('param', adding))).toEqual([true, true]);
    expect([true, false].map((adding) => takesParam('param-set', adding))).toEqual([true, false]);
    expect([true, false].map((adding) => takesParam('list', adding))).toEqual([true, true]);
    expect([true, false].map((adding) => takesParam('prefix', adding))).toEqual([true, true]);
  });

  it('recomputes the index when CHANMODES arrives again (a new negotiation)', () => {
    const capab = new HubCapabilities();
    capab.accept(['CHANMODES', 'simple:noextmsg=n']);
    expect(capab.channelModeKinds().get('b')).toBeUndefined();
    capab.accept(['CHANMODES', 'list:ban=b']);
    expect(capab.channelModeKinds().get('b')).toBe('list');
  });
});

describe('parseModeChanges', () => {
  it('parses the FJOIN mode string of a fresh channel', () => {
    expect(parseModeChanges('+Hnt', ['50:1w'], kinds)).toEqual({
      changes: [add('H', '50:1w'), add('n'), add('t')],
      unknown: [],
      missingParams: 0,
      extraParams: 0,
    });
  });

  it('takes parameters in order across signs and kinds', () => {
    const parsed = parseModeChanges('+bI-e+ov-k+l', ['R:a', 'R:b', 'm:R:c', '1ALAAAAAA', '1ALAAAAAB', 'key', '10'], kinds);
    expect(parsed.changes).toEqual([
      add('b', 'R:a'),
      add('I', 'R:b'),
      del('e', 'm:R:c'),
      add('o', '1ALAAAAAA'),
      add('v', '1ALAAAAAB'),
      del('k', 'key'),
      add('l', '10'),
    ]);
    expect(parsed.extraParams).toBe(0);
  });

  it('unsets param-set modes without a parameter, and param modes with one', () => {
    expect(parseModeChanges('-lHk', ['secret'], kinds).changes).toEqual([del('l'), del('H'), del('k', 'secret')]);
  });

  it('assumes + without a leading sign and ignores repeated signs', () => {
    expect(parseModeChanges('nt', [], kinds).changes).toEqual([add('n'), add('t')]);
    expect(parseModeChanges('++--+i', [], kinds).changes).toEqual([add('i')]);
    expect(parseModeChanges('', [], kinds).changes).toEqual([]);
    expect(parseModeChanges('+', [], kinds).changes).toEqual([]);
  });

  it('skips unknown letters without consuming a parameter, like InspIRCd', () => {
    const parsed = parseModeChanges('+Xb-Y', ['R:a'], kinds);
    expect(parsed.changes).toEqual([add('b', 'R:a')]);
    expect(parsed.unknown).toEqual(['X', 'Y']);
  });

  it('drops changes whose parameter is missing or empty, and counts leftovers', () => {
    expect(parseModeChanges('+bb', ['R:a'], kinds)).toMatchObject({ changes: [add('b', 'R:a')], missingParams: 1 });
    expect(parseModeChanges('+ob', ['', 'R:a'], kinds)).toMatchObject({ changes: [add('b', 'R:a')], missingParams: 1 });
    expect(parseModeChanges('+n', ['x', 'y'], kinds)).toMatchObject({ changes: [add('n')], extraParams: 2 });
  });

  it('treats non-ASCII and punctuation as unknown letters', () => {
    expect(parseModeChanges('+é:b', ['x'], kinds)).toMatchObject({ changes: [add('b', 'x')], unknown: ['é', ':'] });
  });

  it('is total over random mode strings and parameters', () => {
    let seed = 0x5eed;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const alphabet = '+-bIeHlkvortimnpRMs XYZ:é\u0000';
    for (let i = 0; i < 5000; i++) {
      const modes = Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      const params = Array.from({ length: Math.floor(random() * 5) }, () => (random() < 0.2 ? '' : `p${i}`));
      const parsed = parseModeChanges(modes, params, kinds);
      // Every parameter is either used, consumed empty (a missing one), or left over.
      const used = parsed.changes.filter((change) => change.param !== undefined).length;
      const consumedEmpty = params.length - used - parsed.extraParams;
      expect(consumedEmpty).toBeGreaterThanOrEqual(0);
      expect(consumedEmpty).toBeLessThanOrEqual(parsed.missingParams);
      for (const change of parsed.changes) {
        expect(kinds.has(change.letter)).toBe(true);
        expect(change.param === undefined || change.param.length > 0).toBe(true);
      }
    }
  });
});

describe('formatModeLine and packModeChanges', () => {
  it('formats signs only where they change', () => {
    expect(formatModeLine([add('n'), add('t'), del('i'), del('b', 'R:x'), add('o', 'UID')])).toEqual({
      modes: '+nt-ib+o',
      params: ['R:x', 'UID'],
      changes: [add('n'), add('t'), del('i'), del('b', 'R:x'), add('o', 'UID')],
    });
  });

  it('round-trips through parseModeChanges', () => {
    const changes = [add('b', 'R:a'), del('e', 'm:R:b'), add('i'), del('l'), add('l', '5'), add('o', '1ALAAAAAA')];
    const line = formatModeLine(changes);
    expect(parseModeChanges(line.modes, line.params, kinds).changes).toEqual(changes);
  });

  it('splits at MAXMODES changes per line, keeping order', () => {
    const changes = Array.from({ length: 45 }, (_, i) => add('b', `R:user${i}`));
    const lines = packModeChanges(changes, { maxModes: 20, maxBytes: 400 });
    expect(lines.map((line) => line.changes.length)).toEqual([20, 20, 5]);
    expect(lines.flatMap((line) => line.changes)).toEqual(changes);
    expect(lines[0]!.modes).toBe(`+${'b'.repeat(20)}`);
  });

  it('splits before a line would exceed its byte budget', () => {
    const long = 'R:' + 'x'.repeat(28);
    const changes = Array.from({ length: 10 }, () => add('b', long));
    // Each change costs 2 + 1 + 30 = 33 bytes: three fit in 100.
    const lines = packModeChanges(changes, { maxModes: 20, maxBytes: 100 });
    expect(lines.map((line) => line.changes.length)).toEqual([3, 3, 3, 1]);
    for (const line of lines) expect(Buffer.byteLength([line.modes, ...line.params].join(' '))).toBeLessThanOrEqual(100);
  });

  it('leaves out parameters that would break the line or never fit', () => {
    const lines = packModeChanges([add('b', 'a b'), add('b', ':x'), add('b', ''), add('b', 'y'.repeat(200)), add('n')], { maxModes: 20, maxBytes: 100 });
    expect(lines).toEqual([{ modes: '+n', params: [], changes: [add('n')] }]);
  });

  it('sends nothing for nothing', () => {
    expect(packModeChanges([], { maxModes: 20, maxBytes: 400 })).toEqual([]);
  });
});
