/**
 * Chat addresses: bech32m (BIP-350, src/chat/bech32m.ts) with human-readable part
 * `chive`: `chive1` ‖ version (one character, CHAT_ADDRESS_VERSION = 1, so "p") ‖ the
 * 32-byte Ed25519 identity key in 5-bit groups (52 characters, 4 zero padding bits) ‖ a
 * 6-character checksum; 65 characters in all, lowercase.
 *
 * The BCH checksum catches with certainty any typo that changes up to 4 characters (so
 * every single wrong character and every swap of two neighbours), and points at the
 * position of a single wrong character. Decoding trims surrounding whitespace, accepts all
 * lower case or all UPPER CASE (not mixed, as BIP-173 says) and says what is wrong in words
 * a user can act on (BAD_ADDRESS): wrong prefix, bad length, which character is bad and
 * where, mixed case, checksum mismatch (a typo? and where, if one character), unknown
 * version, a key that is not a valid Ed25519 point.
 *
 * Deliberately not here: contacts, nicknames, QR codes, correcting typos (only pointing at
 * them), or anything that knows the secret key.
 */
import { ChiveError } from '../errors.js';
import type { CryptoProvider } from '../crypto/provider.js';
import {
  CHAT_ADDRESS_HRP, CHAT_ADDRESS_LEN, CHAT_ADDRESS_PREFIX, CHAT_ADDRESS_VERSION, ED25519_KEY_LEN,
} from '../wire/constants.js';
import {
  BECH32_CHARSET, BECH32_MAX_LEN, convertBits, decodeBech32m, describeBech32mProblem, encodeBech32m, type Bech32mProblem,
} from './bech32m.js';

/** Characters `shortAddress` keeps before the ellipsis. */
const SHORT_ADDRESS_CHARS = 12;

/** The address of a chat identity (its 32-byte Ed25519 public key). */
export function encodeChatAddress(provider: CryptoProvider, identityPub: Uint8Array): string {
  if (!(identityPub instanceof Uint8Array) || identityPub.length !== ED25519_KEY_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `chat identity key must be ${ED25519_KEY_LEN} bytes`);
  }
  requireUsableKey(provider, identityPub, 'INVALID_ARGUMENT');
  return encodeBech32m(CHAT_ADDRESS_HRP, [CHAT_ADDRESS_VERSION, ...convertBits(identityPub, 8, 5, true)!]);
}

/** The identity key an address names; BAD_ADDRESS, saying what is wrong, otherwise. */
export function decodeChatAddress(provider: CryptoProvider, text: string): Uint8Array {
  if (typeof text !== 'string') throw bad('not a string');
  const trimmed = text.trim();
  if (trimmed.length === 0) throw bad(`empty: a chive address looks like ${CHAT_ADDRESS_PREFIX}…`);
  if (asciiLower(trimmed.slice(0, CHAT_ADDRESS_PREFIX.length)) !== CHAT_ADDRESS_PREFIX) {
    throw bad(`wrong prefix: a chive address starts with "${CHAT_ADDRESS_PREFIX}"`);
  }
  if (trimmed.length > BECH32_MAX_LEN) throw badLength(trimmed.length);
  requireAddressCharacters(trimmed);
  if (trimmed.length !== CHAT_ADDRESS_LEN) {
    // A checksum-valid address of another version may have another length: say so instead.
    const other = decodeBech32m(trimmed);
    if (other.ok && other.hrp === CHAT_ADDRESS_HRP && other.words.length > 0 && other.words[0] !== CHAT_ADDRESS_VERSION) {
      throw unknownVersion(other.words[0]!);
    }
    throw badLength(trimmed.length);
  }
  const decoded = decodeBech32m(trimmed);
  if (!decoded.ok) throw bad(describeProblem(trimmed, decoded.problem));
  if (decoded.hrp !== CHAT_ADDRESS_HRP) throw bad(`wrong prefix: a chive address starts with "${CHAT_ADDRESS_PREFIX}"`);
  const version = decoded.words[0]!;
  if (version !== CHAT_ADDRESS_VERSION) throw unknownVersion(version);
  const identityPub = convertBits(decoded.words.subarray(1), 5, 8, false);
  if (identityPub === undefined || identityPub.length !== ED25519_KEY_LEN) {
    throw bad('the last key character has non-zero padding bits: not written by a chive encoder');
  }
  requireUsableKey(provider, identityPub, 'BAD_ADDRESS');
  return identityPub;
}

/** A short form for user interfaces: the first 12 characters and an ellipsis. */
export function shortAddress(address: string): string {
  const trimmed = address.trim();
  return trimmed.length <= SHORT_ADDRESS_CHARS ? trimmed : `${trimmed.slice(0, SHORT_ADDRESS_CHARS)}…`;
}

/** Every character after the prefix must be a bech32 character (either case); names the first that is not. */
function requireAddressCharacters(trimmed: string): void {
  let position = CHAT_ADDRESS_PREFIX.length;
  for (const c of trimmed.slice(CHAT_ADDRESS_PREFIX.length)) { // by code point, so positions count characters
    position++;
    if (!BECH32_CHARSET.includes(asciiLower(c))) {
      throw bad(`bad character ${JSON.stringify(c)} at position ${position}` +
        ` (after "${CHAT_ADDRESS_PREFIX}" an address has only a-z and 0-9, never 1, b, i or o)`);
    }
  }
}

/** The chat-address words for the problems left once prefix, characters and length are right. */
function describeProblem(trimmed: string, problem: Bech32mProblem): string {
  if (problem.kind === 'mixed-case') {
    const c = trimmed[problem.index]!;
    const upper = c >= 'A' && c <= 'Z';
    return `mixed case: ${upper ? 'upper' : 'lower'}-case ${JSON.stringify(c)} at position ${problem.index + 1} in an ` +
      `${upper ? 'otherwise lower-case' : 'otherwise upper-case'} address (an address is all lower case or all upper case)`;
  }
  if (problem.kind === 'bad-checksum') {
    if (problem.bech32) return 'checksum mismatch: this has a bech32 (BIP-173) checksum, chive addresses use bech32m (BIP-350): not made by chive?';
    if (problem.likelyErrorIndex !== undefined) {
      const i = problem.likelyErrorIndex;
      return `checksum mismatch: a typo? Probably the character at position ${i + 1} (${JSON.stringify(trimmed[i])})`;
    }
    return 'checksum mismatch: a typo? More than one character is wrong: check the whole address';
  }
  return describeBech32mProblem(problem);
}

/** Refuses a key that is not a canonical Ed25519 point of prime order (it could never sign or be blinded). */
function requireUsableKey(provider: CryptoProvider, identityPub: Uint8Array, code: 'BAD_ADDRESS' | 'INVALID_ARGUMENT'): void {
  const one = new Uint8Array(32);
  one[0] = 1;
  try {
    provider.ed25519ScalarMultPoint(one, identityPub);
  } catch (e) {
    const what = code === 'BAD_ADDRESS' ? 'chat address: the key it names' : 'chat identity key';
    throw new ChiveError(code, `${what} is not a valid Ed25519 public key`, { cause: e });
  }
}

function unknownVersion(version: number): ChiveError {
  return bad(`unknown version ${version} (this chive understands version ${CHAT_ADDRESS_VERSION}; a newer chive may)`);
}

function badLength(length: number): ChiveError {
  const hint = length < CHAT_ADDRESS_LEN ? 'characters missing?' : 'extra characters?';
  return bad(`bad length: a chive address has ${CHAT_ADDRESS_LEN} characters, this has ${length} (${hint})`);
}

function bad(what: string): ChiveError {
  return new ChiveError('BAD_ADDRESS', `chat address: ${what}`);
}

/** Lowercases A-Z only (so that no Unicode case mapping can turn another letter into a-z). */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}
