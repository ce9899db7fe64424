/**
 * Noise CipherState and SymmetricState (Noise Protocol Framework rev 34, §5.1 and §5.2)
 * for ChaChaPoly / SHA-256, over the injected CryptoProvider.
 *
 * - `CipherState`: a key and a 64-bit nonce counter. ChaChaPoly nonces are 32 zero bits ‖
 *   the counter as u64 little-endian (`writeCounterNonce`). chive refuses the nonce
 *   NOISE_MAX_NONCE (= 2^53 − 1, where JS numbers stop being exact) with NONCE_EXHAUSTED,
 *   long before Noise's reserved 2^64 − 1. Any failed decryption *closes* the state (the key
 *   is zeroed and every later call throws CIPHER_CLOSED): chive never retries after a bad
 *   tag, because a link or handshake that sees one is torn down anyway.
 * - `SymmetricState`: chaining key ck, handshake hash h, and a CipherState; MixKey, MixHash,
 *   EncryptAndHash, DecryptAndHash and Split exactly as the spec says, with HKDF built from
 *   provider.hmacSha256 (§4.3).
 *
 * Deliberately not here: handshake patterns and tokens (noise/handshake.ts), framing
 * (link/frames.ts), Rekey() and PSK modes (chive uses neither), and any I/O.
 */
import { ChiveError } from '../errors.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { writeCounterNonce } from '../onion/hop-keys.js';
import { AEAD_TAG_LEN, NOISE_HASH_LEN, NOISE_MAX_NONCE } from '../wire/constants.js';

/** Bytes of a ChaChaPoly key (the Noise cipher key, and each half of Split()). */
const CIPHER_KEY_LEN = 32;
const EMPTY = new Uint8Array(0);

/**
 * A Noise CipherState: InitializeKey / HasKey / EncryptWithAd / DecryptWithAd, plus the
 * detached in-place forms the link frame codec uses on its hot path.
 */
export class CipherState {
  private key: Uint8Array | null = null;
  private n = 0;
  private closed = false;
  /** Reused for every nonce, so the per-message path allocates only its output. */
  private readonly nonceBuf = new Uint8Array(12);

  constructor(private readonly provider: CryptoProvider, key?: Uint8Array) {
    if (key !== undefined) this.initializeKey(key);
  }

  /** InitializeKey(k): sets the key (copied) and resets the nonce to 0. */
  initializeKey(key: Uint8Array): void {
    if (key.length !== CIPHER_KEY_LEN) {
      throw new ChiveError('INVALID_ARGUMENT', `Noise cipher key must be ${CIPHER_KEY_LEN} bytes`);
    }
    this.checkOpen();
    this.key?.fill(0);
    this.key = key.slice();
    this.n = 0;
  }

  /** HasKey(): whether a key is set (false before the first MixKey). */
  hasKey(): boolean {
    return this.key !== null;
  }

  /** The next nonce this state will use (for tests and diagnostics). */
  get nonce(): number {
    return this.n;
  }

  /** False once a decryption failed or `close()` was called. */
  get usable(): boolean {
    return !this.closed;
  }

  /**
   * SetNonce(n), for tests of the exhaustion guard only: real code never moves a nonce.
   */
  dangerouslySetNonce(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > NOISE_MAX_NONCE) {
      throw new ChiveError('INVALID_ARGUMENT', `nonce out of range: ${n}`);
    }
    this.n = n;
  }

  /** Zeroes the key; every later use throws CIPHER_CLOSED. Idempotent. */
  close(): void {
    this.key?.fill(0);
    this.key = null;
    this.closed = true;
  }

  /**
   * EncryptWithAd(ad, plaintext): ciphertext ‖ tag in a new buffer, or a copy of the
   * plaintext when no key is set yet (as the spec says).
   */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    this.checkOpen();
    if (this.key === null) return plaintext.slice();
    const out = new Uint8Array(plaintext.length + AEAD_TAG_LEN);
    this.sealInto(ad, plaintext, out);
    return out;
  }

  /**
   * DecryptWithAd(ad, ciphertext ‖ tag): the plaintext in a new buffer (or a copy of the
   * input when no key is set). A bad tag closes this state and throws BAD_MAC.
   */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    this.checkOpen();
    if (this.key === null) return ciphertext.slice();
    if (ciphertext.length < AEAD_TAG_LEN) {
      this.close();
      throw new ChiveError('BAD_MAC', 'Noise ciphertext shorter than its tag');
    }
    const body = ciphertext.length - AEAD_TAG_LEN;
    const out = new Uint8Array(body);
    this.openInto(ad, ciphertext.subarray(0, body), ciphertext.subarray(body), out);
    return out;
  }

  /**
   * Seals `plaintext` into `out` = ciphertext ‖ tag (`out.length` = plaintext + 16). The
   * plaintext may be `out.subarray(0, plaintext.length)` (in place). Requires a key.
   */
  sealInto(ad: Uint8Array | null, plaintext: Uint8Array, out: Uint8Array): void {
    const key = this.requireKey();
    if (out.length !== plaintext.length + AEAD_TAG_LEN) {
      throw new ChiveError('INVALID_ARGUMENT', 'sealed output must be plaintext length + tag');
    }
    const nonce = this.nextNonce();
    const body = plaintext.length;
    this.provider.aeadSealDetached(key, nonce, ad, plaintext, out.subarray(0, body), out.subarray(body));
    this.n += 1;
  }

  /**
   * Opens detached `ciphertext` + `tag` into `out` (same length as ciphertext; may be the
   * ciphertext itself). A bad tag closes this state and throws BAD_MAC; `out` is then
   * unspecified and must not be read.
   */
  openInto(ad: Uint8Array | null, ciphertext: Uint8Array, tag: Uint8Array, out: Uint8Array): void {
    const key = this.requireKey();
    const nonce = this.nextNonce();
    if (!this.provider.aeadOpenDetached(key, nonce, ad, ciphertext, tag, out)) {
      this.close();
      throw new ChiveError('BAD_MAC', 'Noise message failed authentication');
    }
    this.n += 1;
  }

  private requireKey(): Uint8Array {
    this.checkOpen();
    if (this.key === null) throw new ChiveError('INVALID_ARGUMENT', 'Noise CipherState has no key');
    return this.key;
  }

  private nextNonce(): Uint8Array {
    if (this.n >= NOISE_MAX_NONCE) {
      throw new ChiveError('NONCE_EXHAUSTED', `Noise nonce ${this.n} reached the limit ${NOISE_MAX_NONCE}`);
    }
    return writeCounterNonce(this.nonceBuf, this.n);
  }

  private checkOpen(): void {
    if (this.closed) throw new ChiveError('CIPHER_CLOSED', 'Noise CipherState is closed');
  }
}

/** Noise HKDF (§4.3) with HMAC-SHA256: two or three 32-byte outputs chained from `ck`. */
export function noiseHkdf(provider: CryptoProvider, chainingKey: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
  const tempKey = provider.hmacSha256(chainingKey, ikm);
  const out1 = provider.hmacSha256(tempKey, Uint8Array.of(0x01));
  const out2 = provider.hmacSha256(tempKey, concat2(out1, Uint8Array.of(0x02)));
  const result = [out1, out2];
  if (outputs === 3) result.push(provider.hmacSha256(tempKey, concat2(out2, Uint8Array.of(0x03))));
  tempKey.fill(0);
  return result;
}

/** A Noise SymmetricState: ck, h and the handshake CipherState. */
export class SymmetricState {
  private ck: Uint8Array;
  private h: Uint8Array;
  private readonly cipher: CipherState;

  /** InitializeSymmetric(protocolName). */
  constructor(private readonly provider: CryptoProvider, protocolName: string) {
    const name = new TextEncoder().encode(protocolName);
    if (name.length <= NOISE_HASH_LEN) {
      this.h = new Uint8Array(NOISE_HASH_LEN);
      this.h.set(name);
    } else {
      this.h = provider.sha256(name);
    }
    this.ck = this.h.slice();
    this.cipher = new CipherState(provider);
  }

  /** MixKey(ikm): ck, k = HKDF(ck, ikm, 2); the handshake cipher takes k. */
  mixKey(ikm: Uint8Array): void {
    const [ck, k] = noiseHkdf(this.provider, this.ck, ikm, 2) as [Uint8Array, Uint8Array];
    this.ck.fill(0);
    this.ck = ck;
    this.cipher.initializeKey(k);
    k.fill(0);
  }

  /** MixHash(data): h = SHA-256(h ‖ data). */
  mixHash(data: Uint8Array): void {
    this.h = this.provider.sha256(concat2(this.h, data));
  }

  /** Whether the handshake cipher has a key yet. */
  hasKey(): boolean {
    return this.cipher.hasKey();
  }

  /** GetHandshakeHash(): a copy of h. */
  handshakeHash(): Uint8Array {
    return this.h.slice();
  }

  /** EncryptAndHash(plaintext): encrypt with ad = h, then MixHash(ciphertext). */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher.encryptWithAd(this.h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /** DecryptAndHash(ciphertext): decrypt with ad = h (BAD_MAC on failure), then MixHash. */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cipher.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /**
   * Split(): two CipherStates from HKDF(ck, "", 2): the first for initiator → responder,
   * the second for responder → initiator. Zeroes ck and closes the handshake cipher.
   */
  split(): [CipherState, CipherState] {
    const [k1, k2] = noiseHkdf(this.provider, this.ck, EMPTY, 2) as [Uint8Array, Uint8Array];
    const c1 = new CipherState(this.provider, k1);
    const c2 = new CipherState(this.provider, k2);
    k1.fill(0);
    k2.fill(0);
    this.destroy();
    return [c1, c2];
  }

  /** Zeroes ck and the handshake key (after Split, or when a handshake fails). */
  destroy(): void {
    this.ck.fill(0);
    this.cipher.close();
  }
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
