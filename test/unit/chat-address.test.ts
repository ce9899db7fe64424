/**
 * Chat addresses (src/chat/address.ts) through both crypto providers: the vectors of
 * test/vectors/chat (cross-checked against Python's base64.b32encode), round trips, case and
 * whitespace, every single-character typo of the vector addresses, and each refusal with
 * the words it says.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { ChiveError } from '../../src/errors.js';
import { concatBytes, fromHex, toHex, utf8 } from '../../src/bytes.js';
import { decodeChatAddress, encodeChatAddress, shortAddress } from '../../src/chat/address.js';
import { CHAT_ADDRESS_LEN, CHAT_ADDRESS_PREFIX } from '../../src/wire/constants.js';

interface AddressVector { identitySeed: string; identityPub: string; checksum: string; address: string }
const vectors = JSON.parse(readFileSync(new URL('../vectors/chat/chat-identity.json', import.meta.url), 'utf8')) as {
  addresses: AddressVector[];
  futureVersionAddress: string;
};

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** An independent base32 (one BigInt, high bits first) for building odd addresses by hand. */
function base32(payload: Uint8Array): string {
  let n = BigInt('0x' + toHex(payload));
  let out = '';
  for (let i = 0; i < (payload.length * 8) / 5; i++) {
    out = ALPHABET[Number(n & 31n)] + out;
    n >>= 5n;
  }
  return out;
}

/** An address with a correct checksum for any 32 bytes and version. */
function craftAddress(p: CryptoProvider, key: Uint8Array, version: number): string {
  const sum = p.sha256(concatBytes(utf8('chive-address-checksum'), key, Uint8Array.of(version))).slice(0, 2);
  return CHAT_ADDRESS_PREFIX + base32(concatBytes(key, sum, Uint8Array.of(version)));
}

/** The ChiveError `fn` throws (fails the test if it throws something else, or nothing). */
function errorOf(fn: () => unknown): ChiveError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ChiveError) return e;
    throw e;
  }
  throw new Error('expected a ChiveError, nothing was thrown');
}

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('chat addresses with the %s provider', (_name, p: CryptoProvider) => {
  it('encodes and decodes the vectors', () => {
    for (const v of vectors.addresses) {
      const identityPub = p.ed25519PublicKey(fromHex(v.identitySeed));
      expect(toHex(identityPub)).toBe(v.identityPub);
      const address = encodeChatAddress(p, identityPub);
      expect(address).toBe(v.address);
      expect(address).toHaveLength(CHAT_ADDRESS_LEN);
      expect(address).toMatch(/^chive1[a-z2-7]{56}$/);
      expect(toHex(decodeChatAddress(p, v.address))).toBe(v.identityPub);
    }
  });

  it('round-trips random identities', () => {
    for (let i = 0; i < 30; i++) {
      const identityPub = p.ed25519PublicKey(p.randomBytes(32));
      expect(toHex(decodeChatAddress(p, encodeChatAddress(p, identityPub)))).toBe(toHex(identityPub));
    }
  });

  it('ignores case and surrounding whitespace', () => {
    const v = vectors.addresses[0]!;
    const mixed = [...v.address].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c)).join('');
    for (const text of [v.address.toUpperCase(), mixed, `  ${v.address}\n`, `\t${v.address.toUpperCase()} `]) {
      expect(toHex(decodeChatAddress(p, text))).toBe(v.identityPub);
    }
  });

  it('detects every single-character substitution in the vector addresses', () => {
    for (const v of vectors.addresses) {
      for (let i = CHAT_ADDRESS_PREFIX.length; i < v.address.length; i++) {
        for (const c of ALPHABET) {
          if (c === v.address[i]) continue;
          const typo = v.address.slice(0, i) + c + v.address.slice(i + 1);
          const e = errorOf(() => decodeChatAddress(p, typo));
          expect(e.code).toBe('BAD_ADDRESS');
        }
      }
    }
  });

  it('says when the prefix is wrong', () => {
    const v = vectors.addresses[0]!;
    for (const text of ['chive2' + v.address.slice(6), 'bitcoin1qxy', v.address.slice(6), 'hello']) {
      const e = errorOf(() => decodeChatAddress(p, text));
      expect(e.code).toBe('BAD_ADDRESS');
      expect(e.message).toContain('wrong prefix');
      expect(e.message).toContain('"chive1"');
    }
  });

  it('says when it is empty', () => {
    for (const text of ['', '   ', '\n\t']) {
      const e = errorOf(() => decodeChatAddress(p, text));
      expect(e.code).toBe('BAD_ADDRESS');
      expect(e.message).toContain('empty');
    }
  });

  it('says when the length is wrong, and which way', () => {
    const v = vectors.addresses[0]!;
    const short = errorOf(() => decodeChatAddress(p, v.address.slice(0, -1)));
    expect(short.code).toBe('BAD_ADDRESS');
    expect(short.message).toContain('bad length');
    expect(short.message).toContain(`has ${CHAT_ADDRESS_LEN} characters, this has ${CHAT_ADDRESS_LEN - 1}`);
    expect(short.message).toContain('missing');
    const long = errorOf(() => decodeChatAddress(p, v.address + 'a'));
    expect(long.message).toContain('bad length');
    expect(long.message).toContain('extra');
    expect(errorOf(() => decodeChatAddress(p, 'chive1')).message).toContain('bad length');
  });

  it('names the bad character and its position', () => {
    const v = vectors.addresses[0]!;
    for (const [c, shown] of [['0', '"0"'], ['1', '"1"'], ['8', '"8"'], [' ', '" "'], ['\u212a', '"\u212a"'], ['é', '"é"']] as const) {
      const text = v.address.slice(0, 10) + c + v.address.slice(11);
      const e = errorOf(() => decodeChatAddress(p, text));
      expect(e.code).toBe('BAD_ADDRESS');
      expect(e.message).toContain(`bad character ${shown} at position 11`);
      expect(e.message).toContain('a-z');
    }
  });

  it('says "checksum mismatch: a typo?" for a typo', () => {
    const v = vectors.addresses[1]!;
    const i = 20;
    const typo = v.address.slice(0, i) + (v.address[i] === 'a' ? 'b' : 'a') + v.address.slice(i + 1);
    const e = errorOf(() => decodeChatAddress(p, typo));
    expect(e.code).toBe('BAD_ADDRESS');
    expect(e.message).toContain('checksum mismatch: a typo?');
  });

  it('says which version it does not know', () => {
    const e = errorOf(() => decodeChatAddress(p, vectors.futureVersionAddress));
    expect(e.code).toBe('BAD_ADDRESS');
    expect(e.message).toContain('unknown version 2');
    expect(errorOf(() => decodeChatAddress(p, craftAddress(p, p.ed25519PublicKey(p.randomBytes(32)), 0))).message).toContain('unknown version 0');
  });

  it('refuses a checksum-valid address whose key is not an Ed25519 public key', () => {
    const notKeys = [
      fromHex('0100000000000000000000000000000000000000000000000000000000000000'), // identity (small order)
      fromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'), // y = p, non-canonical
    ];
    for (const key of notKeys) {
      const e = errorOf(() => decodeChatAddress(p, craftAddress(p, key, 1)));
      expect(e.code).toBe('BAD_ADDRESS');
      expect(e.message).toContain('not a valid Ed25519 public key');
    }
  });

  it('encodeChatAddress refuses keys of the wrong length or that are not points', () => {
    expect(errorOf(() => encodeChatAddress(p, new Uint8Array(31))).code).toBe('INVALID_ARGUMENT');
    expect(errorOf(() => encodeChatAddress(p, new Uint8Array(33))).code).toBe('INVALID_ARGUMENT');
    expect(errorOf(() => encodeChatAddress(p, fromHex('01'.padEnd(64, '0')))).code).toBe('INVALID_ARGUMENT');
  });
});

describe('shortAddress', () => {
  it('keeps the first 12 characters and adds an ellipsis', () => {
    const v = vectors.addresses[0]!;
    expect(shortAddress(v.address)).toBe(`${v.address.slice(0, 12)}…`);
    expect(shortAddress(v.address)).toHaveLength(13);
    expect(shortAddress(`  ${v.address} `)).toBe(`${v.address.slice(0, 12)}…`);
    expect(shortAddress('chive1abc')).toBe('chive1abc');
  });
});
