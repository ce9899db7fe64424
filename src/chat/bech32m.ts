/**
 * Bech32m (BIP-350): the generic checksummed base-32 string `hrp ‖ "1" ‖ data ‖ checksum`
 * of BIP-173 with BIP-350's final constant, and BIP-173's `convertbits` between 8-bit bytes
 * and 5-bit groups.
 *
 * Its BCH checksum (6 characters, 30 bits) detects with certainty any substitution of up to
 * 4 characters in a string of at most 90 (BECH32_MAX_LEN), and a single substituted data
 * character can be located, which `decodeBech32m` does to point at it (as BIP-173 advises,
 * it never corrects anything).
 *
 * Decoding returns a result instead of throwing, so that a caller (src/chat/address.ts)
 * can say in its own words what is wrong; `describeBech32mProblem` gives generic words.
 *
 * Deliberately not here: segwit address rules (witness versions, program lengths),
 * encoding with the old BIP-173 constant (a bech32 checksum is only recognised, to say
 * so), error correction, and anything chive-specific.
 */
import { ChiveError } from '../errors.js';

/** BIP-173's 32 data characters; a character's index is its 5-bit value. */
export const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
/** BIP-350's final XOR constant (BIP-173 bech32 used 1). */
export const BECH32M_CONST = 0x2bc830a3;
/** BIP-173: a bech32 string is at most 90 characters (where the detection guarantees hold). */
export const BECH32_MAX_LEN = 90;
/** Characters of checksum at the end of the data part. */
export const BECH32_CHECKSUM_CHARS = 6;

const BECH32_CONST = 1;
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3] as const;
const CHARSET_VALUE = new Map([...BECH32_CHARSET].map((c, i) => [c, i] as const));

/** Why a string is not bech32m; `index` counts UTF-16 code units of the decoded text, from 0. */
export type Bech32mProblem =
  | { kind: 'bad-character'; index: number; char: string; part: 'hrp' | 'data' }
  | { kind: 'mixed-case'; index: number }
  | { kind: 'too-long'; length: number }
  | { kind: 'no-separator' }
  | { kind: 'empty-hrp' }
  | { kind: 'too-short'; dataChars: number }
  /** `bech32`: the checksum is a valid BIP-173 bech32 one. `likelyErrorIndex`: the one data character whose change would make it valid, if there is exactly one. */
  | { kind: 'bad-checksum'; bech32: boolean; likelyErrorIndex: number | undefined };

export type Bech32mResult =
  | { ok: true; hrp: string; words: Uint8Array }
  | { ok: false; problem: Bech32mProblem };

/** `hrp ‖ "1" ‖ words ‖ checksum` (lowercase). `hrp` is 1-83 printable ASCII characters without upper case; words are 0-31. */
export function encodeBech32m(hrp: string, words: ArrayLike<number>): string {
  if (hrp.length < 1 || [...hrp].some((c) => c.charCodeAt(0) < 33 || c.charCodeAt(0) > 126 || (c >= 'A' && c <= 'Z'))) {
    throw new ChiveError('INVALID_ARGUMENT', 'bech32m: the human-readable part must be printable ASCII without upper case');
  }
  if (hrp.length + 1 + words.length + BECH32_CHECKSUM_CHARS > BECH32_MAX_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `bech32m: longer than ${BECH32_MAX_LEN} characters`);
  }
  let out = `${hrp}1`;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!Number.isInteger(w) || w < 0 || w > 31) throw new ChiveError('INVALID_ARGUMENT', 'bech32m: a data word is not 0-31');
    out += BECH32_CHARSET[w];
  }
  const chk = polymod([...hrpExpand(hrp), ...Array.from(words), 0, 0, 0, 0, 0, 0]) ^ BECH32M_CONST;
  for (let i = 0; i < BECH32_CHECKSUM_CHARS; i++) out += BECH32_CHARSET[(chk >>> (5 * (5 - i))) & 31];
  return out;
}

/** The human-readable part and data words (checksum removed) of a bech32m string, or what is wrong with it. */
export function decodeBech32m(text: string): Bech32mResult {
  const fail = (problem: Bech32mProblem): Bech32mResult => ({ ok: false, problem });
  let hasLower = false;
  let hasUpper = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 33 || code > 126) {
      const separator = text.lastIndexOf('1');
      return fail({ kind: 'bad-character', index: i, char: String.fromCodePoint(text.codePointAt(i)!), part: separator > i ? 'hrp' : 'data' });
    }
    if (code >= 97 && code <= 122) hasLower = true;
    if (code >= 65 && code <= 90) hasUpper = true;
  }
  if (hasLower && hasUpper) return fail({ kind: 'mixed-case', index: firstOfMinorityCase(text) });
  if (text.length > BECH32_MAX_LEN) return fail({ kind: 'too-long', length: text.length });
  const lower = text.toLowerCase(); // ASCII only by now
  const separator = lower.lastIndexOf('1');
  if (separator < 0) return fail({ kind: 'no-separator' });
  if (separator === 0) return fail({ kind: 'empty-hrp' });
  const dataChars = lower.length - separator - 1;
  if (dataChars < BECH32_CHECKSUM_CHARS) return fail({ kind: 'too-short', dataChars });
  const hrp = lower.slice(0, separator);
  const data = new Uint8Array(dataChars);
  for (let i = 0; i < dataChars; i++) {
    const v = CHARSET_VALUE.get(lower[separator + 1 + i]!);
    if (v === undefined) return fail({ kind: 'bad-character', index: separator + 1 + i, char: text[separator + 1 + i]!, part: 'data' });
    data[i] = v;
  }
  const residue = polymod([...hrpExpand(hrp), ...data]);
  if (residue !== BECH32M_CONST) {
    const at = locateSingleError(residue ^ BECH32M_CONST, dataChars);
    return fail({ kind: 'bad-checksum', bech32: residue === BECH32_CONST, likelyErrorIndex: at === undefined ? undefined : separator + 1 + at });
  }
  return { ok: true, hrp, words: data.slice(0, dataChars - BECH32_CHECKSUM_CHARS) };
}

/**
 * BIP-173 `convertbits`: regroups `fromBits`-bit values into `toBits`-bit values, high bits
 * first. With `pad`, the last group is filled with zero bits; without, leftover bits must
 * be fewer than `fromBits` and all zero. Undefined when a value is out of range or the
 * padding is wrong.
 */
export function convertBits(data: ArrayLike<number>, fromBits: number, toBits: number, pad: boolean): Uint8Array | undefined {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxOut = (1 << toBits) - 1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isInteger(v) || v < 0 || v >> fromBits !== 0) return undefined;
    acc = ((acc << fromBits) | v) & 0xffff; // never more than fromBits + toBits - 1 live bits
    bits += fromBits;
    while (bits >= toBits) {
      bits -= toBits;
      out.push((acc >>> bits) & maxOut);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (toBits - bits)) & maxOut);
  } else if (bits >= fromBits || ((acc << (toBits - bits)) & maxOut) !== 0) {
    return undefined;
  }
  return Uint8Array.from(out);
}

/** Generic words for a problem (1-based positions), for callers without better ones. */
export function describeBech32mProblem(problem: Bech32mProblem): string {
  switch (problem.kind) {
    case 'bad-character': return `bad character ${JSON.stringify(problem.char)} at position ${problem.index + 1}`;
    case 'mixed-case': return `mixed case (position ${problem.index + 1}): bech32m is all lower case or all upper case`;
    case 'too-long': return `too long: ${problem.length} characters, at most ${BECH32_MAX_LEN}`;
    case 'no-separator': return 'no separator "1"';
    case 'empty-hrp': return 'nothing before the separator "1"';
    case 'too-short': return `too short: ${problem.dataChars} characters after the separator, at least ${BECH32_CHECKSUM_CHARS}`;
    case 'bad-checksum':
      if (problem.bech32) return 'checksum mismatch: a bech32 (BIP-173) checksum, not bech32m (BIP-350)';
      return problem.likelyErrorIndex === undefined
        ? 'checksum mismatch'
        : `checksum mismatch (probably the character at position ${problem.likelyErrorIndex + 1})`;
  }
}

/** BIP-173's checksum polynomial remainder, starting from `chk`. */
function polymod(values: ArrayLike<number>, start = 1): number {
  let chk = start;
  for (let i = 0; i < values.length; i++) chk = step(chk, values[i]!);
  return chk;
}

function step(chk: number, value: number): number {
  const top = chk >>> 25;
  let next = ((chk & 0x1ffffff) << 5) ^ value;
  for (let i = 0; i < 5; i++) if ((top >>> i) & 1) next ^= GENERATOR[i]!;
  return next;
}

function hrpExpand(hrp: string): number[] {
  const codes = [...hrp].map((c) => c.charCodeAt(0));
  return [...codes.map((c) => c >> 5), 0, ...codes.map((c) => c & 31)];
}

/**
 * The data index (0-based) of the one substitution that explains `syndrome` (= the residue
 * XOR the constant), if exactly one does. polymod is linear over GF(2), so a substitution
 * that XORs e into the value k places from the end changes the residue by `step^k(e)` from
 * 0. Since any two valid strings differ in at least 5 characters, a string with one wrong
 * character has exactly one such explanation; with 2 or 3 wrong it has none.
 */
function locateSingleError(syndrome: number, dataChars: number): number | undefined {
  const at = singleErrorTable(dataChars).get(syndrome);
  return at === undefined || at < 0 ? undefined : at;
}

/** Per data length, syndrome → index of the single substitution causing it (-1: more than one). A pure memo (≤ 90 lengths × 31 × 84 entries). */
const singleErrorTables = new Map<number, Map<number, number>>();
function singleErrorTable(dataChars: number): Map<number, number> {
  let table = singleErrorTables.get(dataChars);
  if (table !== undefined) return table;
  table = new Map();
  for (let e = 1; e < 32; e++) {
    let delta = e;
    for (let k = 0; k < dataChars; k++) {
      table.set(delta, table.has(delta) ? -1 : dataChars - 1 - k);
      delta = step(delta, 0);
    }
  }
  singleErrorTables.set(dataChars, table);
  return table;
}

/** Index of the first letter of the rarer case (upper case on a tie). */
function firstOfMinorityCase(text: string): number {
  const isUpper = (c: string) => c >= 'A' && c <= 'Z';
  const isLower = (c: string) => c >= 'a' && c <= 'z';
  const uppers = [...text].filter(isUpper).length;
  const lowers = [...text].filter(isLower).length;
  const rare = uppers <= lowers ? isUpper : isLower;
  return [...text].findIndex(rare);
}
