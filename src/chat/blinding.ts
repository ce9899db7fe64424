/**
 * Time periods and Ed25519 key blinding for chat identities (after Tor's rend-spec-v3 §A.2).
 *
 * For identity key A = a·B and time period p:
 *   h          = SHA-512(CHAT_BLIND_DOMAIN ‖ A ‖ p u64) mod ℓ       (the blinding factor)
 *   blindedPub = h·A
 *   a'         = h·a mod ℓ,  prefix' = SHA-512(CHAT_BLIND_PREFIX_DOMAIN ‖ prefix ‖ h)[0:32]
 * where (a, prefix) is the RFC 8032 expansion of the identity seed. Signatures made with
 * (a', prefix') are plain Ed25519 signatures under blindedPub, so an HSDir checks them with
 * ordinary `ed25519Verify` without learning A; keys of different periods are unlinkable to
 * anyone who does not know A.
 *
 * Deliberately not here: what is signed (src/chat/descriptor.ts), which relays store it
 * (src/chat/hsdir-ring.ts), or any clock: callers pass `nowMs` and the period length.
 */
import { ChiveError } from '../errors.js';
import { ByteWriter, concatBytes, utf8 } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { CHAT_BLIND_DOMAIN, CHAT_BLIND_PREFIX_DOMAIN, CHAT_TIME_PERIOD_MS, ED25519_KEY_LEN } from '../wire/constants.js';

const BLIND_DOMAIN = utf8(CHAT_BLIND_DOMAIN);
const BLIND_PREFIX_DOMAIN = utf8(CHAT_BLIND_PREFIX_DOMAIN);

/** The time period `nowMs` falls in: floor(nowMs / periodMs). */
export function timePeriod(nowMs: number, periodMs: number = CHAT_TIME_PERIOD_MS): number {
  if (!Number.isSafeInteger(periodMs) || periodMs <= 0) {
    throw new ChiveError('INVALID_ARGUMENT', `time period length must be a positive whole number of ms, not ${periodMs}`);
  }
  if (!Number.isFinite(nowMs) || nowMs < 0 || nowMs > Number.MAX_SAFE_INTEGER) {
    throw new ChiveError('INVALID_ARGUMENT', `time must be a non-negative number of ms, not ${nowMs}`);
  }
  return Math.floor(nowMs / periodMs);
}

/** The blinding factor h (32 bytes, little-endian, reduced mod ℓ) of `identityPub` in `period`. */
export function blindingFactor(provider: CryptoProvider, identityPub: Uint8Array, period: number): Uint8Array {
  checkKey('chat identity key', identityPub);
  const periodBytes = new ByteWriter(8).u64(checkPeriod(period)).finish();
  return provider.ed25519ScalarReduce(provider.sha512(concatBytes(BLIND_DOMAIN, identityPub, periodBytes)));
}

/**
 * The blinded public key h·A of `identityPub` in `period`. BAD_KEY when `identityPub` is
 * not a canonical Ed25519 point of prime order.
 */
export function blindedPublicKey(provider: CryptoProvider, identityPub: Uint8Array, period: number): Uint8Array {
  return provider.ed25519ScalarMultPoint(blindingFactor(provider, identityPub, period), identityPub);
}

/**
 * An Ed25519 signature of `message` by the blinded key of the identity whose 32-byte seed
 * is `identitySeed`, in `period`: `ed25519Verify(blindedPublicKey(A, period), message, sig)`
 * accepts it. The expanded and blinded secrets are zeroed before returning.
 */
export function blindedSign(provider: CryptoProvider, identitySeed: Uint8Array, period: number, message: Uint8Array): Uint8Array {
  checkKey('chat identity seed', identitySeed);
  const identityPub = provider.ed25519PublicKey(identitySeed);
  const h = blindingFactor(provider, identityPub, period);
  const expanded = provider.sha512(identitySeed);
  // RFC 8032 §5.1.5: clamp the first half; the second half is the nonce prefix.
  expanded[0]! &= 248;
  expanded[31]! &= 127;
  expanded[31]! |= 64;
  const wideScalar = new Uint8Array(64);
  wideScalar.set(expanded.subarray(0, 32));
  const scalar = provider.ed25519ScalarReduce(wideScalar);
  const blindedScalar = provider.ed25519ScalarMul(h, scalar);
  const prefixInput = concatBytes(BLIND_PREFIX_DOMAIN, expanded.subarray(32), h);
  const prefixHash = provider.sha512(prefixInput);
  try {
    return provider.ed25519SignExpanded(blindedScalar, prefixHash.subarray(0, 32), message);
  } finally {
    for (const secret of [expanded, wideScalar, scalar, blindedScalar, prefixInput, prefixHash]) secret.fill(0);
  }
}

function checkKey(what: string, key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== ED25519_KEY_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `${what} must be ${ED25519_KEY_LEN} bytes`);
  }
}

function checkPeriod(period: number): number {
  if (!Number.isSafeInteger(period) || period < 0) {
    throw new ChiveError('INVALID_ARGUMENT', `time period must be a non-negative integer, not ${period}`);
  }
  return period;
}
