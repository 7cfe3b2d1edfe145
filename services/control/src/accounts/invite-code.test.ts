import { describe, expect, it } from 'vitest';
import { newInviteCode } from './invite-code.js';

describe('newInviteCode', () => {
  it('is 12 letters and digits, so the CLI never reads one as an option', () => {
    const codes = Array.from({ length: 2000 }, () => newInviteCode());
    for (const code of codes) expect(code).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
