/**
 * Time periods and key blinding (src/chat/blinding.ts) through both crypto providers: the
 * vectors of test/vectors/chat (cross-checked against the RFC 8032 Python reference),
 * blinded signatures verified by plain Ed25519 in both providers and in node:crypto
 * (OpenSSL), refused under the unblinded key and under other periods' keys.
 */
import { readFileSync } from 'node:fs';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';

import { fromHex, toHex, utf8 } from '../../src/bytes.js';
import { blindedPublicKey, blindedSign, blindingFactor, timePeriod } from '../../src/chat/blinding.js';
import { CHAT_TIME_PERIOD_MS } from '../../src/wire/constants.js';
import { codeOf } from '../support/errors.js';

interface BlindingVector {
  identitySeed: string; identityPub: string; period: number; h: string; blindedPub: string;
  blindedScalar: string; blindedPrefix: string; messageUtf8: string; signature: string;
}
const vectors = JSON.parse(readFileSync(new URL('../vectors/chat/chat-identity.json', import.meta.url), 'utf8')).blinding as BlindingVector[];

const providers = allCryptoProviders();

/** Ed25519 verification by OpenSSL, a third implementation. */
function opensslVerifies(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
  return nodeVerify(null, message, key, signature);
}

describe('timePeriod', () => {
  it('is floor(now / period length), a day by default', () => {
    expect(CHAT_TIME_PERIOD_MS).toBe(86_400_000);
    expect(timePeriod(0)).toBe(0);
    expect(timePeriod(86_399_999)).toBe(0);
    expect(timePeriod(86_400_000)).toBe(1);
    expect(timePeriod(1_700_000_000_000)).toBe(19_675);
    expect(timePeriod(1_700_000_000_000, 1000)).toBe(1_700_000_000);
    expect(timePeriod(2999, 1000)).toBe(2);
    expect(timePeriod(3000, 1000)).toBe(3);
    expect(timePeriod(1234.9, 1000)).toBe(1);
  });

  it('refuses nonsense with INVALID_ARGUMENT', () => {
    for (const [now, len] of [[-1, 1000], [Number.NaN, 1000], [Number.POSITIVE_INFINITY, 1000], [5, 0], [5, -10], [5, 1.5]] as const) {
      expect(codeOf(() => timePeriod(now, len))).toBe('INVALID_ARGUMENT');
    }
  });
});

describe.each(providers.map((p) => [p.name, p] as const))('key blinding with the %s provider', (_name, p: CryptoProvider) => {
  it('reproduces the vectors (h, blinded key, deterministic blinded signature)', () => {
    for (const v of vectors) {
      const seed = fromHex(v.identitySeed);
      const identityPub = p.ed25519PublicKey(seed);
      expect(toHex(identityPub)).toBe(v.identityPub);
      expect(toHex(blindingFactor(p, identityPub, v.period))).toBe(v.h);
      expect(toHex(blindedPublicKey(p, identityPub, v.period))).toBe(v.blindedPub);
      expect(toHex(p.ed25519ScalarMultBase(fromHex(v.blindedScalar)))).toBe(v.blindedPub);
      const message = utf8(v.messageUtf8);
      expect(toHex(blindedSign(p, seed, v.period, message))).toBe(v.signature);
      expect(p.ed25519Verify(fromHex(v.blindedPub), message, fromHex(v.signature))).toBe(true);
    }
  });

  it('blinded signatures verify under the blinded key with plain Ed25519, in every implementation', () => {
    for (let i = 0; i < 8; i++) {
      const seed = p.randomBytes(32);
      const period = 19_000 + i;
      const message = p.randomBytes(1 + i * 40);
      const signature = blindedSign(p, seed, period, message);
      const blinded = blindedPublicKey(p, p.ed25519PublicKey(seed), period);
      for (const q of providers) expect(q.ed25519Verify(blinded, message, signature)).toBe(true);
      expect(opensslVerifies(blinded, message, signature)).toBe(true);
      const other = Uint8Array.from(message);
      other[0]! ^= 1;
      expect(p.ed25519Verify(blinded, other, signature)).toBe(false);
    }
  });

  it('blinded signatures fail under the unblinded identity key', () => {
    const seed = p.randomBytes(32);
    const message = utf8('a descriptor');
    const signature = blindedSign(p, seed, 7, message);
    expect(p.ed25519Verify(p.ed25519PublicKey(seed), message, signature)).toBe(false);
    expect(opensslVerifies(p.ed25519PublicKey(seed), message, signature)).toBe(false);
    // and a plain signature does not verify under the blinded key
    expect(p.ed25519Verify(blindedPublicKey(p, p.ed25519PublicKey(seed), 7), message, p.ed25519Sign(seed, message))).toBe(false);
  });

  it('different periods give different, unrelated keys whose signatures do not cross over', () => {
    const seed = p.randomBytes(32);
    const identityPub = p.ed25519PublicKey(seed);
    const keys = [0, 1, 2, 19_700, 19_701, 0xffff_ffff, 2 ** 40].map((period) => blindedPublicKey(p, identityPub, period));
    const distinct = new Set([toHex(identityPub), ...keys.map(toHex)]);
    expect(distinct.size).toBe(keys.length + 1);
    const message = utf8('period 19700');
    const signature = blindedSign(p, seed, 19_700, message);
    expect(p.ed25519Verify(keys[3]!, message, signature)).toBe(true);
    for (const [i, key] of keys.entries()) if (i !== 3) expect(p.ed25519Verify(key, message, signature)).toBe(false);
    // Unrelated: the blinding factors of neighbouring periods share no structure we can see
    // (about half their bits differ), unlike, say, h and h + 1.
    const h1 = blindingFactor(p, identityPub, 19_700);
    const h2 = blindingFactor(p, identityPub, 19_701);
    let differing = 0;
    for (let i = 0; i < 32; i++) for (let b = 0; b < 8; b++) differing += ((h1[i]! ^ h2[i]!) >> b) & 1;
    expect(differing).toBeGreaterThan(80);
    expect(differing).toBeLessThan(176);
  });

  it('different identities give different blinded keys in the same period', () => {
    const a = blindedPublicKey(p, p.ed25519PublicKey(p.randomBytes(32)), 5);
    const b = blindedPublicKey(p, p.ed25519PublicKey(p.randomBytes(32)), 5);
    expect(toHex(a)).not.toBe(toHex(b));
  });

  it('refuses bad arguments with typed errors', () => {
    const seed = p.randomBytes(32);
    const pub = p.ed25519PublicKey(seed);
    expect(codeOf(() => blindedPublicKey(p, new Uint8Array(31), 1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => blindedPublicKey(p, pub, -1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => blindedPublicKey(p, pub, 1.5))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => blindedPublicKey(p, pub, 2 ** 53))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => blindedSign(p, new Uint8Array(64), 1, utf8('m')))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => blindedSign(p, seed, -3, utf8('m')))).toBe('INVALID_ARGUMENT');
    // a key that is not a point of prime order cannot be blinded
    expect(codeOf(() => blindedPublicKey(p, fromHex('01'.padEnd(64, '0')), 1))).toBe('BAD_KEY');
  });
});

describe('the providers agree on blinding', () => {
  it.skipIf(providers.length < 2)('byte for byte, on random identities, periods and messages', () => {
    const [a, b] = providers as [CryptoProvider, CryptoProvider];
    for (let i = 0; i < 10; i++) {
      const seed = a.randomBytes(32);
      const period = i * 1_000_003;
      const message = a.randomBytes(i * 13);
      const pub = a.ed25519PublicKey(seed);
      expect(toHex(blindedPublicKey(a, pub, period))).toBe(toHex(blindedPublicKey(b, pub, period)));
      expect(toHex(blindedSign(a, seed, period, message))).toBe(toHex(blindedSign(b, seed, period, message)));
    }
  });
});
