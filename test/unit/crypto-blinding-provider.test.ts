/**
 * The Ed25519 group operations that key blinding needs (ed25519ScalarReduce / ScalarMul /
 * ScalarMultBase / ScalarMultPoint / SignExpanded): each checked against an independent
 * BigInt and @noble reference and RFC 8032, and the two providers checked against each
 * other byte for byte — results, accepted points and refusals alike.
 */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ed25519 as nobleEd25519 } from '@noble/curves/ed25519.js';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { ChiveError } from '../../src/errors.js';
import { fromHex, toHex, utf8 } from '../../src/bytes.js';
import { codeOf } from '../support/errors.js';

const providers = allCryptoProviders();
const sodium = providers.find((p) => p.name === 'sodium');
const noble = providers.find((p) => p.name === 'noble')!;

const rand = (n: number) => new Uint8Array(randomBytes(n));
const ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;
const le = (b: Uint8Array) => BigInt('0x' + (toHex(Uint8Array.from(b).reverse()) || '0'));
const toLe = (n: bigint, len = 32) => Uint8Array.from(fromHex(n.toString(16).padStart(len * 2, '0'))).reverse();

/** The RFC 8032 expanded secret key of a seed: (clamp(H[0:32]) mod ℓ, H[32:64]). */
function expand(p: CryptoProvider, seed: Uint8Array): { scalar: Uint8Array; prefix: Uint8Array } {
  const h = p.sha512(seed);
  const a = h.slice(0, 32);
  a[0]! &= 248;
  a[31]! &= 127;
  a[31]! |= 64;
  return { scalar: toLe(le(a) % ORDER), prefix: h.slice(32) };
}

/** What a provider does with `scalar · point`: the result, or the error code. */
function multOutcome(p: CryptoProvider, scalar: Uint8Array, point: Uint8Array): string {
  try {
    return toHex(p.ed25519ScalarMultPoint(scalar, point));
  } catch (e) {
    if (e instanceof ChiveError) return `error ${e.code}`;
    throw e;
  }
}

/** Point encodings that must be refused: small order, non-canonical, torsion-mixed. */
function badPointEncodings(): Uint8Array[] {
  const out: Uint8Array[] = [];
  // Small-order points (identity, order 2, 4, 8) as libsodium's blacklist lists them.
  for (const h of [
    '0100000000000000000000000000000000000000000000000000000000000000',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    '0000000000000000000000000000000000000000000000000000000000000080',
    '0000000000000000000000000000000000000000000000000000000000000000',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  ]) out.push(fromHex(h));
  // y ≥ p (non-canonical), both sign bits.
  for (let y = 0n; y < 19n; y++) {
    const e = toLe(P + y);
    out.push(e, Uint8Array.from(e, (v, i) => (i === 31 ? v | 0x80 : v)));
  }
  // A prime-order point plus a point of order 8: on the curve, but with a torsion component.
  const A = nobleEd25519.Point.fromBytes(nobleEd25519.getPublicKey(fromHex('11'.repeat(32))));
  const T8 = nobleEd25519.Point.fromBytes(fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'));
  out.push(A.add(T8).toBytes());
  return out;
}

describe.each(providers.map((p) => [p.name, p] as const))('%s provider: Ed25519 blinding operations', (_name, p: CryptoProvider) => {
  it('ed25519ScalarReduce and ed25519ScalarMul agree with BigInt arithmetic mod ℓ', () => {
    const edge = [new Uint8Array(64), new Uint8Array(64).fill(0xff), toLe(ORDER, 64), toLe(ORDER - 1n, 64), toLe(ORDER + 1n, 64)];
    for (const wide of [...edge, ...Array.from({ length: 50 }, () => rand(64))]) {
      expect(toHex(p.ed25519ScalarReduce(wide))).toBe(toHex(toLe(le(wide) % ORDER)));
    }
    const scalars = [new Uint8Array(32), new Uint8Array(32).fill(0xff), toLe(ORDER - 1n), toLe(1n)];
    for (let i = 0; i < 50; i++) scalars.push(rand(32));
    for (const a of scalars) {
      const b = rand(32);
      expect(toHex(p.ed25519ScalarMul(a, b))).toBe(toHex(toLe((le(a) * le(b)) % ORDER)));
    }
  });

  it('ed25519ScalarMultBase of an expanded key is the RFC 8032 public key', () => {
    for (let i = 0; i < 20; i++) {
      const seed = rand(32);
      expect(toHex(p.ed25519ScalarMultBase(expand(p, seed).scalar))).toBe(toHex(p.ed25519PublicKey(seed)));
    }
    expect(toHex(p.ed25519ScalarMultBase(toLe(1n)))).toBe('5866666666666666666666666666666666666666666666666666666666666666');
  });

  it('ed25519ScalarMultPoint: h·(a·B) = (h·a mod ℓ)·B', () => {
    for (let i = 0; i < 20; i++) {
      const seed = rand(32);
      const { scalar } = expand(p, seed);
      const h = p.ed25519ScalarReduce(rand(64));
      const viaPoint = p.ed25519ScalarMultPoint(h, p.ed25519PublicKey(seed));
      const viaBase = p.ed25519ScalarMultBase(p.ed25519ScalarMul(h, scalar));
      expect(toHex(viaPoint)).toBe(toHex(viaBase));
    }
  });

  it('ed25519SignExpanded with the standard expanded key equals ed25519Sign (RFC 8032 §7.1 test 2, random seeds)', () => {
    const seed = fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb');
    const { scalar, prefix } = expand(p, seed);
    expect(toHex(p.ed25519SignExpanded(scalar, prefix, fromHex('72')))).toBe(
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    );
    for (let i = 0; i < 20; i++) {
      const s = rand(32);
      const m = rand(i * 7);
      const k = expand(p, s);
      expect(toHex(p.ed25519SignExpanded(k.scalar, k.prefix, m))).toBe(toHex(p.ed25519Sign(s, m)));
    }
  });

  it('ed25519SignExpanded with an arbitrary scalar verifies under scalar·B, and only there', () => {
    for (let i = 0; i < 10; i++) {
      const scalar = p.ed25519ScalarReduce(rand(64));
      const message = utf8(`message ${i}`);
      const sig = p.ed25519SignExpanded(scalar, rand(32), message);
      const publicKey = p.ed25519ScalarMultBase(scalar);
      expect(p.ed25519Verify(publicKey, message, sig)).toBe(true);
      expect(p.ed25519Verify(publicKey, utf8(`message ${i + 1}`), sig)).toBe(false);
      expect(p.ed25519Verify(p.ed25519PublicKey(rand(32)), message, sig)).toBe(false);
    }
  });

  it('refuses unreduced or zero scalars with INVALID_ARGUMENT and bad points with BAD_KEY', () => {
    const A = p.ed25519PublicKey(rand(32));
    for (const bad of [new Uint8Array(32), toLe(ORDER), toLe(ORDER + 1n), new Uint8Array(32).fill(0xff), new Uint8Array(31)]) {
      expect(codeOf(() => p.ed25519ScalarMultBase(bad))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => p.ed25519ScalarMultPoint(bad, A))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => p.ed25519SignExpanded(bad, rand(32), utf8('m')))).toBe('INVALID_ARGUMENT');
    }
    expect(codeOf(() => p.ed25519SignExpanded(toLe(5n), rand(31), utf8('m')))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => p.ed25519ScalarReduce(rand(32)))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => p.ed25519ScalarMul(rand(32), rand(33)))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => p.ed25519ScalarMultPoint(toLe(5n), rand(31)))).toBe('INVALID_ARGUMENT');
    for (const point of badPointEncodings()) {
      expect(codeOf(() => p.ed25519ScalarMultPoint(toLe(5n), point))).toBe('BAD_KEY');
    }
    // ℓ − 1 is the largest scalar allowed.
    expect(p.ed25519ScalarMultPoint(toLe(ORDER - 1n), A)).toHaveLength(32);
  });
});

describe('sodium and noble agree byte for byte on the blinding operations', () => {
  it.skipIf(!sodium)('on random scalars, points, prefixes and messages', () => {
    const s = sodium!;
    for (let i = 0; i < 100; i++) {
      const wide = rand(64);
      expect(toHex(s.ed25519ScalarReduce(wide))).toBe(toHex(noble.ed25519ScalarReduce(wide)));
      const a = rand(32);
      const b = rand(32);
      expect(toHex(s.ed25519ScalarMul(a, b))).toBe(toHex(noble.ed25519ScalarMul(a, b)));
      const scalar = noble.ed25519ScalarReduce(rand(64));
      expect(toHex(s.ed25519ScalarMultBase(scalar))).toBe(toHex(noble.ed25519ScalarMultBase(scalar)));
      const A = noble.ed25519PublicKey(rand(32));
      expect(toHex(s.ed25519ScalarMultPoint(scalar, A))).toBe(toHex(noble.ed25519ScalarMultPoint(scalar, A)));
      const prefix = rand(32);
      const message = rand(i);
      expect(toHex(s.ed25519SignExpanded(scalar, prefix, message))).toBe(toHex(noble.ed25519SignExpanded(scalar, prefix, message)));
    }
  });

  it.skipIf(!sodium)('on which point encodings are accepted (random bytes and known bad encodings)', () => {
    const s = sodium!;
    const scalar = toLe(12345n);
    let accepted = 0;
    const encodings = [...badPointEncodings(), ...Array.from({ length: 400 }, () => rand(32))];
    for (const point of encodings) {
      const outcome = multOutcome(s, scalar, point);
      expect(multOutcome(noble, scalar, point)).toBe(outcome);
      if (!outcome.startsWith('error')) accepted++;
    }
    // About 1 in 16 random strings is a prime-order point: both paths were exercised.
    expect(accepted).toBeGreaterThan(5);
    expect(accepted).toBeLessThan(encodings.length / 4);
  });
});
