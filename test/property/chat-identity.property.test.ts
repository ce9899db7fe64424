/**
 * Property tests for the chat identity layer (src/chat/address.ts, blinding.ts,
 * descriptor.ts, hsdir-ring.ts) through both crypto providers: round trips for any key,
 * 1 to 4 substituted characters and adjacent swaps caught by the bech32m checksum,
 * tampering caught, consistent hashing for any ring — and every decoder fed arbitrary input
 * raises only its own typed ChiveError, never anything else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { ChiveError } from '../../src/errors.js';
import { toHex } from '../../src/bytes.js';
import { decodeChatAddress, encodeChatAddress } from '../../src/chat/address.js';
import { blindedPublicKey, blindedSign } from '../../src/chat/blinding.js';
import { checkChatDescriptorOuter, openChatDescriptor, sealChatDescriptor } from '../../src/chat/descriptor.js';
import { hsdirsFor } from '../../src/chat/hsdir-ring.js';
import { CHAT_ADDRESS_LEN, CHAT_ADDRESS_PREFIX, CHAT_DESCRIPTOR_MAX_LEN, HSDIR_REPLICAS, HSDIR_SPREAD } from '../../src/wire/constants.js';

const providers = allCryptoProviders();
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const PERIOD = 20_000;
/** Characters after the prefix that a typo can touch: version, key and checksum. */
const DATA_CHARS = CHAT_ADDRESS_LEN - CHAT_ADDRESS_PREFIX.length;

/** The ChiveError `fn` throws, or undefined if it returns; anything else is rethrown (fails the property). */
function chiveErrorOf(fn: () => unknown): ChiveError | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof ChiveError) return e;
    throw e;
  }
}

describe.each(providers.map((p) => [p.name, p] as const))('chat identity properties with the %s provider', (_name, p: CryptoProvider) => {
  const seed = p.randomBytes(32);
  const identityPub = p.ed25519PublicKey(seed);
  const address = encodeChatAddress(p, identityPub);
  const descriptor = sealChatDescriptor(p, p.randomBytes, {
    identitySeed: seed, period: PERIOD, revision: 3,
    content: {
      introEncKey: p.randomBytes(32),
      introPoints: [{ relayIdentity: p.randomBytes(32), authKey: p.randomBytes(32) }, { relayIdentity: p.randomBytes(32), authKey: p.randomBytes(32) }],
    },
  });

  it('addresses round-trip for any identity', () => {
    fc.assert(fc.property(bytes32, (s) => {
      const pub = p.ed25519PublicKey(s);
      expect(toHex(decodeChatAddress(p, encodeChatAddress(p, pub)))).toBe(toHex(pub));
    }), { numRuns: 100 });
  });

  // bech32m's guarantee: any 1 to 4 substituted characters are caught, by the checksum
  // itself (not by luck, nor by the key check), so these hold for every run and every seed.
  const typos = fc.uniqueArray(fc.tuple(fc.nat({ max: DATA_CHARS - 1 }), fc.integer({ min: 1, max: 31 })),
    { minLength: 1, maxLength: 4, selector: ([index]) => index });

  it('any 1 to 4 substituted characters are caught by the checksum; exactly one is located', () => {
    fc.assert(fc.property(bytes32, typos, fc.boolean(), (s, changes, upper) => {
      const encoded = encodeChatAddress(p, p.ed25519PublicKey(s));
      const a = upper ? encoded.toUpperCase() : encoded;
      const chars = [...a];
      for (const [index, shift] of changes) {
        const i = CHAT_ADDRESS_PREFIX.length + index;
        const c = ALPHABET[(ALPHABET.indexOf(chars[i]!.toLowerCase()) + shift) % 32]!;
        chars[i] = upper ? c.toUpperCase() : c;
      }
      const error = chiveErrorOf(() => decodeChatAddress(p, chars.join('')));
      expect(error?.code).toBe('BAD_ADDRESS');
      expect(error?.message).toContain('checksum mismatch: a typo?');
      if (changes.length === 1) expect(error?.message).toContain(`position ${CHAT_ADDRESS_PREFIX.length + changes[0]![0] + 1} `);
      // 2 or 3 wrong characters are never mistaken for a single one (4 may be: 4 + 1 = 5 is the code's distance).
      if (changes.length === 2 || changes.length === 3) expect(error?.message).toContain('More than one character is wrong');
    }), { numRuns: 400 });
  });

  it('any swap of two adjacent different characters is caught by the checksum', () => {
    fc.assert(fc.property(bytes32, fc.nat({ max: DATA_CHARS - 2 }), (s, index) => {
      const a = encodeChatAddress(p, p.ed25519PublicKey(s));
      const i = CHAT_ADDRESS_PREFIX.length + index;
      fc.pre(a[i] !== a[i + 1]);
      const swapped = a.slice(0, i) + a[i + 1] + a[i] + a.slice(i + 2);
      const error = chiveErrorOf(() => decodeChatAddress(p, swapped));
      expect(error?.code).toBe('BAD_ADDRESS');
      expect(error?.message).toContain('checksum mismatch');
    }), { numRuns: 200 });
  });

  it('decodeChatAddress on arbitrary text returns a key or throws BAD_ADDRESS, nothing else', () => {
    const nearAddress = fc.tuple(
      fc.constantFrom('chive1', 'CHIVE1', 'chive2', ' chive1', ''),
      fc.string({ unit: fc.constantFrom(...ALPHABET, ...ALPHABET.toUpperCase(), 'b', 'i', 'o', '1', ' ', 'é', '\u212a'), minLength: 54, maxLength: 64 }),
    ).map(([prefix, body]) => prefix + body);
    const mutated = fc.tuple(fc.nat({ max: CHAT_ADDRESS_LEN - 1 }), fc.string({ unit: 'binary', maxLength: 3 }))
      .map(([i, insert]) => address.slice(0, i) + insert + address.slice(i + 1));
    const texts = fc.oneof(fc.string({ unit: 'binary', maxLength: 100 }), fc.string({ maxLength: 80 }), nearAddress, mutated);
    fc.assert(fc.property(texts, (text) => {
      let key: Uint8Array | undefined;
      const error = chiveErrorOf(() => { key = decodeChatAddress(p, text); });
      if (error) expect(error.code).toBe('BAD_ADDRESS');
      else expect(key).toHaveLength(32);
    }), { numRuns: 500 });
  });

  it('blinded signatures verify under the blinded key for any identity, period and message', () => {
    fc.assert(fc.property(bytes32, fc.nat({ max: 2 ** 40 }), fc.uint8Array({ maxLength: 300 }), (s, period, message) => {
      const signature = blindedSign(p, s, period, message);
      const blinded = blindedPublicKey(p, p.ed25519PublicKey(s), period);
      expect(p.ed25519Verify(blinded, message, signature)).toBe(true);
      expect(p.ed25519Verify(p.ed25519PublicKey(s), message, signature)).toBe(false);
    }), { numRuns: 40 });
  });

  it('a descriptor with any byte changed is refused (HSDir check and sender alike)', () => {
    fc.assert(fc.property(fc.nat({ max: descriptor.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, xor) => {
      const tampered = Uint8Array.from(descriptor);
      tampered[index]! ^= xor;
      expect(chiveErrorOf(() => checkChatDescriptorOuter(p, tampered, { currentPeriod: PERIOD }))?.code).toBe('BAD_DESCRIPTOR');
      expect(chiveErrorOf(() => openChatDescriptor(p, tampered, { identityPub, currentPeriod: PERIOD }))?.code).toBe('BAD_DESCRIPTOR');
    }), { numRuns: 300 });
  });

  it('the descriptor decoders on arbitrary bytes throw BAD_DESCRIPTOR, nothing else', () => {
    const spliced = fc.tuple(fc.nat({ max: descriptor.length }), fc.nat({ max: 80 }), fc.uint8Array({ maxLength: 80 }))
      .map(([at, cut, insert]) => Uint8Array.from([...descriptor.subarray(0, at), ...insert, ...descriptor.subarray(Math.min(descriptor.length, at + cut))]));
    const inputs = fc.oneof(
      fc.uint8Array({ maxLength: CHAT_DESCRIPTOR_MAX_LEN + 20 }),
      fc.uint8Array({ minLength: descriptor.length, maxLength: descriptor.length }),
      // a plausible header, then anything
      fc.uint8Array({ maxLength: 400 }).map((rest) => Uint8Array.from([...descriptor.subarray(0, 57), ...rest])),
      spliced,
    );
    fc.assert(fc.property(inputs, fc.integer({ min: PERIOD - 2, max: PERIOD + 2 }), (bytes, currentPeriod) => {
      expect(chiveErrorOf(() => checkChatDescriptorOuter(p, bytes, { currentPeriod }))?.code ?? 'accepted').toMatch(/^(BAD_DESCRIPTOR|accepted)$/);
      const opened = chiveErrorOf(() => openChatDescriptor(p, bytes, { identityPub, currentPeriod }));
      // Only the untouched descriptor opens (a splice can reproduce it by chance: cut n, insert the same n).
      if (opened === undefined) expect(toHex(bytes)).toBe(toHex(descriptor));
      else expect(opened.code).toBe('BAD_DESCRIPTOR');
    }), { numRuns: 400 });
  });

  it('hsdirsFor: distinct candidates, min(n, replicas × spread) of them, moved only by a relay joining or leaving', () => {
    fc.assert(fc.property(fc.uniqueArray(bytes32, { minLength: 0, maxLength: 24, selector: toHex }), bytes32, fc.nat(), (ids, blinded, pick) => {
      const all = ids.map((identity) => ({ identity }));
      const chosen = hsdirsFor(p, all, blinded, PERIOD).map(toHex);
      expect(new Set(chosen).size).toBe(chosen.length);
      expect(chosen.length).toBe(Math.min(ids.length, HSDIR_REPLICAS * HSDIR_SPREAD));
      for (const id of chosen) expect(ids.map(toHex)).toContain(id);
      if (ids.length === 0) return;
      const leaving = toHex(ids[pick % ids.length]!);
      const after = hsdirsFor(p, all.filter((c) => toHex(c.identity) !== leaving), blinded, PERIOD).map(toHex);
      if (!chosen.includes(leaving)) expect(after).toEqual(chosen);
      else expect(chosen.filter((id) => !after.includes(id))).toEqual([leaving]);
    }), { numRuns: 200 });
  });
});
