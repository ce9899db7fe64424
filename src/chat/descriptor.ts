/**
 * Chat descriptors: what a receiver publishes on the HSDir ring so that senders who know its
 * address can reach its introduction points.
 *
 *   outer = version u8 ‖ blindedPub 32 ‖ period u32 ‖ revision u64 ‖ nonce 12 ‖
 *           innerLen u16 ‖ sealedInner (innerLen, tag included) ‖ signature 64
 *   signature   = Ed25519 by the blinded key over CHAT_DESCRIPTOR_SIG_DOMAIN ‖ (all bytes before it)
 *   sealedInner = ChaCha20-Poly1305(key = HKDF-SHA256(identityPub ‖ blindedPub ‖ period u32,
 *                 salt "", CHAT_DESCRIPTOR_KEY_INFO, 32), nonce, aad = the 57-byte header)
 *   inner       = introEncKey 32 ‖ count u8 (1..CHAT_MAX_INTRO_POINTS) ‖ count × (relayIdentity 32 ‖ authKey 32)
 *
 * Two checks, for two readers: `checkChatDescriptorOuter` is what an HSDir (which does not
 * know the address) can verify — length cap, version, period window, signature under the
 * blinded key; `openChatDescriptor` is what a sender (who knows the address) does on top —
 * the blinded key is the address's for that period, the inner part decrypts and decodes.
 * Every refusal is BAD_DESCRIPTOR.
 *
 * Deliberately not here: storage, revision ordering and quotas at the HSDir, the relay
 * messages that carry descriptors, or where they are stored (src/chat/hsdir-ring.ts).
 */
import { ChiveError } from '../errors.js';
import { ByteReader, ByteWriter, concatBytes, utf8 } from '../bytes.js';
import type { CryptoProvider, Rng } from '../crypto/provider.js';
import { blindedPublicKey, blindedSign } from './blinding.js';
import {
  AEAD_TAG_LEN, CHAT_DESCRIPTOR_HEADER_LEN, CHAT_DESCRIPTOR_INNER_MAX_LEN, CHAT_DESCRIPTOR_KEY_INFO,
  CHAT_DESCRIPTOR_MAX_LEN, CHAT_DESCRIPTOR_NONCE_LEN, CHAT_DESCRIPTOR_PERIOD_WINDOW, CHAT_DESCRIPTOR_SIG_DOMAIN,
  CHAT_DESCRIPTOR_VERSION, CHAT_MAX_INTRO_POINTS, ED25519_KEY_LEN, ED25519_SIG_LEN, X25519_KEY_LEN,
} from '../wire/constants.js';

export interface ChatIntroPoint {
  /** The introduction point relay's Ed25519 identity. */
  relayIdentity: Uint8Array;
  /** The Ed25519 key the receiver established that introduction with (ESTABLISH_INTRO). */
  authKey: Uint8Array;
}

export interface ChatDescriptorContent {
  /** The receiver's X25519 key for introductions and the end-to-end handshake (B). */
  introEncKey: Uint8Array;
  /** 1..CHAT_MAX_INTRO_POINTS introduction points. */
  introPoints: ChatIntroPoint[];
}

/** A descriptor whose outer layer checked: what an HSDir may store and serve. */
export interface ChatDescriptorOuter {
  blindedKey: Uint8Array;
  period: number;
  revision: number;
  /** The whole descriptor, as checked (a copy). */
  bytes: Uint8Array;
}

export interface SealChatDescriptorInput {
  /** The 32-byte Ed25519 seed of the receiver's chat identity. */
  identitySeed: Uint8Array;
  period: number;
  /** Higher revisions replace lower ones of the same blinded key and period at an HSDir. */
  revision: number;
  content: ChatDescriptorContent;
}

const SIG_DOMAIN = utf8(CHAT_DESCRIPTOR_SIG_DOMAIN);
const KEY_INFO = utf8(CHAT_DESCRIPTOR_KEY_INFO);
const MAX_U32 = 0xffff_ffff;

/** A signed, sealed descriptor (≤ CHAT_DESCRIPTOR_MAX_LEN bytes); INVALID_ARGUMENT on bad input. */
export function sealChatDescriptor(provider: CryptoProvider, rng: Rng, input: SealChatDescriptorInput): Uint8Array {
  const { identitySeed, period, revision, content } = input;
  if (!Number.isSafeInteger(period) || period < 0 || period > MAX_U32) invalid(`period must be a u32, not ${period}`);
  if (!Number.isSafeInteger(revision) || revision < 0) invalid(`revision must be a non-negative integer, not ${revision}`);
  const inner = encodeInner(content);
  const identityPub = provider.ed25519PublicKey(identitySeed);
  const blindedKey = blindedPublicKey(provider, identityPub, period);
  const nonce = rng(CHAT_DESCRIPTOR_NONCE_LEN);
  if (!(nonce instanceof Uint8Array) || nonce.length !== CHAT_DESCRIPTOR_NONCE_LEN) invalid('rng returned the wrong number of bytes');
  const total = CHAT_DESCRIPTOR_HEADER_LEN + 2 + inner.length + AEAD_TAG_LEN + ED25519_SIG_LEN;
  if (total > CHAT_DESCRIPTOR_MAX_LEN) invalid(`descriptor would be ${total} bytes, over the maximum of ${CHAT_DESCRIPTOR_MAX_LEN}`);

  const header = new ByteWriter(CHAT_DESCRIPTOR_HEADER_LEN)
    .u8(CHAT_DESCRIPTOR_VERSION).bytes(blindedKey).u32(period).u64(revision).bytes(nonce).finish();
  const key = descriptorKey(provider, identityPub, blindedKey, period);
  const sealed = new Uint8Array(inner.length + AEAD_TAG_LEN);
  provider.aeadSealDetached(key, nonce, header, inner, sealed.subarray(0, inner.length), sealed.subarray(inner.length));
  key.fill(0);
  inner.fill(0);
  const signed = new ByteWriter(CHAT_DESCRIPTOR_MAX_LEN, total).bytes(header).u16(sealed.length).bytes(sealed).finish();
  const signature = blindedSign(provider, identitySeed, period, concatBytes(SIG_DOMAIN, signed));
  return concatBytes(signed, signature);
}

/**
 * What an HSDir can check without the address: length cap, version, period within
 * ±CHAT_DESCRIPTOR_PERIOD_WINDOW of `currentPeriod`, signature under the blinded key.
 */
export function checkChatDescriptorOuter(
  provider: CryptoProvider, bytes: Uint8Array, options: { currentPeriod: number },
): ChatDescriptorOuter {
  const parsed = checkOuter(provider, bytes, options.currentPeriod);
  return { blindedKey: parsed.blindedKey, period: parsed.period, revision: parsed.revision, bytes: Uint8Array.from(bytes) };
}

/**
 * What a sender does with the descriptor of `identityPub`: the outer checks, then that the
 * blinded key is this address's for the descriptor's period, then decrypt and decode.
 */
export function openChatDescriptor(
  provider: CryptoProvider, bytes: Uint8Array, options: { identityPub: Uint8Array; currentPeriod: number },
): ChatDescriptorContent & { revision: number; period: number } {
  const parsed = checkOuter(provider, bytes, options.currentPeriod);
  const expected = blindedPublicKey(provider, options.identityPub, parsed.period);
  if (!provider.equal(expected, parsed.blindedKey)) {
    throw bad('not the descriptor of this address (its blinded key is another identity\'s)');
  }
  const key = descriptorKey(provider, options.identityPub, parsed.blindedKey, parsed.period);
  const ciphertextLen = parsed.sealed.length - AEAD_TAG_LEN;
  const inner = new Uint8Array(ciphertextLen);
  const opened = provider.aeadOpenDetached(
    key, parsed.nonce, parsed.header, parsed.sealed.subarray(0, ciphertextLen), parsed.sealed.subarray(ciphertextLen), inner,
  );
  key.fill(0);
  if (!opened) throw bad('the inner part does not decrypt (tampered, or not for this address)');
  return { ...decodeInner(inner), revision: parsed.revision, period: parsed.period };
}

interface ParsedOuter {
  header: Uint8Array;
  blindedKey: Uint8Array;
  period: number;
  revision: number;
  nonce: Uint8Array;
  sealed: Uint8Array;
}

function checkOuter(provider: CryptoProvider, bytes: Uint8Array, currentPeriod: number): ParsedOuter {
  if (!Number.isSafeInteger(currentPeriod) || currentPeriod < 0) invalid(`current period must be a non-negative integer, not ${currentPeriod}`);
  if (!(bytes instanceof Uint8Array)) throw bad('not bytes');
  const { parsed, signed, signature } = asBadDescriptor(() => {
    const r = ByteReader.of(bytes, CHAT_DESCRIPTOR_MAX_LEN, 'chat descriptor');
    const version = r.u8('version');
    if (version !== CHAT_DESCRIPTOR_VERSION) throw bad(`unknown version ${version} (this chive reads version ${CHAT_DESCRIPTOR_VERSION})`);
    const blindedKey = r.bytes(ED25519_KEY_LEN, 'blinded key', true);
    const period = r.u32('period');
    const revision = r.u64('revision');
    const nonce = r.bytes(CHAT_DESCRIPTOR_NONCE_LEN, 'nonce', true);
    const innerLen = r.u16('inner length');
    if (innerLen < AEAD_TAG_LEN || innerLen > CHAT_DESCRIPTOR_INNER_MAX_LEN + AEAD_TAG_LEN) {
      throw bad(`inner length ${innerLen} is outside ${AEAD_TAG_LEN}..${CHAT_DESCRIPTOR_INNER_MAX_LEN + AEAD_TAG_LEN}`);
    }
    const sealed = r.bytes(innerLen, 'sealed inner part', true);
    const signedLen = r.offset;
    const sig = r.bytes(ED25519_SIG_LEN, 'signature', true);
    r.end();
    const header = bytes.slice(0, CHAT_DESCRIPTOR_HEADER_LEN);
    return { parsed: { header, blindedKey, period, revision, nonce, sealed }, signed: bytes.subarray(0, signedLen), signature: sig };
  });
  if (Math.abs(parsed.period - currentPeriod) > CHAT_DESCRIPTOR_PERIOD_WINDOW) {
    throw bad(`period ${parsed.period} is not within ${CHAT_DESCRIPTOR_PERIOD_WINDOW} of the current period ${currentPeriod}`);
  }
  if (!provider.ed25519Verify(parsed.blindedKey, concatBytes(SIG_DOMAIN, signed), signature)) {
    throw bad('bad signature (not signed by its blinded key)');
  }
  return parsed;
}

function encodeInner(content: ChatDescriptorContent): Uint8Array {
  const { introEncKey, introPoints } = content;
  if (!(introEncKey instanceof Uint8Array) || introEncKey.length !== X25519_KEY_LEN) invalid(`introEncKey must be ${X25519_KEY_LEN} bytes`);
  if (!Array.isArray(introPoints) || introPoints.length < 1 || introPoints.length > CHAT_MAX_INTRO_POINTS) {
    invalid(`a descriptor lists 1..${CHAT_MAX_INTRO_POINTS} introduction points, not ${Array.isArray(introPoints) ? introPoints.length : 'none'}`);
  }
  const w = new ByteWriter(CHAT_DESCRIPTOR_INNER_MAX_LEN).bytes(introEncKey).u8(introPoints.length);
  for (const [i, point] of introPoints.entries()) {
    for (const [name, key] of [['relayIdentity', point.relayIdentity], ['authKey', point.authKey]] as const) {
      if (!(key instanceof Uint8Array) || key.length !== ED25519_KEY_LEN) invalid(`introduction point ${i}: ${name} must be ${ED25519_KEY_LEN} bytes`);
      w.bytes(key);
    }
  }
  return w.finish();
}

function decodeInner(inner: Uint8Array): ChatDescriptorContent {
  return asBadDescriptor(() => {
    const r = ByteReader.of(inner, CHAT_DESCRIPTOR_INNER_MAX_LEN, 'chat descriptor inner part');
    const introEncKey = r.bytes(X25519_KEY_LEN, 'introEncKey', true);
    const count = r.u8('introduction point count');
    if (count < 1 || count > CHAT_MAX_INTRO_POINTS) throw bad(`${count} introduction points (1..${CHAT_MAX_INTRO_POINTS} allowed)`);
    const introPoints: ChatIntroPoint[] = [];
    for (let i = 0; i < count; i++) {
      const relayIdentity = r.bytes(ED25519_KEY_LEN, `introduction point ${i} relay identity`, true);
      const authKey = r.bytes(ED25519_KEY_LEN, `introduction point ${i} auth key`, true);
      introPoints.push({ relayIdentity, authKey });
    }
    r.end();
    return { introEncKey, introPoints };
  });
}

function descriptorKey(provider: CryptoProvider, identityPub: Uint8Array, blindedKey: Uint8Array, period: number): Uint8Array {
  const ikm = new ByteWriter(2 * ED25519_KEY_LEN + 4).bytes(identityPub).bytes(blindedKey).u32(period).finish();
  return provider.hkdfSha256(ikm, new Uint8Array(0), KEY_INFO, 32);
}

/** Runs a decoder; byte-level ChiveErrors (TRUNCATED, TRAILING_BYTES, …) become BAD_DESCRIPTOR. */
function asBadDescriptor<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ChiveError && e.code !== 'BAD_DESCRIPTOR') throw new ChiveError('BAD_DESCRIPTOR', e.message, { cause: e });
    throw e;
  }
}

function bad(what: string): ChiveError {
  return new ChiveError('BAD_DESCRIPTOR', `chat descriptor: ${what}`);
}

function invalid(what: string): never {
  throw new ChiveError('INVALID_ARGUMENT', `chat descriptor: ${what}`);
}
