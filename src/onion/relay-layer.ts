/**
 * One relay's onion layer for one circuit: the hop side of chive's tagging-resistant relay
 * crypto (ARCHITECTURE.md appendix; docs/PROTOCOL.md §4).
 *
 * Forward (client → hop), for a payload `X = t ‖ b` (|t| = ONION_TAG_LEN = T, |b| = P − T,
 * P = CELL_PAYLOAD_LEN) and this hop's forward counter `c`:
 *   - the tag must be `MAC(kf, c, b)` (ChaCha20-Poly1305 with empty associated data and
 *     nonce = writeCounterNonce(c)), else CIRCUIT_TAG_MISMATCH and nothing changes;
 *   - `m = b ⊕ KS(kf, c)[0 : P−T]`, `c += 1`;
 *   - `m` starting with RECOGNIZED_MARKER_LEN zero bytes is for this hop; otherwise the
 *     payload becomes `m ‖ KS(kf, c)[P−T : P]` (this hop's filler) for the next hop.
 * Backward (hop → client), with this hop's backward counter `d`:
 *   - originate: `m = marker ‖ body ‖ random`, `X = MAC(ko, d, b) ‖ b` with
 *     `b = m ⊕ KS(ko, d)`; `d += 1`;
 *   - relay: `X ⊕= KS(kr, d)[0 : P]`; `d += 1`.
 *
 * processForward and relayBackward work in place and allocate nothing per cell (the
 * nonce and a CellCipher with its scratch are preallocated here).
 *
 * Not here: what to do with a recognised body (relay message codec), where to forward
 * (circuit table), or destroying the circuit on an error (the caller does that).
 */
import { ChiveError } from '../errors.js';
import type { CryptoProvider, Rng } from '../crypto/provider.js';
import { CELL_PAYLOAD_LEN, ONION_BODY_LEN, ONION_TAG_LEN, RECOGNIZED_MARKER_LEN } from '../wire/constants.js';
import { writeCounterNonce, type HopKeys } from './hop-keys.js';
import { CellCipher } from './cell-cipher.js';
import { CELL_STREAM_LEN, checkPayloadLength, copyOnionKey, drawRandom, startsWithMarker } from './keystream.js';

const P = CELL_PAYLOAD_LEN;
const T = ONION_TAG_LEN;
/** Per-cell nonce size (RFC 8439 ChaCha20). */
const NONCE_LEN = 12;
/** The first keystream block used for data (block 0 keys Poly1305). */
const FIRST_DATA_BLOCK = 1;

/** Outcome of a forward cell at one hop. */
export type ForwardResult =
  /** The cell is for this hop; `body` is a view into the payload: `m` after the marker (ONION_BODY_LEN bytes). */
  | { readonly recognized: true; readonly body: Uint8Array }
  /** Not for this hop: the payload now holds `m ‖ filler`; forward it to the next hop. */
  | { readonly recognized: false };

const NOT_RECOGNIZED: ForwardResult = Object.freeze({ recognized: false });

/**
 * Per-call scratch of relay layers: one per relay (per thread), shared by all its circuits,
 * so a circuit's own state is only its keys, counters and last tags (about 200 bytes). The
 * relay is single-threaded and no call keeps the scratch past its return.
 */
export class OnionScratch {
  readonly nonce = new Uint8Array(NONCE_LEN);
  /** Builds originated cells: m at work[T:]. */
  readonly work = new Uint8Array(P);
  readonly workBody = this.work.subarray(T);
  /** A whole-block copy of a backward cell for relayBackward. */
  readonly stream = new Uint8Array(CELL_STREAM_LEN);
  readonly streamCell = this.stream.subarray(0, P);
  /** ChaCha20-Poly1305 over one cell body, in whole blocks (a rejected cell leaves the payload as it was). */
  readonly cipher: CellCipher;

  constructor(provider: CryptoProvider) {
    this.cipher = new CellCipher(provider);
  }

  wipe(): void {
    this.work.fill(0);
    this.stream.fill(0);
    this.cipher.wipe();
  }
}

/** Layout of a layer's one state buffer: kf ‖ ko ‖ kr ‖ last forward tag ‖ last originated tag. */
const STATE_LEN = 3 * 32 + 2 * T;
const LAST_FORWARD_AT = 96;
const LAST_ORIGINATED_AT = 96 + T;

export class RelayLayer {
  // Memory per circuit is what limits a relay, so a layer holds one buffer and three views
  // of it (the keys libsodium takes); the last tags live in the same buffer and get a view
  // only when asked for.
  private readonly kf = new Uint8Array(STATE_LEN).subarray(0, 32);
  private readonly ko = new Uint8Array(this.kf.buffer, 32, 32);
  private readonly kr = new Uint8Array(this.kf.buffer, 64, 32);
  /** Forward cells verified so far (the implicit forward counter `c`). */
  private c = 0;
  /** Backward cells originated or relayed so far (the implicit backward counter `d`). */
  private d = 0;
  private destroyed = false;
  private readonly scratch: OnionScratch;

  /** `scratch`: share one OnionScratch among a relay's layers (default: a private one). */
  constructor(private readonly provider: CryptoProvider, keys: HopKeys, scratch?: OnionScratch) {
    this.kf.set(copyOnionKey(keys.forward, 'forward key'));
    this.ko.set(copyOnionKey(keys.backwardOriginate, 'backward-originate key'));
    this.kr.set(copyOnionKey(keys.backwardRelay, 'backward-relay key'));
    this.scratch = scratch ?? new OnionScratch(provider);
  }

  /** Forward cells this hop has accepted (its counter `c`). */
  get forwardCount(): number {
    return this.c;
  }

  /** Backward cells this hop has originated or relayed (its counter `d`). */
  get backwardCount(): number {
    return this.d;
  }

  /**
   * Verifies and peels this hop's forward layer of `payload` (P bytes) in place. Throws
   * CIRCUIT_TAG_MISMATCH (payload and counters untouched) when the tag does not verify:
   * the caller must destroy the circuit.
   */
  processForward(payload: Uint8Array): ForwardResult {
    this.checkUsable();
    checkPayloadLength(payload, 'forward cell');
    const nonce = writeCounterNonce(this.scratch.nonce, this.c);
    const cipher = this.scratch.cipher;
    if (!cipher.open(this.kf, nonce, payload)) {
      throw new ChiveError('CIRCUIT_TAG_MISMATCH', 'forward cell failed its hop tag check');
    }
    this.c += 1;
    new Uint8Array(this.kf.buffer, LAST_FORWARD_AT, T).set(payload.subarray(0, T));
    payload.set(cipher.body); // m = payload[0 : P−T]
    if (startsWithMarker(payload)) {
      return { recognized: true, body: payload.subarray(RECOGNIZED_MARKER_LEN, P - T) };
    }
    payload.set(cipher.filler, P - T);
    return NOT_RECOGNIZED;
  }

  /**
   * Originates a backward cell carrying `body` (at most ONION_BODY_LEN bytes) towards the
   * client: `m = marker ‖ body ‖ random padding` sealed under ko with counter `d`. Writes
   * into `out` (P bytes) when given, else into a new buffer.
   */
  originateBackward(body: Uint8Array, rng: Rng, out: Uint8Array = new Uint8Array(P)): Uint8Array {
    this.checkUsable();
    checkPayloadLength(out, 'backward cell buffer');
    if (body.length > ONION_BODY_LEN) {
      throw new ChiveError('MESSAGE_TOO_LONG', `backward body of ${body.length} bytes exceeds ${ONION_BODY_LEN}`);
    }
    const padLength = ONION_BODY_LEN - body.length;
    const padding = padLength > 0 ? drawRandom(rng, padLength) : undefined;
    const { work, workBody, cipher } = this.scratch;
    work.fill(0, T, T + RECOGNIZED_MARKER_LEN);
    work.set(body, T + RECOGNIZED_MARKER_LEN);
    if (padding) work.set(padding, T + RECOGNIZED_MARKER_LEN + body.length);
    const nonce = writeCounterNonce(this.scratch.nonce, this.d);
    cipher.seal(this.ko, nonce, workBody, out);
    this.d += 1;
    new Uint8Array(this.kf.buffer, LAST_ORIGINATED_AT, T).set(cipher.tag);
    return out;
  }

  /** Adds this hop's backward stream layer to a cell from further out, in place. */
  relayBackward(payload: Uint8Array): void {
    this.checkUsable();
    checkPayloadLength(payload, 'backward cell');
    const nonce = writeCounterNonce(this.scratch.nonce, this.d);
    // Over a whole-block copy (CELL_STREAM_LEN): the 3 spare keystream bytes are discarded.
    const { stream, streamCell } = this.scratch;
    stream.set(payload);
    this.provider.chacha20Xor(this.kr, nonce, FIRST_DATA_BLOCK, stream, stream);
    payload.set(streamCell);
    this.d += 1;
  }

  /**
   * The hop tag of the last forward cell this hop verified, or of the last backward cell it
   * originated, whichever came last for that direction: a view valid until the next call.
   * Flow control echoes these in authenticated SENDMEs (docs/PROTOCOL.md, flow control).
   */
  get lastForwardTag(): Uint8Array {
    return new Uint8Array(this.kf.buffer, LAST_FORWARD_AT, T);
  }

  get lastOriginatedTag(): Uint8Array {
    return new Uint8Array(this.kf.buffer, LAST_ORIGINATED_AT, T);
  }

  /** Zeroes this layer's keys; any later call throws BAD_HOP. (A shared scratch is wiped by its owner.) */
  destroy(): void {
    new Uint8Array(this.kf.buffer).fill(0);
    this.destroyed = true;
  }

  private checkUsable(): void {
    if (this.destroyed) throw new ChiveError('BAD_HOP', 'this onion layer has been destroyed');
  }
}
