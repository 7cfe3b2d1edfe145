import { describe, expect, it } from 'vitest';
import { seededRandom } from '../testing/seeded-random.js';
import { utf8ByteLength } from './utf8.js';

const encoder = new TextEncoder();

describe('utf8ByteLength', () => {
  it('counts what TextEncoder writes, for every width and for lone surrogates', () => {
    for (const text of ['', 'abc', 'é', '€', '😀', 'a😀b', '\ud800', '\udc00x', '\ud800\ud800', 'x\ud83d']) {
      expect(utf8ByteLength(text)).toBe(encoder.encode(text).length);
    }
  });

  it('agrees with TextEncoder on random strings of random code units', () => {
    const random = seededRandom(7);
    for (let n = 0; n < 2000; n++) {
      const units = Array.from({ length: Math.floor(random() * 20) }, () => Math.floor(random() * 0x10000));
      const text = String.fromCharCode(...units);
      expect(utf8ByteLength(text)).toBe(encoder.encode(text).length);
    }
  });
});
