/**
 * Chat addresses (src/chat/address.ts) through both crypto providers: the vectors of
 * test/vectors/chat (cross-checked against BIP-350's Python reference code), round trips,
 * case and whitespace, every single-character substitution and every adjacent swap of the
 * vector addresses (exhaustively: each caught by the checksum, a substitution located), and
 * each refusal with the words it says.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { ChiveError } from '../../src/errors.js';
import { fromHex, toHex } from '../../src/bytes.js';
import { decodeChatAddress, encodeChatAddress, shortAddress } from '../../src/chat/address.js';
import { BECH32_CHECKSUM_CHARS } from '../../src/chat/bech32m.js';
import {
  CHAT_ADDRESS_CHECKSUM_CHARS, CHAT_ADDRESS_DATA_CHARS, CHAT_ADDRESS_HRP, CHAT_ADDRESS_KEY_CHARS, CHAT_ADDRESS_LEN,
  CHAT_ADDRESS_PREFIX, CHAT_ADDRESS_VERSION,
} from '../../src/wire/constants.js';

interface AddressVector { identitySeed: string; identityPub: string; checksum: string; address: string }
const vectors = JSON.parse(readFileSync(new URL('../vectors/chat/chat-identity.json', import.meta.url), 'utf8')) as {
  addresses: AddressVector[];
  futureVersionAddress: string;
  refusedAddresses: { why: string; address: string; messageContains: string }[];
};

const ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32M = 0x2bc830a3;

/**
 * An independent bech32 writer (BIP-173 polymod, key as one BigInt) for building odd
 * addresses by hand: any words, any final constant, any padding bits.
 */
function craft(words: number[], constant = BECH32M): string {
  const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  const hrp = [...CHAT_ADDRESS_HRP].map((c) => c.charCodeAt(0));
  for (const v of [...hrp.map((c) => c >> 5), 0, ...hrp.map((c) => c & 31), ...words, 0, 0, 0, 0, 0, 0]) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    gen.forEach((g, i) => { if ((top >>> i) & 1) chk ^= g; });
  }
  chk ^= constant;
  const checksum = [25, 20, 15, 10, 5, 0].map((shift) => (chk >>> shift) & 31);
  return CHAT_ADDRESS_PREFIX + [...words, ...checksum].map((w) => ALPHABET[w]).join('');
}
/** The 5-bit groups of `key`, padded with `padding` in its last 4 bits (52 groups for 32 bytes). */
function keyWords(key: Uint8Array, padding = 0n): number[] {
  const count = Math.ceil((key.length * 8) / 5);
  let n = (BigInt('0x' + toHex(key)) << BigInt(count * 5 - key.length * 8)) | padding;
  const out: number[] = [];
  for (let i = 0; i < count; i++, n >>= 5n) out.unshift(Number(n & 31n));
  return out;
}
const craftAddress = (key: Uint8Array, version: number) => craft([version, ...keyWords(key)]);

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

describe('chat address constants', () => {
  it('add up to a 65-character bech32m string', () => {
    expect(CHAT_ADDRESS_PREFIX).toBe(`${CHAT_ADDRESS_HRP}1`);
    expect(CHAT_ADDRESS_KEY_CHARS).toBe(52);
    expect(CHAT_ADDRESS_CHECKSUM_CHARS).toBe(BECH32_CHECKSUM_CHARS);
    expect(CHAT_ADDRESS_DATA_CHARS).toBe(59);
    expect(CHAT_ADDRESS_LEN).toBe(65);
    expect(CHAT_ADDRESS_VERSION).toBe(1);
  });
});

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('chat addresses with the %s provider', (_name, p: CryptoProvider) => {
  it('encodes and decodes the vectors', () => {
    for (const v of vectors.addresses) {
      const identityPub = p.ed25519PublicKey(fromHex(v.identitySeed));
      expect(toHex(identityPub)).toBe(v.identityPub);
      const address = encodeChatAddress(p, identityPub);
      expect(address).toBe(v.address);
      expect(address).toHaveLength(CHAT_ADDRESS_LEN);
      expect(address).toMatch(/^chive1p[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/);
      expect(address.endsWith(v.checksum)).toBe(true);
      expect(address).toBe(craftAddress(identityPub, 1));
      expect(toHex(decodeChatAddress(p, v.address))).toBe(v.identityPub);
    }
  });

  it('round-trips random identities', () => {
    for (let i = 0; i < 30; i++) {
      const identityPub = p.ed25519PublicKey(p.randomBytes(32));
      expect(toHex(decodeChatAddress(p, encodeChatAddress(p, identityPub)))).toBe(toHex(identityPub));
    }
  });

  it('accepts all lower case or all upper case, and surrounding whitespace', () => {
    const v = vectors.addresses[0]!;
    for (const text of [v.address.toUpperCase(), `  ${v.address}\n`, `\t${v.address.toUpperCase()} `, `\r\n${v.address}\u00a0`]) {
      expect(toHex(decodeChatAddress(p, text))).toBe(v.identityPub);
    }
  });

  it('refuses mixed case, naming the odd letter and where it is', () => {
    const v = vectors.addresses[0]!;
    const oneUpper = v.address.slice(0, 20) + v.address[20]!.toUpperCase() + v.address.slice(21);
    const e = errorOf(() => decodeChatAddress(p, oneUpper));
    expect(e.code).toBe('BAD_ADDRESS');
    expect(e.message).toContain(`mixed case: upper-case ${JSON.stringify(v.address[20]!.toUpperCase())} at position 21 in an otherwise lower-case address`);
    const capitalised = 'C' + v.address.slice(1);
    expect(errorOf(() => decodeChatAddress(p, capitalised)).message).toContain('upper-case "C" at position 1');
    const upper = v.address.toUpperCase();
    const oneLower = upper.slice(0, 3) + upper[3]!.toLowerCase() + upper.slice(4); // "CHIvE1…": in the prefix
    expect(errorOf(() => decodeChatAddress(p, oneLower)).message).toContain('lower-case "v" at position 4 in an otherwise upper-case address');
    const alternating = [...v.address].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c)).join('');
    expect(errorOf(() => decodeChatAddress(p, alternating)).message).toContain('mixed case');
  });

  it('catches every single-character substitution of the vector addresses, and says where it is', () => {
    for (const v of vectors.addresses) {
      for (const address of [v.address, v.address.toUpperCase()]) {
        const alphabet = address === v.address ? ALPHABET : ALPHABET.toUpperCase();
        for (let i = CHAT_ADDRESS_PREFIX.length; i < address.length; i++) {
          for (const c of alphabet) {
            if (c === address[i]) continue;
            const typo = address.slice(0, i) + c + address.slice(i + 1);
            const e = errorOf(() => decodeChatAddress(p, typo));
            expect(e.code).toBe('BAD_ADDRESS');
            expect(e.message).toBe(`chat address: checksum mismatch: a typo? Probably the character at position ${i + 1} (${JSON.stringify(c)})`);
          }
        }
      }
    }
  });

  it('catches every swap of two adjacent different characters of the vector addresses', () => {
    for (const v of vectors.addresses) {
      for (let i = CHAT_ADDRESS_PREFIX.length; i + 1 < v.address.length; i++) {
        if (v.address[i] === v.address[i + 1]) continue;
        const swapped = v.address.slice(0, i) + v.address[i + 1] + v.address[i] + v.address.slice(i + 2);
        const e = errorOf(() => decodeChatAddress(p, swapped));
        expect(e.code).toBe('BAD_ADDRESS');
        expect(e.message).toBe('chat address: checksum mismatch: a typo? More than one character is wrong: check the whole address');
      }
    }
  });

  it('refuses the vector refusals with their words', () => {
    expect(vectors.refusedAddresses.map((r) => r.why)).toEqual([
      'typo', 'mixed-case', 'bech32-checksum', 'non-zero-padding', 'version-3-longer', 'small-order-key', 'non-canonical-key',
    ]);
    for (const r of vectors.refusedAddresses) {
      const e = errorOf(() => decodeChatAddress(p, r.address));
      expect(e.code, r.why).toBe('BAD_ADDRESS');
      expect(e.message, r.why).toContain(r.messageContains);
    }
  });

  it('says when the prefix is wrong', () => {
    const v = vectors.addresses[0]!;
    for (const text of ['chive2' + v.address.slice(6), 'bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y', v.address.slice(6), 'hello', 'chive']) {
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
    expect(short.message).toContain(`bad length: a chive address has ${CHAT_ADDRESS_LEN} characters, this has ${CHAT_ADDRESS_LEN - 1}`);
    expect(short.message).toContain('missing');
    const long = errorOf(() => decodeChatAddress(p, v.address + 'q'));
    expect(long.message).toContain('bad length');
    expect(long.message).toContain('extra');
    expect(errorOf(() => decodeChatAddress(p, 'chive1')).message).toContain('bad length');
    const huge = errorOf(() => decodeChatAddress(p, v.address + ' and some words after it'.repeat(5)));
    expect(huge.message).toContain('bad length');
    // A missing character inside is a length error, not a checksum one.
    expect(errorOf(() => decodeChatAddress(p, v.address.slice(0, 30) + v.address.slice(31))).message).toContain('bad length');
  });

  it('names the bad character and its position', () => {
    const v = vectors.addresses[0]!;
    for (const [c, shown] of [['b', '"b"'], ['i', '"i"'], ['o', '"o"'], ['1', '"1"'], ['B', '"B"'], [' ', '" "'], ['-', '"-"'],
      ['\u212a', '"\u212a"'], ['é', '"é"'], ['\u{1f600}', '"\u{1f600}"']] as const) {
      const text = v.address.slice(0, 10) + c + v.address.slice(11);
      const e = errorOf(() => decodeChatAddress(p, text));
      expect(e.code).toBe('BAD_ADDRESS');
      expect(e.message).toContain(`bad character ${shown} at position 11`);
      expect(e.message).toContain('never 1, b, i or o');
    }
    // positions count characters, even after one outside the BMP
    const emojiFirst = v.address.slice(0, 7) + '\u{1f600}' + v.address.slice(8, 20) + 'b' + v.address.slice(21);
    expect(errorOf(() => decodeChatAddress(p, emojiFirst)).message).toContain('at position 8');
  });

  it('says "checksum mismatch: a typo?" and points at a single wrong character', () => {
    const v = vectors.addresses[1]!;
    const i = 40;
    const typo = v.address.slice(0, i) + (v.address[i] === 'q' ? 'p' : 'q') + v.address.slice(i + 1);
    const e = errorOf(() => decodeChatAddress(p, typo));
    expect(e.code).toBe('BAD_ADDRESS');
    expect(e.message).toContain('checksum mismatch: a typo?');
    expect(e.message).toContain(`position ${i + 1}`);
  });

  it('says when the checksum is bech32 (BIP-173) rather than bech32m', () => {
    const key = fromHex(vectors.addresses[2]!.identityPub);
    const e = errorOf(() => decodeChatAddress(p, craft([1, ...keyWords(key)], 1)));
    expect(e.message).toContain('checksum mismatch: this has a bech32 (BIP-173) checksum');
  });

  it('says which version it does not know, whatever its length', () => {
    const e = errorOf(() => decodeChatAddress(p, vectors.futureVersionAddress));
    expect(e.code).toBe('BAD_ADDRESS');
    expect(e.message).toContain('unknown version 2');
    const key = p.ed25519PublicKey(p.randomBytes(32));
    expect(errorOf(() => decodeChatAddress(p, craftAddress(key, 0))).message).toContain('unknown version 0');
    expect(errorOf(() => decodeChatAddress(p, craftAddress(key, 31))).message).toContain('unknown version 31');
    expect(errorOf(() => decodeChatAddress(p, craft([7, ...keyWords(key).slice(0, 40)]))).message).toContain('unknown version 7');
    // the same length trick does not let a version-1 address of the wrong length through
    expect(errorOf(() => decodeChatAddress(p, craft([1, ...keyWords(key).slice(0, 40)]))).message).toContain('bad length');
  });

  it('refuses non-zero padding bits (a string no chive encoder writes)', () => {
    const key = fromHex(vectors.addresses[0]!.identityPub);
    for (const padding of [1n, 8n, 15n]) {
      const e = errorOf(() => decodeChatAddress(p, craft([1, ...keyWords(key, padding)])));
      expect(e.code).toBe('BAD_ADDRESS');
      expect(e.message).toContain('non-zero padding');
    }
  });

  it('refuses a checksum-valid address whose key is not an Ed25519 public key', () => {
    const notKeys = [
      fromHex('0100000000000000000000000000000000000000000000000000000000000000'), // identity (small order)
      fromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'), // y = p, non-canonical
      fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'), // order 8
    ];
    for (const key of notKeys) {
      const e = errorOf(() => decodeChatAddress(p, craftAddress(key, 1)));
      expect(e.code).toBe('BAD_ADDRESS');
      expect(e.message).toContain('not a valid Ed25519 public key');
    }
  });

  it('refuses what is not a string', () => {
    expect(errorOf(() => decodeChatAddress(p, 42 as unknown as string)).message).toContain('not a string');
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
