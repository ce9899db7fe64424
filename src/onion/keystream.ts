/**
 * Windows into a hop's per-cell ChaCha20 keystream, and the small byte helpers the onion
 * layers share.
 *
 * The onion construction (ARCHITECTURE.md appendix, docs/PROTOCOL.md §4) writes
 * `KS(k, n)[a : b]` for the ChaCha20 keystream under key `k` and nonce `n` (the per-cell
 * counter), counted from block 1 (block 0 keys the Poly1305 MAC). A relay needs only its
 * filler `KS[P−T : P]`; the client needs the last few tags' worth of bytes of each hop's
 * stream. `KeystreamWindow` computes exactly the blocks covering `[start, end)` into
 * buffers it preallocates once, so a hot path allocates nothing:
 * the 16-byte relay filler `[493, 509)` is bytes 45..60 of block 1 + ⌊493/64⌋ = 8.
 * It also offers `CELL_STREAM_LEN`, the payload length rounded up to whole blocks.
 *
 * Not the layering itself (onion/relay-layer.ts, onion/client-layers.ts), and holds no keys.
 */
import { ChiveError } from '../errors.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { CELL_PAYLOAD_LEN, ONION_KEY_LEN, RECOGNIZED_MARKER_LEN } from '../wire/constants.js';

/** ChaCha20 block size (RFC 8439); a property of the cipher, not a wire number. */
const CHACHA_BLOCK_LEN = 64;
/** The first keystream block used for data; block 0 keys Poly1305 (RFC 8439 §2.8). */
const FIRST_DATA_BLOCK = 1;

/**
 * P rounded up to whole ChaCha20 blocks (512): XORing a keystream over a 512-byte copy of a
 * cell is about twice as fast with libsodium as over the 509 bytes themselves.
 */
export const CELL_STREAM_LEN = Math.ceil(CELL_PAYLOAD_LEN / CHACHA_BLOCK_LEN) * CHACHA_BLOCK_LEN;

/** `KS(k, n)[start : end)` (offsets from the start of block 1), recomputed per cell. */
export class KeystreamWindow {
  /** ChaCha20 block counter of the block holding byte `start`. */
  readonly firstBlock: number;
  private readonly zeros: Uint8Array;
  private readonly scratch: Uint8Array;
  private readonly window: Uint8Array;

  constructor(private readonly provider: CryptoProvider, readonly start: number, readonly end: number) {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end <= start || end > CELL_PAYLOAD_LEN) {
      throw new ChiveError('INVALID_ARGUMENT', `bad keystream window [${start}, ${end})`);
    }
    const blockIndex = Math.floor(start / CHACHA_BLOCK_LEN);
    const skip = start - blockIndex * CHACHA_BLOCK_LEN;
    this.firstBlock = FIRST_DATA_BLOCK + blockIndex;
    // Whole blocks only: libsodium takes a much slower path for a partial final block.
    const blocks = Math.ceil((skip + end - start) / CHACHA_BLOCK_LEN);
    this.zeros = new Uint8Array(blocks * CHACHA_BLOCK_LEN);
    this.scratch = new Uint8Array(blocks * CHACHA_BLOCK_LEN);
    this.window = this.scratch.subarray(skip, skip + end - start);
  }

  /**
   * The window's `end − start` keystream bytes under `key` / `nonce`. The returned view is
   * owned by this object and overwritten by the next call.
   */
  compute(key: Uint8Array, nonce: Uint8Array): Uint8Array {
    this.provider.chacha20Xor(key, nonce, this.firstBlock, this.zeros, this.scratch);
    return this.window;
  }
}

/** True when `m` begins with the recognised marker (RECOGNIZED_MARKER_LEN zero bytes). */
export function startsWithMarker(m: Uint8Array, offset = 0): boolean {
  let acc = 0;
  for (let i = 0; i < RECOGNIZED_MARKER_LEN; i++) acc |= m[offset + i]!;
  return acc === 0;
}

/** Checks that an onion payload is exactly one cell payload long. */
export function checkPayloadLength(payload: Uint8Array, what: string): void {
  if (!(payload instanceof Uint8Array) || payload.length !== CELL_PAYLOAD_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `${what}: an onion payload must be ${CELL_PAYLOAD_LEN} bytes`);
  }
}

/** A private copy of an ONION_KEY_LEN-byte onion key (so that `destroy()` can zero it). */
export function copyOnionKey(key: Uint8Array, what: string): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== ONION_KEY_LEN) {
    throw new ChiveError('BAD_KEY', `${what} must be ${ONION_KEY_LEN} bytes`);
  }
  return key.slice();
}

/** Calls `rng(length)` and checks it returned exactly `length` bytes. */
export function drawRandom(rng: (n: number) => Uint8Array, length: number): Uint8Array {
  const bytes = rng(length);
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new ChiveError('INVALID_ARGUMENT', `rng returned ${bytes?.length} bytes instead of ${length}`);
  }
  return bytes;
}
