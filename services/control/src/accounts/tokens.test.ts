import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessTokens } from './tokens.js';

const SECRET = 'x'.repeat(64);
const tokens = new AccessTokens(SECRET, 'alloquy', 900);
const claims = { accountId: 7, username: 'alice', passwordVersion: 1234 };
const payload = { name: 'alice', pwv: 1234, typ: 'access' };

/** What verify() throws for `token`, as { code, message }. */
function refusal(token: string): { code: string; message: string } {
  try {
    tokens.verify(token);
  } catch (err) {
    const { code, message } = err as { code: string; message: string };
    return { code, message };
  }
  throw new Error('the token was accepted');
}

const NOT_VALID = { code: 'invalid_token', message: 'the access token is not valid' };

afterEach(() => {
  vi.useRealTimers();
});

describe('AccessTokens', () => {
  it('verifies what it minted, HS256 with its issuer, subject and lifetime', () => {
    const token = tokens.mint(claims);
    expect(tokens.verify(token)).toEqual(claims);
    const decoded = jwt.decode(token, { complete: true }) as jwt.Jwt & { payload: jwt.JwtPayload };
    expect(decoded.header.alg).toBe('HS256');
    expect(decoded.payload).toMatchObject({ ...payload, iss: 'alloquy', sub: '7' });
    expect(decoded.payload.exp! - decoded.payload.iat!).toBe(900);
  });

  it('holds the same key as the secret string: tokens signed with the string verify, and its tokens verify with the string', () => {
    const signedWithString = jwt.sign(payload, SECRET, { algorithm: 'HS256', issuer: 'alloquy', subject: '7', expiresIn: 60 });
    expect(tokens.verify(signedWithString)).toEqual(claims);
    const ours = tokens.mint(claims);
    expect(jwt.verify(ours, SECRET, { algorithms: ['HS256'], issuer: 'alloquy' })).toMatchObject(payload);
  });

  it('takes a secret outside ASCII as its UTF-8 bytes', () => {
    const secret = 'clé secrète ✓ '.repeat(4);
    const signed = jwt.sign(payload, Buffer.from(secret, 'utf8'), { algorithm: 'HS256', issuer: 'alloquy', subject: '7', expiresIn: 60 });
    expect(new AccessTokens(secret, 'alloquy', 900).verify(signed)).toEqual(claims);
  });

  it('refuses forged, unsigned, foreign-issuer, other-algorithm and malformed tokens alike', () => {
    const forged = jwt.sign(payload, 'another secret entirely', { algorithm: 'HS256', issuer: 'alloquy', subject: '7' });
    const none = jwt.sign(payload, '', { algorithm: 'none', issuer: 'alloquy', subject: '7' });
    const foreign = jwt.sign(payload, SECRET, { algorithm: 'HS256', issuer: 'elsewhere', subject: '7' });
    const hs512 = jwt.sign(payload, SECRET, { algorithm: 'HS512', issuer: 'alloquy', subject: '7' });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs256 = jwt.sign(payload, privateKey, { algorithm: 'RS256', issuer: 'alloquy', subject: '7' });
    const [header, body] = tokens.mint(claims).split('.');
    const stripped = `${header}.${body}.`;
    for (const token of [forged, none, foreign, hs512, rs256, stripped, 'not.a.token', '']) expect(refusal(token)).toEqual(NOT_VALID);
  });

  it('says when a token has expired', () => {
    const expired = jwt.sign({ ...payload, exp: Math.floor(Date.now() / 1000) - 10 }, SECRET, { algorithm: 'HS256', issuer: 'alloquy', subject: '7' });
    expect(refusal(expired)).toEqual({ code: 'invalid_token', message: 'the access token has expired' });
  });

  it('verifies a token again from memory, and refuses it from memory too once it has expired', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const shortLived = new AccessTokens(SECRET, 'alloquy', 60);
    const token = shortLived.mint(claims);
    const first = shortLived.verify(token);
    expect(shortLived.verify(token)).toEqual(first);
    // A forgery of the remembered token's claims is another text: verified in full, and refused.
    const forged = jwt.sign(jwt.decode(token) as object, 'another secret entirely', { algorithm: 'HS256' });
    expect(() => shortLived.verify(forged)).toThrow('the access token is not valid');
    vi.setSystemTime(new Date('2030-01-01T00:00:59Z'));
    expect(shortLived.verify(token)).toEqual(claims);
    vi.setSystemTime(new Date('2030-01-01T00:01:00Z'));
    expect(() => shortLived.verify(token)).toThrow('the access token has expired');
    expect(() => shortLived.verify(token)).toThrow('the access token has expired');
  });

  it('refuses a genuine signature over the wrong claims: not an access token, or a subject or version of the wrong type', () => {
    const sign = (extra: object, subject = '7') => jwt.sign({ ...payload, ...extra }, SECRET, { algorithm: 'HS256', issuer: 'alloquy', subject });
    for (const token of [sign({ typ: 'refresh' }), sign({}, 'alice'), sign({ pwv: '1234' }), sign({ name: 7 })]) expect(refusal(token)).toEqual(NOT_VALID);
  });
});
