/**
 * ChaCha20-Poly1305 (RFC 8439, empty associated data) specialised to one onion cell body of
 * P − T = 493 bytes, in whole ChaCha20 blocks.
 *
 * It computes exactly what `aeadSealDetached` / `aeadOpenDetached` compute (the onion
 * vectors and the cross-checks prove it), but faster: libsodium's AEAD works on 493 bytes,
 * which ends in a partial block and misses its 8-block SIMD path, and it authenticates in
 * several pieces. Here one ChaCha20 call over 9 whole blocks (block 0 for the Poly1305 key,
 * blocks 1..8 for the body and the 16 filler bytes that follow it) and one Poly1305 call over
 * the 512-byte MAC input do the work, and the forward filler comes for free.
 *
 * Scratch buffers live in the instance; views it returns are overwritten by the next call.
 * Not a general AEAD: lengths are fixed by the wire.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { CELL_PAYLOAD_LEN, ONION_TAG_LEN } from '../wire/constants.js';

const P = CELL_PAYLOAD_LEN;
const T = ONION_TAG_LEN;
const BODY = P - T; // 493
const BLOCK = 64;
/** Block 0 (Poly1305 key) + ceil(509 / 64) = 8 blocks of body and filler. */
const STREAM_LEN = BLOCK + 8 * BLOCK; // 576
/** body ‖ pad16 ‖ le64(len AD = 0) ‖ le64(len body): 493 + 3 + 8 + 8 = 512. */
const MAC_INPUT_LEN = Math.ceil(BODY / 16) * 16 + 16;

export class CellCipher {
  private readonly stream = new Uint8Array(STREAM_LEN);
  private readonly polyKey = this.stream.subarray(0, 32);
  private readonly block0 = this.stream.subarray(0, BLOCK);
  /** After open(): the decrypted body m. After seal(): the ciphertext b. */
  readonly body = this.stream.subarray(BLOCK, BLOCK + BODY);
  /** After open(): KS[P−T : P], the forward filler. */
  readonly filler = this.stream.subarray(BLOCK + BODY, BLOCK + P);
  private readonly macInput = new Uint8Array(MAC_INPUT_LEN);
  private readonly macBody = this.macInput.subarray(0, BODY);
  /** The tag computed by the last call. */
  readonly tag = new Uint8Array(T);

  constructor(private readonly provider: CryptoProvider) {
    // le64(len AD) = 0 stays zero; le64(len body):
    let n = BODY;
    for (let i = MAC_INPUT_LEN - 8; i < MAC_INPUT_LEN; i++) {
      this.macInput[i] = n & 0xff;
      n = Math.floor(n / 256);
    }
  }

  /**
   * Checks the tag of `cell` (= t ‖ b, P bytes) under key/nonce and decrypts b into `body`
   * (with the filler after it). Returns false on a bad tag; `body` is then garbage.
   */
  open(key: Uint8Array, nonce: Uint8Array, cell: Uint8Array): boolean {
    const s = this.stream;
    const b = cell.subarray(T, P);
    s.fill(0, 0, BLOCK);
    s.set(b, BLOCK);
    s.fill(0, BLOCK + BODY);
    this.macBody.set(b);
    this.provider.chacha20Xor(key, nonce, 0, s, s);
    this.provider.poly1305(this.polyKey, this.macInput, this.tag);
    return this.provider.equal(this.tag, cell.subarray(0, T));
  }

  /** Checks only the tag of `cell` (one ChaCha20 block and one Poly1305; nothing decrypted). */
  verify(key: Uint8Array, nonce: Uint8Array, cell: Uint8Array): boolean {
    const b0 = this.block0;
    b0.fill(0);
    this.provider.chacha20Xor(key, nonce, 0, b0, b0);
    this.macBody.set(cell.subarray(T, P));
    this.provider.poly1305(this.polyKey, this.macInput, this.tag);
    return this.provider.equal(this.tag, cell.subarray(0, T));
  }

  /** Seals `m` (P − T bytes) into `out` (P bytes): out = MAC(b) ‖ b with b = m ⊕ KS. `out` may hold m at [T:]. */
  seal(key: Uint8Array, nonce: Uint8Array, m: Uint8Array, out: Uint8Array): void {
    const s = this.stream;
    s.fill(0, 0, BLOCK);
    s.set(m, BLOCK);
    s.fill(0, BLOCK + BODY);
    this.provider.chacha20Xor(key, nonce, 0, s, s);
    this.macBody.set(this.body);
    this.provider.poly1305(this.polyKey, this.macInput, this.tag);
    out.set(this.tag, 0);
    out.set(this.body, T);
  }

  /** Decrypts `cell`'s body (after a successful verify) into `body`: one ChaCha20 call from block 1. */
  decryptAfterVerify(key: Uint8Array, nonce: Uint8Array, cell: Uint8Array): void {
    const s = this.stream;
    const view = s.subarray(BLOCK, STREAM_LEN);
    view.set(cell.subarray(T, P));
    view.fill(0, BODY);
    this.provider.chacha20Xor(key, nonce, 1, view, view);
  }

  wipe(): void {
    this.stream.fill(0);
    this.macInput.fill(0, 0, BODY);
    this.tag.fill(0);
  }
}
