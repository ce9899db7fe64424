/**
 * Chat addresses: `chive1` + base32 (RFC 4648 alphabet, lowercase, no padding) of
 * `identityPub 32 ‖ checksum 2 ‖ version 1`, where checksum =
 * SHA-256(CHAT_ADDRESS_CHECKSUM_DOMAIN ‖ identityPub ‖ version)[0:2].
 *
 * Decoding is case-insensitive (ASCII only), trims surrounding whitespace and says what is
 * wrong, in words a user can act on: wrong prefix, bad length, which character is bad,
 * checksum mismatch (a typo?), unknown version, not a usable key (BAD_ADDRESS).
 *
 * Deliberately not here: contacts, nicknames, QR codes, or anything that knows the secret
 * key. A 16-bit checksum catches a given typo with probability 1 − 2^-16 (about 1 − 2^-20
 * together with the point check), not with the certainty of a BCH code.
 */
import { ChiveError } from '../errors.js';
import { concatBytes, utf8 } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import {
  CHAT_ADDRESS_BASE32_LEN, CHAT_ADDRESS_CHECKSUM_DOMAIN, CHAT_ADDRESS_CHECKSUM_LEN, CHAT_ADDRESS_LEN,
  CHAT_ADDRESS_PAYLOAD_LEN, CHAT_ADDRESS_PREFIX, CHAT_ADDRESS_VERSION, ED25519_KEY_LEN,
} from '../wire/constants.js';

const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** Characters `shortAddress` keeps before the ellipsis. */
const SHORT_ADDRESS_CHARS = 12;
const CHECKSUM_DOMAIN = utf8(CHAT_ADDRESS_CHECKSUM_DOMAIN);

/** The address of a chat identity (its 32-byte Ed25519 public key). */
export function encodeChatAddress(provider: CryptoProvider, identityPub: Uint8Array): string {
  if (!(identityPub instanceof Uint8Array) || identityPub.length !== ED25519_KEY_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `chat identity key must be ${ED25519_KEY_LEN} bytes`);
  }
  requireUsableKey(provider, identityPub, 'INVALID_ARGUMENT');
  const payload = concatBytes(identityPub, checksum(provider, identityPub, CHAT_ADDRESS_VERSION), Uint8Array.of(CHAT_ADDRESS_VERSION));
  return CHAT_ADDRESS_PREFIX + base32Encode(payload);
}

/** The identity key an address names; BAD_ADDRESS, saying what is wrong, otherwise. */
export function decodeChatAddress(provider: CryptoProvider, text: string): Uint8Array {
  if (typeof text !== 'string') throw bad('not a string');
  const trimmed = text.trim();
  if (trimmed.length === 0) throw bad('empty: a chive address looks like chive1…');
  if (asciiLower(trimmed.slice(0, CHAT_ADDRESS_PREFIX.length)) !== CHAT_ADDRESS_PREFIX) {
    throw bad(`wrong prefix: a chive address starts with "${CHAT_ADDRESS_PREFIX}"`);
  }
  if (trimmed.length !== CHAT_ADDRESS_LEN) {
    const hint = trimmed.length < CHAT_ADDRESS_LEN ? 'characters missing?' : 'extra characters?';
    throw bad(`bad length: a chive address has ${CHAT_ADDRESS_LEN} characters, this has ${trimmed.length} (${hint})`);
  }
  const body = trimmed.slice(CHAT_ADDRESS_PREFIX.length);
  const values = new Uint8Array(CHAT_ADDRESS_BASE32_LEN);
  for (let i = 0; i < body.length; i++) {
    const v = BASE32_ALPHABET.indexOf(asciiLower(body[i]!));
    if (v < 0) {
      throw bad(`bad character ${JSON.stringify(body[i])} at position ${CHAT_ADDRESS_PREFIX.length + i + 1}` +
        ' (addresses use only the letters a-z and the digits 2-7)');
    }
    values[i] = v;
  }
  const payload = base32Decode(values);
  const identityPub = payload.slice(0, ED25519_KEY_LEN);
  const sum = payload.subarray(ED25519_KEY_LEN, ED25519_KEY_LEN + CHAT_ADDRESS_CHECKSUM_LEN);
  const version = payload[CHAT_ADDRESS_PAYLOAD_LEN - 1]!;
  if (!provider.equal(sum, checksum(provider, identityPub, version))) {
    throw bad('checksum mismatch: a typo?');
  }
  if (version !== CHAT_ADDRESS_VERSION) {
    throw bad(`unknown version ${version} (this chive understands version ${CHAT_ADDRESS_VERSION}; a newer chive may)`);
  }
  requireUsableKey(provider, identityPub, 'BAD_ADDRESS');
  return identityPub;
}

/** A short form for user interfaces: the first 12 characters and an ellipsis. */
export function shortAddress(address: string): string {
  const trimmed = address.trim();
  return trimmed.length <= SHORT_ADDRESS_CHARS ? trimmed : `${trimmed.slice(0, SHORT_ADDRESS_CHARS)}…`;
}

function checksum(provider: CryptoProvider, identityPub: Uint8Array, version: number): Uint8Array {
  return provider.sha256(concatBytes(CHECKSUM_DOMAIN, identityPub, Uint8Array.of(version))).slice(0, CHAT_ADDRESS_CHECKSUM_LEN);
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

function bad(what: string): ChiveError {
  return new ChiveError('BAD_ADDRESS', `chat address: ${what}`);
}

/** Lowercases A-Z only (so that no Unicode case mapping can turn another letter into a-z). */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(buffer >>> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** 5-bit values (a whole number of bytes' worth: 56 values = 35 bytes) back to bytes. */
function base32Decode(values: Uint8Array): Uint8Array {
  const out = new Uint8Array((values.length * 5) >>> 3);
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (const v of values) {
    buffer = ((buffer << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >>> bits) & 0xff;
    }
  }
  return out;
}
