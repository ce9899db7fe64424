/**
 * The crypto provider interface: the only way the rest of chive touches cryptography.
 *
 * Two implementations agree byte for byte (test/unit/crypto-providers.test.ts checks it):
 * `sodium` (libsodium through sodium-native; the default, fastest) and `noble` (audited
 * pure JS; the portable fallback and the reference). Hot-path operations write into
 * caller-provided buffers and may run in place (output === input) so that per-cell work
 * allocates nothing.
 *
 * What it deliberately is not: a protocol. No handshake, no layering, no key schedule here;
 * randomness is offered as `randomBytes` for callers to inject as their `Rng`, never used
 * implicitly by the protocol code.
 */

/** Randomness source injected into the core: returns `length` fresh random bytes. */
export type Rng = (length: number) => Uint8Array;

export type ProviderName = 'sodium' | 'noble';

export interface CryptoProvider {
  readonly name: ProviderName;

  /** X25519 public key for a 32-byte secret (clamped as RFC 7748 says). */
  x25519PublicKey(secret: Uint8Array): Uint8Array;
  /** X25519 shared secret; throws ChiveError LOW_ORDER_POINT when the output is all zero. */
  x25519(secret: Uint8Array, publicKey: Uint8Array): Uint8Array;

  /** Ed25519 public key for a 32-byte seed. */
  ed25519PublicKey(seed: Uint8Array): Uint8Array;
  /** Ed25519 signature (RFC 8032, deterministic) of `message` under the 32-byte `seed`. */
  ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  /** Strict Ed25519 verification; false (never an exception) for any malformed input. */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;

  // Ed25519 group arithmetic, for key blinding (src/chat/blinding.ts; rend-spec-v3 §A.2).
  // Scalars are 32-byte little-endian integers modulo the group order ℓ = 2^252 + 27742…;
  // points are standard 32-byte Ed25519 encodings. Nothing here clamps.

  /** `wide` (64 bytes, little-endian) reduced modulo ℓ: 32 bytes. */
  ed25519ScalarReduce(wide: Uint8Array): Uint8Array;
  /** `a · b mod ℓ` for any two 32-byte little-endian integers (reduced or not). */
  ed25519ScalarMul(a: Uint8Array, b: Uint8Array): Uint8Array;
  /**
   * `scalar · B` (B the Ed25519 base point). `scalar` must be reduced and non-zero
   * (1 ≤ scalar < ℓ), else INVALID_ARGUMENT.
   */
  ed25519ScalarMultBase(scalar: Uint8Array): Uint8Array;
  /**
   * `scalar · P` for a point P that is the canonical encoding of a point of order ℓ (else
   * BAD_KEY: not on the curve, non-canonical, small order, or with a torsion component).
   * `scalar` must be reduced and non-zero, else INVALID_ARGUMENT.
   */
  ed25519ScalarMultPoint(scalar: Uint8Array, point: Uint8Array): Uint8Array;
  /**
   * RFC 8032 Ed25519 signing with an expanded secret key given directly: the reduced,
   * non-zero `scalar` s and the 32-byte nonce `prefix`. r = SHA-512(prefix ‖ M) mod ℓ,
   * R = r·B, A = s·B, S = (r + SHA-512(R ‖ A ‖ M)·s) mod ℓ; returns R ‖ S. With
   * s = clamp(SHA-512(seed)[0:32]) mod ℓ and prefix = SHA-512(seed)[32:64] it equals
   * `ed25519Sign(seed, M)`.
   */
  ed25519SignExpanded(scalar: Uint8Array, prefix: Uint8Array, message: Uint8Array): Uint8Array;

  /**
   * ChaCha20 (RFC 8439: 32-byte key, 12-byte nonce) XOR of `input` into `output`, starting
   * at 64-byte block `counter`. `output` may be `input`; both have the same length.
   */
  chacha20Xor(key: Uint8Array, nonce: Uint8Array, counter: number, input: Uint8Array, output: Uint8Array): void;

  /**
   * ChaCha20-Poly1305 (RFC 8439) seal, detached: writes the ciphertext of `plaintext` into
   * `ciphertextOut` (may be `plaintext`) and the 16-byte tag into `tagOut`.
   */
  aeadSealDetached(
    key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null,
    plaintext: Uint8Array, ciphertextOut: Uint8Array, tagOut: Uint8Array,
  ): void;
  /**
   * ChaCha20-Poly1305 open, detached: verifies `tag` in constant time and, only if it is
   * valid, writes the plaintext into `plaintextOut` (may be `ciphertext`). Returns false on
   * a bad tag, leaving `plaintextOut` unspecified but never partly trusted.
   */
  aeadOpenDetached(
    key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null,
    ciphertext: Uint8Array, tag: Uint8Array, plaintextOut: Uint8Array,
  ): boolean;

  /**
   * One-time Poly1305 (RFC 8439 §2.5) of `message` under the 32-byte one-time `key`, written
   * into the 16-byte `tagOut`. Used with a key from ChaCha20 block 0 to check a cell's tag
   * without decrypting it (docs/PROTOCOL.md §4); compare tags with `equal`.
   */
  poly1305(key: Uint8Array, message: Uint8Array, tagOut: Uint8Array): void;

  sha256(data: Uint8Array): Uint8Array;
  sha512(data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** HKDF-SHA256 (RFC 5869) extract-then-expand. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  /** HKDF-SHA256 expand only, from a pseudo-random key. */
  hkdfExpandSha256(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;

  /** Constant-time equality of two byte strings (false when lengths differ). */
  equal(a: Uint8Array, b: Uint8Array): boolean;

  /** Cryptographically secure random bytes, for callers that inject it as their Rng. */
  randomBytes(length: number): Uint8Array;
}
