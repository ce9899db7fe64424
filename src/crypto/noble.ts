/**
 * The `noble` crypto provider: @noble/curves, @noble/ciphers and @noble/hashes (audited,
 * pure JS). The portable fallback where sodium-native cannot load, and the reference the
 * sodium provider is cross-checked against. About 14x slower per cell than sodium.
 *
 * noble throws its own exceptions (e.g. on a low-order X25519 point); every one is wrapped
 * into a ChiveError here. Not a place for protocol logic.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { x25519 as nobleX25519, ed25519 as nobleEd25519 } from '@noble/curves/ed25519.js';
import { chacha20, chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { hkdf, expand } from '@noble/hashes/hkdf.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { ChiveError, wrapErrors } from '../errors.js';
import { concatBytes } from '../bytes.js';
import type { CryptoProvider } from './provider.js';
import {
  checkCounter, checkLength, checkSameLength, constantTimeEqual, rejectAllZeroSharedSecret,
} from './checks.js';

export function createNobleProvider(): CryptoProvider {
  return {
    name: 'noble',

    x25519PublicKey(secret) {
      checkLength('X25519 secret', secret, 32);
      return wrapErrors('BAD_KEY', 'X25519 public key', () => nobleX25519.getPublicKey(secret));
    },

    x25519(secret, publicKey) {
      checkLength('X25519 secret', secret, 32);
      checkLength('X25519 public key', publicKey, 32);
      let shared: Uint8Array;
      try {
        shared = nobleX25519.getSharedSecret(secret, publicKey);
      } catch (e) {
        // noble refuses an all-zero result (a low-order point): its only failure here.
        throw new ChiveError('LOW_ORDER_POINT', 'X25519 refused a low-order public key', { cause: e });
      }
      return rejectAllZeroSharedSecret(shared);
    },

    ed25519PublicKey(seed) {
      checkLength('Ed25519 seed', seed, 32);
      return wrapErrors('BAD_KEY', 'Ed25519 public key', () => nobleEd25519.getPublicKey(seed));
    },

    ed25519Sign(seed, message) {
      checkLength('Ed25519 seed', seed, 32);
      return wrapErrors('CRYPTO_FAILURE', 'Ed25519 sign', () => nobleEd25519.sign(message, seed));
    },

    ed25519Verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      try {
        // Strict RFC 8032 verification, as libsodium does (no ZIP-215 leniency).
        return nobleEd25519.verify(signature, message, publicKey, { zip215: false });
      } catch {
        return false;
      }
    },

    ed25519ScalarReduce(wide) {
      checkLength('Ed25519 wide scalar', wide, 64);
      return numberToBytesLE(bytesToNumberLE(wide) % ED25519_ORDER, 32);
    },

    ed25519ScalarMul(a, b) {
      checkLength('Ed25519 scalar', a, 32);
      checkLength('Ed25519 scalar', b, 32);
      return numberToBytesLE((bytesToNumberLE(a) * bytesToNumberLE(b)) % ED25519_ORDER, 32);
    },

    ed25519ScalarMultBase(scalar) {
      const n = reducedNonZeroScalar('Ed25519 scalar', scalar);
      return EdPoint.BASE.multiply(n).toBytes();
    },

    ed25519ScalarMultPoint(scalar, point) {
      const n = reducedNonZeroScalar('Ed25519 scalar', scalar);
      return primeOrderPoint(point).multiply(n).toBytes();
    },

    ed25519SignExpanded(scalar, prefix, message) {
      const s = reducedNonZeroScalar('Ed25519 expanded scalar', scalar);
      checkLength('Ed25519 prefix', prefix, 32);
      return wrapErrors('CRYPTO_FAILURE', 'Ed25519 sign (expanded key)', () => {
        const publicKey = EdPoint.BASE.multiply(s).toBytes();
        const r = bytesToNumberLE(sha512(concatBytes(prefix, message))) % ED25519_ORDER;
        const R = EdPoint.BASE.multiply(r).toBytes();
        const k = bytesToNumberLE(sha512(concatBytes(R, publicKey, message))) % ED25519_ORDER;
        return concatBytes(R, numberToBytesLE((r + k * s) % ED25519_ORDER, 32));
      });
    },

    chacha20Xor(key, nonce, counter, input, output) {
      checkLength('ChaCha20 key', key, 32);
      checkLength('ChaCha20 nonce', nonce, 12);
      checkCounter(counter);
      checkSameLength(input, output);
      const out = chacha20(key, nonce, input, undefined, counter);
      output.set(out);
    },

    aeadSealDetached(key, nonce, ad, plaintext, ciphertextOut, tagOut) {
      checkLength('AEAD key', key, 32);
      checkLength('AEAD nonce', nonce, 12);
      checkLength('AEAD tag', tagOut, 16);
      checkSameLength(plaintext, ciphertextOut);
      const sealed = wrapErrors('CRYPTO_FAILURE', 'ChaCha20-Poly1305 seal', () =>
        chacha20poly1305(key, nonce, ad ?? undefined).encrypt(plaintext),
      );
      ciphertextOut.set(sealed.subarray(0, plaintext.length));
      tagOut.set(sealed.subarray(plaintext.length));
    },

    aeadOpenDetached(key, nonce, ad, ciphertext, tag, plaintextOut) {
      checkLength('AEAD key', key, 32);
      checkLength('AEAD nonce', nonce, 12);
      checkSameLength(ciphertext, plaintextOut);
      if (tag.length !== 16) return false;
      const joined = new Uint8Array(ciphertext.length + 16);
      joined.set(ciphertext);
      joined.set(tag, ciphertext.length);
      let opened: Uint8Array;
      try {
        opened = chacha20poly1305(key, nonce, ad ?? undefined).decrypt(joined);
      } catch {
        return false;
      }
      plaintextOut.set(opened);
      return true;
    },

    poly1305(key, message, tagOut) {
      checkLength('Poly1305 key', key, 32);
      checkLength('Poly1305 tag', tagOut, 16);
      tagOut.set(poly1305(message, key));
    },

    sha256: (data) => sha256(data),
    sha512: (data) => sha512(data),
    hmacSha256: (key, data) => hmac(sha256, key, data),
    hkdfSha256(ikm, salt, info, length) {
      return wrapErrors('INVALID_ARGUMENT', 'HKDF', () => hkdf(sha256, ikm, salt, info, length));
    },
    hkdfExpandSha256(prk, info, length) {
      return wrapErrors('INVALID_ARGUMENT', 'HKDF expand', () => expand(sha256, prk, info, length));
    },

    equal: constantTimeEqual,

    randomBytes(length) {
      return new Uint8Array(nodeRandomBytes(length));
    },
  };
}

const EdPoint = nobleEd25519.Point;
/** ℓ, the order of the Ed25519 base point. */
const ED25519_ORDER = EdPoint.Fn.ORDER;

/** A 32-byte little-endian scalar that must satisfy 1 ≤ s < ℓ (INVALID_ARGUMENT otherwise). */
function reducedNonZeroScalar(what: string, scalar: Uint8Array): bigint {
  checkLength(what, scalar, 32);
  const n = bytesToNumberLE(scalar);
  if (n === 0n || n >= ED25519_ORDER) {
    throw new ChiveError('INVALID_ARGUMENT', `${what} must be reduced and non-zero (1 ≤ s < ℓ)`);
  }
  return n;
}

/** The point a 32-byte encoding names, if canonical and of order ℓ (BAD_KEY otherwise), as libsodium checks. */
function primeOrderPoint(encoding: Uint8Array): InstanceType<typeof EdPoint> {
  checkLength('Ed25519 point', encoding, 32);
  let point: InstanceType<typeof EdPoint>;
  try {
    point = EdPoint.fromBytes(encoding, false);
  } catch (e) {
    throw new ChiveError('BAD_KEY', 'Ed25519 point: not a canonical encoding of a curve point', { cause: e });
  }
  if (point.isSmallOrder() || !point.isTorsionFree()) {
    throw new ChiveError('BAD_KEY', 'Ed25519 point: not of prime order ℓ (small order or torsion component)');
  }
  return point;
}
