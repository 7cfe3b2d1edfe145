import { describe, expect, it } from 'vitest';
import { UrlSigner } from '../../src/downloads/url-signer.js';

describe('UrlSigner', () => {
  const signer = new UrlSigner('0123456789abcdef0123456789abcdef');

  it('accepts its own signature until the expiry', () => {
    const sig = signer.sign('file1', 1_000);
    expect(signer.verify('file1', '1000', sig, 999)).toBe('valid');
    expect(signer.verify('file1', '1000', sig, 1_000)).toBe('expired');
  });

  it('refuses another file, another expiry, another secret and malformed input', () => {
    const sig = signer.sign('file1', 1_000);
    expect(signer.verify('file2', '1000', sig, 0)).toBe('invalid');
    expect(signer.verify('file1', '1001', sig, 0)).toBe('invalid');
    expect(new UrlSigner('another secret of enough length').verify('file1', '1000', sig, 0)).toBe('invalid');
    expect(signer.verify('file1', '1000', sig.slice(1), 0)).toBe('invalid');
    expect(signer.verify('file1', '1e3', sig, 0)).toBe('invalid');
    expect(signer.verify('file1', ['1000'], sig, 0)).toBe('invalid');
    expect(signer.verify('file1', undefined, undefined, 0)).toBe('invalid');
  });

  it('wants a real secret', () => {
    expect(() => new UrlSigner('short')).toThrow();
  });
});
