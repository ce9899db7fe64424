/**
 * The `sodium` crypto provider: libsodium through sodium-native (prebuilt binaries ship in
 * the npm package). The default, because per 509-byte cell it is ~5x faster than
 * node:crypto and ~14x faster than pure JS. HMAC / HKDF use node:crypto (OpenSSL), which
 * sodium-native does not expose and which are off the per-cell path.
 *
 * Not a place for protocol logic; construct it through `loadCryptoProvider`.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { ChiveError, wrapErrors } from '../errors.js';
import type { CryptoProvider } from './provider.js';
import { checkCounter, checkLength, checkSameLength, constantTimeEqual, rejectAllZeroSharedSecret } from './checks.js';
import { concatBytes as concat } from '../bytes.js';

/** The subset of sodium-native chive uses (sodium-native ships no types). */
export interface SodiumNative {
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void;
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean;
  crypto_stream_chacha20_ietf_xor_ic(c: Uint8Array, m: Uint8Array, n: Uint8Array, ic: number, k: Uint8Array): void;
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
    c: Uint8Array, mac: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array,
  ): number;
  crypto_aead_chacha20poly1305_ietf_decrypt_detached(
    m: Uint8Array, nsec: null, c: Uint8Array, mac: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array,
  ): void;
  crypto_onetimeauth(out: Uint8Array, m: Uint8Array, k: Uint8Array): void;
  crypto_hash_sha256(out: Uint8Array, m: Uint8Array): void;
  crypto_hash_sha512(out: Uint8Array, m: Uint8Array): void;
  crypto_core_ed25519_scalar_reduce(r: Uint8Array, s: Uint8Array): void;
  crypto_core_ed25519_scalar_add(z: Uint8Array, x: Uint8Array, y: Uint8Array): void;
  crypto_scalarmult_ed25519_base_noclamp(q: Uint8Array, n: Uint8Array): void;
  crypto_scalarmult_ed25519_noclamp(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
  sodium_memcmp(a: Uint8Array, b: Uint8Array): boolean;
  randombytes_buf(b: Uint8Array): void;
}

/**
 * The native binding under sodium-native's JS wrappers, for the per-cell calls only: the
 * wrappers re-check every argument with assert() on each call, which the provider has
 * already checked; skipping them is a measurable share of a relay's per-cell cost.
 */
export interface SodiumBinding {
  crypto_stream_chacha20_ietf_xor_ic(c: Uint8Array, m: Uint8Array, n: Uint8Array, ic: number, k: Uint8Array): number;
  crypto_onetimeauth(out: Uint8Array, m: Uint8Array, k: Uint8Array): number;
}

export function createSodiumProvider(sodium: SodiumNative, binding?: SodiumBinding): CryptoProvider {
  const xorIc = binding
    ? (c: Uint8Array, m: Uint8Array, n: Uint8Array, ic: number, k: Uint8Array) => {
        if (binding.crypto_stream_chacha20_ietf_xor_ic(c, m, n, ic, k) !== 0) throw new ChiveError('CRYPTO_FAILURE', 'ChaCha20 failed');
      }
    : (c: Uint8Array, m: Uint8Array, n: Uint8Array, ic: number, k: Uint8Array) => sodium.crypto_stream_chacha20_ietf_xor_ic(c, m, n, ic, k);
  const onetimeauth = binding
    ? (out: Uint8Array, m: Uint8Array, k: Uint8Array) => {
        if (binding.crypto_onetimeauth(out, m, k) !== 0) throw new ChiveError('CRYPTO_FAILURE', 'Poly1305 failed');
      }
    : (out: Uint8Array, m: Uint8Array, k: Uint8Array) => sodium.crypto_onetimeauth(out, m, k);
  const sha512Of = (data: Uint8Array) => {
    const out = new Uint8Array(64);
    sodium.crypto_hash_sha512(out, data);
    return out;
  };
  const reduce = (wide: Uint8Array) => {
    const out = new Uint8Array(32);
    sodium.crypto_core_ed25519_scalar_reduce(out, wide);
    wide.fill(0);
    return out;
  };
  // libsodium has crypto_core_ed25519_scalar_mul, but sodium-native does not expose it:
  // multiply in JS (fixed loops, no secret-dependent branches), reduce in libsodium.
  const scalarMul = (a: Uint8Array, b: Uint8Array) => reduce(mulWide(a, b));
  const baseMult = (scalar: Uint8Array) => {
    const out = new Uint8Array(32);
    // Only a scalar ≡ 0 mod ℓ fails (identity result); callers pass 1 ≤ scalar < ℓ.
    wrapErrors('CRYPTO_FAILURE', 'Ed25519 base point multiplication', () => sodium.crypto_scalarmult_ed25519_base_noclamp(out, scalar));
    return out;
  };
  return {
    name: 'sodium',

    x25519PublicKey(secret) {
      checkLength('X25519 secret', secret, 32);
      const out = new Uint8Array(32);
      sodium.crypto_scalarmult_base(out, secret);
      return out;
    },

    x25519(secret, publicKey) {
      checkLength('X25519 secret', secret, 32);
      checkLength('X25519 public key', publicKey, 32);
      const out = new Uint8Array(32);
      try {
        sodium.crypto_scalarmult(out, secret, publicKey);
      } catch (e) {
        // libsodium refuses an all-zero result (a low-order point): that is its only failure.
        throw new ChiveError('LOW_ORDER_POINT', 'X25519 refused a low-order public key', { cause: e });
      }
      return rejectAllZeroSharedSecret(out);
    },

    ed25519PublicKey(seed) {
      checkLength('Ed25519 seed', seed, 32);
      const pk = new Uint8Array(32);
      const sk = new Uint8Array(64);
      sodium.crypto_sign_seed_keypair(pk, sk, seed);
      sk.fill(0);
      return pk;
    },

    ed25519Sign(seed, message) {
      checkLength('Ed25519 seed', seed, 32);
      const pk = new Uint8Array(32);
      const sk = new Uint8Array(64);
      sodium.crypto_sign_seed_keypair(pk, sk, seed);
      const sig = new Uint8Array(64);
      sodium.crypto_sign_detached(sig, message, sk);
      sk.fill(0);
      return sig;
    },

    ed25519Verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      try {
        return sodium.crypto_sign_verify_detached(signature, message, publicKey);
      } catch {
        return false;
      }
    },

    ed25519ScalarReduce(wide) {
      checkLength('Ed25519 wide scalar', wide, 64);
      const out = new Uint8Array(32);
      sodium.crypto_core_ed25519_scalar_reduce(out, wide);
      return out;
    },

    ed25519ScalarMul(a, b) {
      checkLength('Ed25519 scalar', a, 32);
      checkLength('Ed25519 scalar', b, 32);
      return scalarMul(a, b);
    },

    ed25519ScalarMultBase(scalar) {
      checkReducedNonZeroScalar('Ed25519 scalar', scalar);
      return baseMult(scalar);
    },

    ed25519ScalarMultPoint(scalar, point) {
      checkReducedNonZeroScalar('Ed25519 scalar', scalar);
      checkLength('Ed25519 point', point, 32);
      const out = new Uint8Array(32);
      try {
        sodium.crypto_scalarmult_ed25519_noclamp(out, scalar, point);
      } catch (e) {
        // With 1 ≤ scalar < ℓ the only failure left is the point: non-canonical, not on the
        // curve, small order, or outside the prime-order subgroup.
        throw new ChiveError('BAD_KEY', 'Ed25519 point: not a canonical encoding of a point of prime order ℓ', { cause: e });
      }
      return out;
    },

    ed25519SignExpanded(scalar, prefix, message) {
      checkReducedNonZeroScalar('Ed25519 expanded scalar', scalar);
      checkLength('Ed25519 prefix', prefix, 32);
      const publicKey = baseMult(scalar);
      const r = reduce(sha512Of(concat(prefix, message)));
      const R = baseMult(r);
      const k = reduce(sha512Of(concat(R, publicKey, message)));
      const ks = scalarMul(k, scalar);
      const S = new Uint8Array(32);
      sodium.crypto_core_ed25519_scalar_add(S, r, ks);
      r.fill(0);
      ks.fill(0);
      return concat(R, S);
    },

    chacha20Xor(key, nonce, counter, input, output) {
      checkLength('ChaCha20 key', key, 32);
      checkLength('ChaCha20 nonce', nonce, 12);
      checkCounter(counter);
      checkSameLength(input, output);
      xorIc(output, input, nonce, counter, key);
    },

    aeadSealDetached(key, nonce, ad, plaintext, ciphertextOut, tagOut) {
      checkLength('AEAD key', key, 32);
      checkLength('AEAD nonce', nonce, 12);
      checkLength('AEAD tag', tagOut, 16);
      checkSameLength(plaintext, ciphertextOut);
      wrapErrors('CRYPTO_FAILURE', 'ChaCha20-Poly1305 seal', () =>
        sodium.crypto_aead_chacha20poly1305_ietf_encrypt_detached(ciphertextOut, tagOut, plaintext, ad, null, nonce, key),
      );
    },

    aeadOpenDetached(key, nonce, ad, ciphertext, tag, plaintextOut) {
      checkLength('AEAD key', key, 32);
      checkLength('AEAD nonce', nonce, 12);
      checkSameLength(ciphertext, plaintextOut);
      if (tag.length !== 16) return false;
      try {
        sodium.crypto_aead_chacha20poly1305_ietf_decrypt_detached(plaintextOut, null, ciphertext, tag, ad, nonce, key);
        return true;
      } catch {
        return false;
      }
    },

    poly1305(key, message, tagOut) {
      checkLength('Poly1305 key', key, 32);
      checkLength('Poly1305 tag', tagOut, 16);
      onetimeauth(tagOut, message, key);
    },

    sha256(data) {
      const out = new Uint8Array(32);
      sodium.crypto_hash_sha256(out, data);
      return out;
    },

    sha512(data) {
      const out = new Uint8Array(64);
      sodium.crypto_hash_sha512(out, data);
      return out;
    },

    hmacSha256(key, data) {
      return new Uint8Array(createHmac('sha256', key).update(data).digest());
    },

    hkdfSha256(ikm, salt, info, length) {
      return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
    },

    hkdfExpandSha256(prk, info, length) {
      return hkdfExpand(prk, info, length);
    },

    equal(a, b) {
      if (a.length !== b.length) return false;
      if (a.length === 0) return true;
      // Tags and keys (≤ 64 bytes) in JS: no early exit, and cheaper than a native call.
      if (a.length <= 64) return constantTimeEqual(a, b);
      return sodium.sodium_memcmp(a, b);
    },

    randomBytes(length) {
      const out = new Uint8Array(length);
      if (length > 0) sodium.randombytes_buf(out);
      return out;
    },
  };
}

/** RFC 5869 expand with node:crypto HMAC (node's hkdfSync always extracts first). */
function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 255 * 32) {
    throw new ChiveError('INVALID_ARGUMENT', `HKDF length out of range: ${length}`);
  }
  const out = new Uint8Array(length);
  let prev = new Uint8Array(0);
  for (let i = 1, o = 0; o < length; i++) {
    const h = createHmac('sha256', prk);
    h.update(prev);
    h.update(info);
    h.update(Uint8Array.of(i));
    prev = new Uint8Array(h.digest());
    out.set(prev.subarray(0, Math.min(32, length - o)), o);
    o += 32;
  }
  return out;
}

/** ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const ED25519_ORDER_LE = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
]);

/**
 * Refuses (INVALID_ARGUMENT) a scalar that is not 32 bytes with 1 ≤ s < ℓ. Runs in time
 * independent of the (secret) value: s < ℓ exactly when s − ℓ borrows out of the top byte.
 */
function checkReducedNonZeroScalar(what: string, scalar: Uint8Array): void {
  checkLength(what, scalar, 32);
  let borrow = 0;
  let any = 0;
  for (let i = 0; i < 32; i++) {
    borrow = ((scalar[i]! - ED25519_ORDER_LE[i]! - borrow) >>> 31) & 1;
    any |= scalar[i]!;
  }
  if ((borrow & (any !== 0 ? 1 : 0)) === 0) {
    throw new ChiveError('INVALID_ARGUMENT', `${what} must be reduced and non-zero (1 ≤ s < ℓ)`);
  }
}

/** The 64-byte little-endian product of two 32-byte little-endian integers (schoolbook, fixed loops). */
function mulWide(a: Uint8Array, b: Uint8Array): Uint8Array {
  // Each column sums at most 32 products of 255·255 plus a carry: far below 2^32.
  const columns = new Uint32Array(64);
  for (let i = 0; i < 32; i++) {
    for (let j = 0; j < 32; j++) columns[i + j]! += a[i]! * b[j]!;
  }
  const out = new Uint8Array(64);
  let carry = 0;
  for (let k = 0; k < 64; k++) {
    const v = columns[k]! + carry;
    out[k] = v & 0xff;
    carry = v >>> 8;
  }
  columns.fill(0);
  return out;
}
