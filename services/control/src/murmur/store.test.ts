import { describe, expect, it } from 'vitest';
import { openControlDatabase } from '../store/database.js';
import { MAX_CERTIFICATES_PER_ACCOUNT, MurmurStore, normaliseCertHash } from './store.js';

function setup() {
  const db = openControlDatabase(':memory:');
  let t = 1000;
  const now = () => t;
  const add = (name: string) =>
    Number(
      db.prepare("INSERT INTO accounts (username, username_folded, password_hash, created_at, password_changed_at) VALUES (?, ?, 'x', 1, 50)").run(name, name)
        .lastInsertRowid,
    );
  return { db, store: new MurmurStore(db, now), add, tick: () => (t += 1) };
}

const H1 = 'a'.repeat(40);
const H2 = 'b'.repeat(40);

describe('MurmurStore', () => {
  it('records sync state and counts stale accounts', () => {
    const { store, add } = setup();
    const a = add('alice');
    const b = add('bob');
    store.setState(a, { murmurUserId: 1, passwordVersion: 50, certHash: '' });
    store.setState(b, { murmurUserId: 2, passwordVersion: null, certHash: '' });
    expect(store.state(a)).toEqual({ murmurUserId: 1, passwordVersion: 50, certHash: '' });
    expect(store.staleCount()).toBe(1);
    store.setState(b, { murmurUserId: 2, passwordVersion: 49, certHash: '' });
    expect(store.staleCount()).toBe(1);
    store.clearState(b);
    expect(store.staleCount()).toBe(0);
  });

  it('keeps certificates per account; the newest added is the active one', () => {
    const { store, add, tick } = setup();
    const a = add('alice');
    const b = add('bob');
    expect(store.addCertificate(a, H1.toUpperCase())).toEqual({ hash: H1, created: true });
    tick();
    store.addCertificate(a, H2.replace(/(..)/g, '$1:').slice(0, -1));
    expect(store.activeCertHash(a)).toBe(H2);
    expect(store.activeCertHashes()).toEqual(new Map([[a, H2]]));
    // Adding an existing one again makes it active again.
    tick();
    expect(store.addCertificate(a, H1)).toEqual({ hash: H1, created: false });
    expect(store.certificates(a).map((c) => [c.hash, c.active])).toEqual([
      [H1, true],
      [H2, false],
    ]);
    expect(() => store.addCertificate(b, H1)).toThrow(expect.objectContaining({ code: 'certificate_taken' }));
    store.removeCertificate(a, H1);
    expect(store.activeCertHash(a)).toBe(H2);
    expect(() => store.removeCertificate(a, H1)).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(store.activeCertHash(b)).toBe('');
  });

  it('limits certificates per account and rejects what is not a SHA-1', () => {
    const { store, add } = setup();
    const a = add('alice');
    for (let i = 0; i < MAX_CERTIFICATES_PER_ACCOUNT; i++) store.addCertificate(a, i.toString(16).padStart(40, '0'));
    expect(() => store.addCertificate(a, H1)).toThrow(/at most/);
    expect(() => normaliseCertHash('abc')).toThrow(/40 hexadecimal/);
    expect(() => normaliseCertHash('g'.repeat(40))).toThrow(/40 hexadecimal/);
  });
});
