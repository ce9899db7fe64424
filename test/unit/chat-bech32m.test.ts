/**
 * The generic bech32m codec (src/chat/bech32m.ts) on BIP-350's published vectors
 * (test/vectors/chat/bech32m-bip350.json): valid strings decode and re-encode, invalid ones
 * are refused for the BIP's reason, segwit addresses decode to the BIP's scriptPubKeys (with
 * a 15-line segwit layer written here from the BIP), bech32 (BIP-173) checksums are told
 * apart; then, exhaustively, every single-character substitution and every adjacent swap of
 * every valid vector is caught, and a single substitution is located. No crypto: no providers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChiveError } from '../../src/errors.js';
import { fromHex, toHex } from '../../src/bytes.js';
import {
  BECH32_CHARSET, BECH32_MAX_LEN, BECH32M_CONST, convertBits, decodeBech32m, describeBech32mProblem, encodeBech32m,
  type Bech32mProblem, type Bech32mResult,
} from '../../src/chat/bech32m.js';

interface Bip350 {
  bech32m: { valid: string[]; invalid: { string: string; reason: string; problem: Bech32mProblem['kind'] }[] };
  segwit: {
    valid: { address: string; scriptPubKey: string; bech32m: boolean }[];
    invalid: { address: string; reason: string; bech32m: 'valid' | 'bech32-checksum' | Bech32mProblem['kind'] }[];
  };
}
const bip350 = JSON.parse(readFileSync(new URL('../vectors/chat/bech32m-bip350.json', import.meta.url), 'utf8')) as Bip350;
const validBech32m = [...bip350.bech32m.valid, ...bip350.segwit.valid.filter((v) => v.bech32m).map((v) => v.address)];

function decoded(text: string): { hrp: string; words: Uint8Array } {
  const r = decodeBech32m(text);
  if (!r.ok) throw new Error(`${text} did not decode: ${describeBech32mProblem(r.problem)}`);
  return r;
}
function problemOf(r: Bech32mResult): Bech32mProblem {
  if (r.ok) throw new Error('expected a problem, the string decoded');
  return r.problem;
}

/** BIP-350's segwit `decode`, on top of the generic codec: the scriptPubKey, or undefined. */
function segwitScriptPubKey(hrp: string, address: string): string | undefined {
  const r = decodeBech32m(address);
  if (!r.ok || r.hrp !== hrp || r.words.length === 0) return undefined;
  const version = r.words[0]!;
  const program = convertBits(r.words.subarray(1), 5, 8, false);
  if (program === undefined || program.length < 2 || program.length > 40 || version > 16) return undefined;
  if (version === 0) return undefined; // v0 uses bech32, which this codec only recognises
  return toHex(Uint8Array.of(version + 0x50, program.length)) + toHex(program);
}

describe('bech32m on the BIP-350 vectors', () => {
  it('decodes every valid string, and re-encodes it (lower case)', () => {
    for (const s of bip350.bech32m.valid) {
      const { hrp, words } = decoded(s);
      expect(encodeBech32m(hrp, words)).toBe(s.toLowerCase());
      expect(decoded(s.toUpperCase()).hrp).toBe(hrp);
    }
    expect(decoded('abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx').words).toEqual(Uint8Array.from({ length: 32 }, (_, i) => 31 - i));
    expect(decoded('?1v759aa')).toEqual({ ok: true, hrp: '?', words: new Uint8Array(0) });
  });

  it('refuses every invalid string, for the BIP\'s reason', () => {
    for (const v of bip350.bech32m.invalid) {
      expect(problemOf(decodeBech32m(v.string)).kind, `${JSON.stringify(v.string)}: ${v.reason}`).toBe(v.problem);
    }
    expect(problemOf(decodeBech32m(' 1xj0phk'))).toEqual({ kind: 'bad-character', index: 0, char: ' ', part: 'hrp' });
    expect(problemOf(decodeBech32m('\u00801vctc34'))).toMatchObject({ kind: 'bad-character', index: 0, char: '\u0080' });
    expect(problemOf(decodeBech32m('y1b0jsk6g'))).toEqual({ kind: 'bad-character', index: 2, char: 'b', part: 'data' });
    expect(problemOf(decodeBech32m('au1s5cgom'))).toEqual({ kind: 'bad-character', index: 7, char: 'o', part: 'data' });
    expect(problemOf(decodeBech32m('in1muywd'))).toEqual({ kind: 'too-short', dataChars: 5 });
  });

  it('decodes the valid v1+ segwit addresses to the BIP\'s scriptPubKeys, and tells v0 bech32 ones apart', () => {
    for (const v of bip350.segwit.valid) {
      const hrp = v.address.slice(0, 2).toLowerCase();
      if (v.bech32m) {
        expect(segwitScriptPubKey(hrp, v.address)).toBe(v.scriptPubKey);
        const { words } = decoded(v.address);
        expect(encodeBech32m(hrp, [words[0]!, ...convertBits(fromHex(v.scriptPubKey).subarray(2), 8, 5, true)!])).toBe(v.address.toLowerCase());
      } else {
        expect(problemOf(decodeBech32m(v.address))).toEqual({ kind: 'bad-checksum', bech32: true, likelyErrorIndex: undefined });
      }
    }
  });

  it('refuses every invalid segwit address: at the bech32m level as classified, or by the segwit rules', () => {
    for (const v of bip350.segwit.invalid) {
      expect(segwitScriptPubKey('bc', v.address) ?? segwitScriptPubKey('tb', v.address), v.reason).toBeUndefined();
      const r = decodeBech32m(v.address);
      if (v.bech32m === 'valid') expect(r.ok, v.reason).toBe(true);
      else if (v.bech32m === 'bech32-checksum') expect(problemOf(r), v.reason).toMatchObject({ kind: 'bad-checksum', bech32: true });
      else expect(problemOf(r).kind, v.reason).toBe(v.bech32m);
    }
  });
});

describe('bech32m typo detection, exhaustively on the valid vectors', () => {
  it('catches every single-character substitution in the data part, and locates it', () => {
    let checked = 0;
    for (const s of validBech32m) {
      const upper = s !== s.toLowerCase();
      const charset = upper ? BECH32_CHARSET.toUpperCase() : BECH32_CHARSET;
      for (let i = s.lastIndexOf('1') + 1; i < s.length; i++) {
        for (const c of charset) {
          if (c === s[i]) continue;
          const typo = s.slice(0, i) + c + s.slice(i + 1);
          expect(problemOf(decodeBech32m(typo))).toEqual({ kind: 'bad-checksum', bech32: false, likelyErrorIndex: i });
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(6000);
  });

  it('catches every single-character substitution in the human-readable part (printable, same case, not "1")', () => {
    for (const s of validBech32m) {
      const upper = s !== s.toLowerCase();
      for (let i = 0; i < s.lastIndexOf('1'); i++) {
        for (let code = 33; code <= 126; code++) {
          const c = String.fromCharCode(code);
          if (c === s[i] || c === '1' || (upper ? /[a-z]/.test(c) : /[A-Z]/.test(c))) continue;
          expect(decodeBech32m(s.slice(0, i) + c + s.slice(i + 1)).ok).toBe(false);
        }
      }
    }
  });

  it('catches every swap of two adjacent different characters, without pointing at one', () => {
    for (const s of validBech32m) {
      for (let i = s.lastIndexOf('1') + 1; i + 1 < s.length; i++) {
        if (s[i] === s[i + 1]) continue;
        const swapped = s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2);
        expect(problemOf(decodeBech32m(swapped))).toEqual({ kind: 'bad-checksum', bech32: false, likelyErrorIndex: undefined });
      }
    }
  });
});

describe('bech32m pieces', () => {
  it('uses BIP-350\'s constant and BIP-173\'s alphabet and limit', () => {
    expect(BECH32M_CONST).toBe(0x2bc830a3);
    expect(BECH32_CHARSET).toBe('qpzry9x8gf2tvdw0s3jn54khce6mua7l');
    expect(BECH32_MAX_LEN).toBe(90);
    // BIP-173's own valid bech32 vector: recognised as bech32, refused as bech32m.
    expect(problemOf(decodeBech32m('a12uel5l'))).toEqual({ kind: 'bad-checksum', bech32: true, likelyErrorIndex: undefined });
  });

  it('convertBits regroups, pads and refuses bad padding as BIP-173 does', () => {
    expect(convertBits([0xff], 8, 5, true)).toEqual(Uint8Array.of(31, 28));
    expect(convertBits([31, 28], 5, 8, false)).toEqual(Uint8Array.of(0xff));
    expect(convertBits([31, 29], 5, 8, false)).toBeUndefined(); // non-zero padding bit
    expect(convertBits([31, 28, 0], 5, 8, false)).toBeUndefined(); // 7 leftover bits: a whole group of padding
    expect(convertBits([32], 5, 8, true)).toBeUndefined();
    expect(convertBits([-1], 8, 5, true)).toBeUndefined();
    const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
    const groups = convertBits(key, 8, 5, true)!;
    expect(groups).toHaveLength(52);
    expect(convertBits(groups, 5, 8, false)).toEqual(key);
  });

  it('encodeBech32m refuses what it cannot encode', () => {
    const code = (fn: () => unknown) => { try { fn(); } catch (e) { return e instanceof ChiveError ? e.code : 'other'; } return 'none'; };
    expect(code(() => encodeBech32m('', [1]))).toBe('INVALID_ARGUMENT');
    expect(code(() => encodeBech32m('Chive', [1]))).toBe('INVALID_ARGUMENT');
    expect(code(() => encodeBech32m('a b', [1]))).toBe('INVALID_ARGUMENT');
    expect(code(() => encodeBech32m('chive', [32]))).toBe('INVALID_ARGUMENT');
    expect(code(() => encodeBech32m('chive', [1.5]))).toBe('INVALID_ARGUMENT');
    expect(code(() => encodeBech32m('chive', new Array(79).fill(0)))).toBe('INVALID_ARGUMENT');
    expect(encodeBech32m('chive', new Array(78).fill(0))).toHaveLength(90);
  });

  it('describes every problem in words', () => {
    const words: [Bech32mProblem, string][] = [
      [{ kind: 'bad-character', index: 3, char: 'b', part: 'data' }, 'bad character "b" at position 4'],
      [{ kind: 'mixed-case', index: 0 }, 'mixed case (position 1)'],
      [{ kind: 'too-long', length: 91 }, 'too long: 91 characters, at most 90'],
      [{ kind: 'no-separator' }, 'no separator "1"'],
      [{ kind: 'empty-hrp' }, 'nothing before the separator'],
      [{ kind: 'too-short', dataChars: 5 }, 'too short'],
      [{ kind: 'bad-checksum', bech32: true, likelyErrorIndex: undefined }, 'bech32 (BIP-173) checksum'],
      [{ kind: 'bad-checksum', bech32: false, likelyErrorIndex: 9 }, 'position 10'],
      [{ kind: 'bad-checksum', bech32: false, likelyErrorIndex: undefined }, 'checksum mismatch'],
    ];
    for (const [problem, text] of words) expect(describeBech32mProblem(problem)).toContain(text);
  });
});
