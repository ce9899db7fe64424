/**
 * Chat descriptors (src/chat/descriptor.ts) through both crypto providers: the vectors of
 * test/vectors/chat (cross-checked against Python + OpenSSL), round trips, what an HSDir
 * checks and what only the address holder can, every refusal with BAD_DESCRIPTOR, the period
 * window, the size cap, and descriptors built by hand from the layout (so the decoder is
 * tested on inputs the sealer never makes).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider, Rng } from '../../src/crypto/provider.js';
import { ChiveError } from '../../src/errors.js';
import { ByteWriter, concatBytes, fromHex, toHex, utf8 } from '../../src/bytes.js';
import { blindedPublicKey, blindedSign } from '../../src/chat/blinding.js';
import {
  checkChatDescriptorOuter, openChatDescriptor, sealChatDescriptor, type ChatDescriptorContent,
} from '../../src/chat/descriptor.js';
import { CHAT_DESCRIPTOR_MAX_LEN, CHAT_MAX_INTRO_POINTS } from '../../src/wire/constants.js';

interface DescriptorVector {
  identitySeed: string; identityPub: string; period: number; revision: number; nonce: string; introEncKey: string;
  introPoints: { relayIdentity: string; authKey: string }[]; blindedPub: string; header: string; key: string; inner: string;
  descriptor: string;
}
const vectors = JSON.parse(readFileSync(new URL('../vectors/chat/chat-identity.json', import.meta.url), 'utf8')).descriptors as DescriptorVector[];

/** An Rng that hands out exactly `bytes` once. */
function fixedRng(bytes: Uint8Array): Rng {
  let used = false;
  return (n) => {
    if (used || n !== bytes.length) throw new Error(`fixedRng: unexpected request for ${n} bytes`);
    used = true;
    return bytes.slice();
  };
}

function errorOf(fn: () => unknown): ChiveError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ChiveError) return e;
    throw e;
  }
  throw new Error('expected a ChiveError, nothing was thrown');
}

function content(p: CryptoProvider, points = 2): ChatDescriptorContent {
  return {
    introEncKey: p.x25519PublicKey(p.randomBytes(32)),
    introPoints: Array.from({ length: points }, () => ({ relayIdentity: p.randomBytes(32), authKey: p.ed25519PublicKey(p.randomBytes(32)) })),
  };
}

/**
 * A descriptor built by hand from the layout in the design, signed by the right blinded key:
 * `inner` is sealed under `keyIdentity`'s key (default: the signer's), and every field can
 * be overridden, so that each check after the signature can be reached.
 */
function craft(p: CryptoProvider, o: {
  seed: Uint8Array; period: number; inner: Uint8Array; version?: number; revision?: number;
  keyIdentity?: Uint8Array; innerLen?: number; tamperTag?: boolean;
}): Uint8Array {
  const identityPub = p.ed25519PublicKey(o.seed);
  const blinded = blindedPublicKey(p, identityPub, o.period);
  const nonce = p.randomBytes(12);
  const header = new ByteWriter(57).u8(o.version ?? 1).bytes(blinded).u32(o.period).u64(o.revision ?? 1).bytes(nonce).finish();
  const ikm = new ByteWriter(68).bytes(o.keyIdentity ?? identityPub).bytes(blinded).u32(o.period).finish();
  const key = p.hkdfSha256(ikm, new Uint8Array(0), utf8('chive-descriptor-key-v1'), 32);
  const ct = new Uint8Array(o.inner.length);
  const tag = new Uint8Array(16);
  p.aeadSealDetached(key, nonce, header, o.inner, ct, tag);
  if (o.tamperTag) tag[0]! ^= 1;
  const sealed = concatBytes(ct, tag);
  const signed = new ByteWriter(1000).bytes(header).u16(o.innerLen ?? sealed.length).bytes(sealed).finish();
  return concatBytes(signed, blindedSign(p, o.seed, o.period, concatBytes(utf8('chive-chat-descriptor-v1'), signed)));
}

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('chat descriptors with the %s provider', (_name, p: CryptoProvider) => {
  it('seals the vectors byte for byte and opens them', () => {
    for (const v of vectors) {
      const c: ChatDescriptorContent = {
        introEncKey: fromHex(v.introEncKey),
        introPoints: v.introPoints.map((ip) => ({ relayIdentity: fromHex(ip.relayIdentity), authKey: fromHex(ip.authKey) })),
      };
      const bytes = sealChatDescriptor(p, fixedRng(fromHex(v.nonce)), {
        identitySeed: fromHex(v.identitySeed), period: v.period, revision: v.revision, content: c,
      });
      expect(toHex(bytes)).toBe(v.descriptor);
      const outer = checkChatDescriptorOuter(p, fromHex(v.descriptor), { currentPeriod: v.period });
      expect(toHex(outer.blindedKey)).toBe(v.blindedPub);
      expect([outer.period, outer.revision]).toEqual([v.period, v.revision]);
      expect(toHex(outer.bytes)).toBe(v.descriptor);
      const opened = openChatDescriptor(p, fromHex(v.descriptor), { identityPub: fromHex(v.identityPub), currentPeriod: v.period });
      expect(toHex(opened.introEncKey)).toBe(v.introEncKey);
      expect(opened.introPoints.map((ip) => ({ relayIdentity: toHex(ip.relayIdentity), authKey: toHex(ip.authKey) }))).toEqual(v.introPoints);
      expect([opened.period, opened.revision]).toEqual([v.period, v.revision]);
    }
  });

  it('round-trips 1..CHAT_MAX_INTRO_POINTS introduction points, within the size cap', () => {
    const seed = p.randomBytes(32);
    const identityPub = p.ed25519PublicKey(seed);
    for (let n = 1; n <= CHAT_MAX_INTRO_POINTS; n++) {
      const c = content(p, n);
      const bytes = sealChatDescriptor(p, p.randomBytes, { identitySeed: seed, period: 100, revision: n, content: c });
      expect(bytes.length).toBe(123 + 33 + 64 * n + 16);
      expect(bytes.length).toBeLessThanOrEqual(CHAT_DESCRIPTOR_MAX_LEN);
      const opened = openChatDescriptor(p, bytes, { identityPub, currentPeriod: 100 });
      expect(toHex(opened.introEncKey)).toBe(toHex(c.introEncKey));
      expect(opened.introPoints.map((x) => toHex(x.relayIdentity) + toHex(x.authKey)))
        .toEqual(c.introPoints.map((x) => toHex(x.relayIdentity) + toHex(x.authKey)));
      expect(opened.revision).toBe(n);
      expect(toHex(checkChatDescriptorOuter(p, bytes, { currentPeriod: 100 }).blindedKey)).toBe(toHex(blindedPublicKey(p, identityPub, 100)));
    }
  });

  it('a fresh nonce each time: two seals of the same content differ', () => {
    const seed = p.randomBytes(32);
    const c = content(p);
    const a = sealChatDescriptor(p, p.randomBytes, { identitySeed: seed, period: 5, revision: 1, content: c });
    const b = sealChatDescriptor(p, p.randomBytes, { identitySeed: seed, period: 5, revision: 1, content: c });
    expect(toHex(a)).not.toBe(toHex(b));
  });

  it('cannot be opened with another address', () => {
    const bytes = sealChatDescriptor(p, p.randomBytes, { identitySeed: p.randomBytes(32), period: 9, revision: 1, content: content(p) });
    const e = errorOf(() => openChatDescriptor(p, bytes, { identityPub: p.ed25519PublicKey(p.randomBytes(32)), currentPeriod: 9 }));
    expect(e.code).toBe('BAD_DESCRIPTOR');
    expect(e.message).toContain('not the descriptor of this address');
  });

  it('accepts periods within ±1 of the current one, refuses others (both checks)', () => {
    const seed = p.randomBytes(32);
    const identityPub = p.ed25519PublicKey(seed);
    const bytes = sealChatDescriptor(p, p.randomBytes, { identitySeed: seed, period: 1000, revision: 1, content: content(p) });
    for (const currentPeriod of [999, 1000, 1001]) {
      expect(checkChatDescriptorOuter(p, bytes, { currentPeriod }).period).toBe(1000);
      expect(openChatDescriptor(p, bytes, { identityPub, currentPeriod }).period).toBe(1000);
    }
    for (const currentPeriod of [0, 998, 1002, 5000]) {
      for (const check of [() => checkChatDescriptorOuter(p, bytes, { currentPeriod }), () => openChatDescriptor(p, bytes, { identityPub, currentPeriod })]) {
        const e = errorOf(check);
        expect(e.code).toBe('BAD_DESCRIPTOR');
        expect(e.message).toContain(`period 1000 is not within 1 of the current period ${currentPeriod}`);
      }
    }
  });

  it('refuses over-long input before anything else', () => {
    const bytes = sealChatDescriptor(p, p.randomBytes, { identitySeed: p.randomBytes(32), period: 3, revision: 1, content: content(p, 3) });
    const tooLong = concatBytes(bytes, new Uint8Array(CHAT_DESCRIPTOR_MAX_LEN + 1 - bytes.length));
    const e = errorOf(() => checkChatDescriptorOuter(p, tooLong, { currentPeriod: 3 }));
    expect(e.code).toBe('BAD_DESCRIPTOR');
    expect(e.message).toContain(`exceeds the maximum of ${CHAT_DESCRIPTOR_MAX_LEN}`);
  });

  it('refuses to seal what does not fit the layout', () => {
    const seed = p.randomBytes(32);
    const seal = (c: ChatDescriptorContent, period = 1, revision = 1) =>
      errorOf(() => sealChatDescriptor(p, p.randomBytes, { identitySeed: seed, period, revision, content: c }));
    expect(seal(content(p, CHAT_MAX_INTRO_POINTS + 1)).code).toBe('INVALID_ARGUMENT');
    expect(seal(content(p, CHAT_MAX_INTRO_POINTS + 1)).message).toContain(`1..${CHAT_MAX_INTRO_POINTS} introduction points`);
    expect(seal(content(p, 0)).code).toBe('INVALID_ARGUMENT');
    expect(seal({ ...content(p), introEncKey: new Uint8Array(31) }).code).toBe('INVALID_ARGUMENT');
    expect(seal({ introEncKey: new Uint8Array(32), introPoints: [{ relayIdentity: new Uint8Array(32), authKey: new Uint8Array(33) }] }).code).toBe('INVALID_ARGUMENT');
    expect(seal(content(p), 2 ** 32).code).toBe('INVALID_ARGUMENT');
    expect(seal(content(p), -1).code).toBe('INVALID_ARGUMENT');
    expect(seal(content(p), 1, -1).code).toBe('INVALID_ARGUMENT');
    expect(seal(content(p), 1, 2 ** 53).code).toBe('INVALID_ARGUMENT');
    const shortRng = errorOf(() => sealChatDescriptor(p, () => new Uint8Array(4), { identitySeed: seed, period: 1, revision: 1, content: content(p) }));
    expect(shortRng.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses a flipped bit anywhere, truncation and trailing bytes', () => {
    const seed = p.randomBytes(32);
    const identityPub = p.ed25519PublicKey(seed);
    const bytes = sealChatDescriptor(p, p.randomBytes, { identitySeed: seed, period: 77, revision: 1, content: content(p, 1) });
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Uint8Array.from(bytes);
      tampered[i]! ^= 1 << (i % 8);
      expect(errorOf(() => checkChatDescriptorOuter(p, tampered, { currentPeriod: 77 })).code).toBe('BAD_DESCRIPTOR');
      expect(errorOf(() => openChatDescriptor(p, tampered, { identityPub, currentPeriod: 77 })).code).toBe('BAD_DESCRIPTOR');
    }
    for (const n of [0, 1, 56, 57, 59, bytes.length - 64, bytes.length - 1]) {
      expect(errorOf(() => checkChatDescriptorOuter(p, bytes.subarray(0, n), { currentPeriod: 77 })).code).toBe('BAD_DESCRIPTOR');
    }
    const trailing = errorOf(() => checkChatDescriptorOuter(p, concatBytes(bytes, Uint8Array.of(0)), { currentPeriod: 77 }));
    expect(trailing.code).toBe('BAD_DESCRIPTOR');
  });

  it('says what is wrong: version, signature, decryption, inner layout', () => {
    const seed = p.randomBytes(32);
    const identityPub = p.ed25519PublicKey(seed);
    const goodInner = concatBytes(p.randomBytes(32), Uint8Array.of(1), p.randomBytes(64));
    // the hand-built descriptor is the sealer's layout: it opens
    expect(openChatDescriptor(p, craft(p, { seed, period: 4, inner: goodInner }), { identityPub, currentPeriod: 4 }).introPoints).toHaveLength(1);

    const v2 = errorOf(() => checkChatDescriptorOuter(p, craft(p, { seed, period: 4, inner: goodInner, version: 2 }), { currentPeriod: 4 }));
    expect(v2.message).toContain('unknown version 2');

    const resigned = craft(p, { seed, period: 4, inner: goodInner });
    resigned.set(blindedSign(p, p.randomBytes(32), 4, utf8('something else')), resigned.length - 64);
    expect(errorOf(() => checkChatDescriptorOuter(p, resigned, { currentPeriod: 4 })).message).toContain('bad signature');

    // validly signed, but sealed under another identity's key, or with a bad tag
    for (const d of [
      craft(p, { seed, period: 4, inner: goodInner, keyIdentity: p.ed25519PublicKey(p.randomBytes(32)) }),
      craft(p, { seed, period: 4, inner: goodInner, tamperTag: true }),
    ]) {
      expect(checkChatDescriptorOuter(p, d, { currentPeriod: 4 }).period).toBe(4); // an HSDir cannot tell
      const e = errorOf(() => openChatDescriptor(p, d, { identityPub, currentPeriod: 4 }));
      expect(e.code).toBe('BAD_DESCRIPTOR');
      expect(e.message).toContain('does not decrypt');
    }

    const innerCases: [Uint8Array, string][] = [
      [concatBytes(p.randomBytes(32), Uint8Array.of(0)), '0 introduction points'],
      [concatBytes(p.randomBytes(32), Uint8Array.of(4), p.randomBytes(3 * 64)), '4 introduction points'],
      [concatBytes(p.randomBytes(32), Uint8Array.of(2), p.randomBytes(64)), 'truncated'],
      [concatBytes(goodInner, Uint8Array.of(9)), 'trailing'],
      [p.randomBytes(20), 'truncated'],
    ];
    for (const [inner, words] of innerCases) {
      const e = errorOf(() => openChatDescriptor(p, craft(p, { seed, period: 4, inner }), { identityPub, currentPeriod: 4 }));
      expect(e.code).toBe('BAD_DESCRIPTOR');
      expect(e.message).toContain(words);
    }

    // an inner part too long for CHAT_MAX_INTRO_POINTS is refused by the outer check already
    const huge = craft(p, { seed, period: 4, inner: concatBytes(p.randomBytes(32), Uint8Array.of(4), p.randomBytes(4 * 64)) });
    expect(errorOf(() => checkChatDescriptorOuter(p, huge, { currentPeriod: 4 })).message).toContain('inner length 305 is outside 16..241');

    // innerLen that disagrees with the bytes, or below one tag
    for (const innerLen of [0, 15, goodInner.length + 15, goodInner.length + 17]) {
      const e = errorOf(() => checkChatDescriptorOuter(p, craft(p, { seed, period: 4, inner: goodInner, innerLen }), { currentPeriod: 4 }));
      expect(e.code).toBe('BAD_DESCRIPTOR');
    }
  });

  it('refuses a nonsense current period as a local error', () => {
    const bytes = sealChatDescriptor(p, p.randomBytes, { identitySeed: p.randomBytes(32), period: 1, revision: 1, content: content(p) });
    expect(errorOf(() => checkChatDescriptorOuter(p, bytes, { currentPeriod: -1 })).code).toBe('INVALID_ARGUMENT');
  });
});
