import { describe, expect, it } from 'vitest';
import { openControlDatabase } from '../store/database.js';
import { InviteStore } from './invites.js';

function setup() {
  const db = openControlDatabase(':memory:');
  const alice = Number(
    db.prepare("INSERT INTO accounts (username, username_folded, password_hash, created_at, password_changed_at) VALUES ('alice', 'alice', 'x', 1, 1)").run()
      .lastInsertRowid,
  );
  return { db, invites: new InviteStore(db), alice };
}

describe('InviteStore', () => {
  it('makes invites with fresh codes, naming their maker (null for the operator)', () => {
    const { invites, alice } = setup();
    const mine = invites.create({ createdBy: alice, createdAt: 100, expiresAt: null, maxUses: 2 });
    const operator = invites.create({ createdBy: null, createdAt: 200, expiresAt: 1000, maxUses: null });
    expect(mine).toEqual({ code: expect.stringMatching(/^[A-Za-z0-9]{12}$/), createdBy: 'alice', createdAt: 100, expiresAt: null, maxUses: 2, uses: 0 });
    expect(operator).toMatchObject({ createdBy: null, expiresAt: 1000, maxUses: null });
    expect(mine.code).not.toBe(operator.code);
    expect(invites.get(mine.code)).toEqual(mine);
    expect(invites.get('nope')).toBeUndefined();
  });

  it('spends uses until none is left; refuses unknown, expired and revoked codes', () => {
    const { invites } = setup();
    const once = invites.create({ createdBy: null, createdAt: 0, expiresAt: null, maxUses: 1 });
    const soon = invites.create({ createdBy: null, createdAt: 0, expiresAt: 500, maxUses: null });
    const revoked = invites.create({ createdBy: null, createdAt: 0, expiresAt: null, maxUses: null });
    const refused = expect.objectContaining({ code: 'invalid_invite' });
    invites.consume(once.code, 10);
    expect(invites.get(once.code)!.uses).toBe(1);
    expect(() => invites.consume(once.code, 10)).toThrow(refused);
    invites.consume(soon.code, 499);
    expect(() => invites.consume(soon.code, 500)).toThrow(refused);
    invites.revoke(revoked.code, 20);
    expect(() => invites.consume(revoked.code, 21)).toThrow(refused);
    expect(() => invites.consume('made-up', 0)).toThrow(refused);
  });

  it('lists only live invites, oldest first', () => {
    const { invites } = setup();
    const later = invites.create({ createdBy: null, createdAt: 30, expiresAt: null, maxUses: null });
    const first = invites.create({ createdBy: null, createdAt: 10, expiresAt: 100, maxUses: 5 });
    const usedUp = invites.create({ createdBy: null, createdAt: 20, expiresAt: null, maxUses: 1 });
    const gone = invites.create({ createdBy: null, createdAt: 25, expiresAt: null, maxUses: null });
    invites.consume(usedUp.code, 50);
    invites.revoke(gone.code, 50);
    expect(invites.listLive(99).map((i) => i.code)).toEqual([first.code, later.code]);
    expect(invites.listLive(100).map((i) => i.code)).toEqual([later.code]);
  });
});
