/**
 * The client's onion layers for one circuit: it holds every hop's keys and counters, builds
 * forward cells for any hop (with the precomputed fillers that keep every cell the same
 * size and hide each hop's position), and peels backward cells, finding which hop sent
 * them (ARCHITECTURE.md appendix; docs/PROTOCOL.md §4).
 *
 * Hops are numbered from 0 here (hop 0 is the guard); the appendix numbers them from 1, so
 * the appendix's hop `j` is `targetHop = j − 1`. A circuit has 1..MAX_HOPS hops: a
 * rendezvous adds a virtual end-to-end hop after the rendezvous point, which is just one
 * more hop to this class.
 *
 * Every method is atomic: when it throws, no counter has moved.
 *
 * Not here: relay message encoding (the body is opaque bytes), circuit state, or deciding
 * to destroy a circuit after an error (the caller does that).
 */
import { ChiveError } from '../errors.js';
import type { CryptoProvider, Rng } from '../crypto/provider.js';
import {
  CELL_PAYLOAD_LEN, MAX_HOPS, ONION_TAG_LEN, RECOGNIZED_MARKER_LEN,
} from '../wire/constants.js';
import { writeCounterNonce, type HopKeys } from './hop-keys.js';
import { CellCipher } from './cell-cipher.js';
import { CELL_STREAM_LEN, KeystreamWindow, checkPayloadLength, copyOnionKey, drawRandom, startsWithMarker } from './keystream.js';

const P = CELL_PAYLOAD_LEN;
const T = ONION_TAG_LEN;
const NONCE_LEN = 12;
const FIRST_DATA_BLOCK = 1;
/**
 * How many times encryptForward redraws the padding when an intermediate hop would see a
 * false "recognised" (probability 2^-32 each time): past this the rng is not random.
 */
const MAX_PADDING_DRAWS = 8;

/**
 * Longest body a forward cell for `targetHop` (0-based) can carry:
 * P − (targetHop + 1)·T − RECOGNIZED_MARKER_LEN (457 for the third hop).
 */
export function maxForwardBody(targetHop: number): number {
  checkHopIndex(targetHop, MAX_HOPS);
  return P - (targetHop + 1) * T - RECOGNIZED_MARKER_LEN;
}

/** A backward cell the client accepted. */
export interface BackwardMessage {
  /** 0-based index of the hop that originated the cell. */
  readonly hop: number;
  /** View into the payload: `m` after the marker (ONION_BODY_LEN bytes). */
  readonly body: Uint8Array;
}

/**
 * A backward cell that no real hop originated, on a circuit with a virtual hop: every real
 * hop's relay layer has been removed and `payload` (the caller's buffer) now holds the
 * cell as the peer beyond the rendezvous point sent it, still under the peer's own forward
 * layer (verify it with a RelayLayer holding the peer's keys).
 */
export interface BeyondCell {
  readonly hop: 'beyond';
  readonly payload: Uint8Array;
}

export interface ClientLayersOptions {
  /**
   * Test-only: replaces the check "would this intermediate hop take m for its own cell?"
   * (default: m starts with the marker, probability 2^-32), so tests can exercise the
   * padding redraw. Never set outside tests.
   */
  readonly dangerouslyLooksRecognized?: (m: Uint8Array) => boolean;
}

interface ClientHop {
  readonly kf: Uint8Array;
  readonly ko: Uint8Array;
  readonly kr: Uint8Array;
  /** Forward cells sent to or through this hop. */
  c: number;
  /** Backward cells this hop originated or relayed that the client accepted. */
  d: number;
  readonly nonce: Uint8Array;
  /** `KS(kf, c)[P − (index+1)·T : P]`: what the fillers need of this hop's stream. */
  readonly tail: KeystreamWindow;
}

export class ClientLayers {
  private readonly hops: ClientHop[] = [];
  /** φ: the fillers of the hops before the target (at most (MAX_HOPS − 1)·T bytes). */
  private readonly phi = new Uint8Array((MAX_HOPS - 1) * T);
  private readonly lastTargetTag = new Uint8Array(T);
  private readonly lastBackTag = new Uint8Array(T);
  /** decryptBackward scratch, in whole ChaCha20 blocks (CELL_STREAM_LEN = 512 bytes). */
  private readonly backCell = new Uint8Array(CELL_STREAM_LEN);
  private readonly backCellTag = this.backCell.subarray(0, T);
  /** ChaCha20-Poly1305 over one cell body, in whole blocks. */
  private readonly cipher: CellCipher;
  private readonly looksRecognized: (m: Uint8Array) => boolean;
  private destroyed = false;
  /** Index of the first virtual hop (the peer beyond a rendezvous point), or null. */
  private virtualFrom: number | null = null;

  constructor(private readonly provider: CryptoProvider, options: ClientLayersOptions = {}) {
    this.looksRecognized = options.dangerouslyLooksRecognized ?? ((m) => startsWithMarker(m));
    this.cipher = new CellCipher(provider);
  }

  get hopCount(): number {
    return this.hops.length;
  }

  /** Appends the next hop (after its handshake completed); at most MAX_HOPS. */
  addHop(keys: HopKeys): void {
    this.checkUsable();
    if (this.hops.length >= MAX_HOPS) {
      throw new ChiveError('BAD_HOP', `a circuit has at most ${MAX_HOPS} hops`);
    }
    const index = this.hops.length;
    this.hops.push({
      kf: copyOnionKey(keys.forward, 'forward key'),
      ko: copyOnionKey(keys.backwardOriginate, 'backward-originate key'),
      kr: copyOnionKey(keys.backwardRelay, 'backward-relay key'),
      c: 0,
      d: 0,
      nonce: new Uint8Array(NONCE_LEN),
      tail: new KeystreamWindow(this.provider, P - (index + 1) * T, P),
    });
  }

  /**
   * Appends a virtual hop: the peer at the far end of a spliced rendezvous circuit. Forward
   * cells to it are built like cells to any hop; backward cells never come from it (see
   * decryptBackwardOrBeyond). At most one, after every real hop.
   */
  addVirtualHop(keys: HopKeys): void {
    if (this.virtualFrom !== null) throw new ChiveError('BAD_HOP', 'a circuit has at most one virtual hop');
    const index = this.hops.length;
    this.addHop(keys);
    this.virtualFrom = index;
  }

  /** The virtual hop's index, or null when there is none. */
  get virtualHop(): number | null {
    return this.virtualFrom;
  }

  /** The counters of hop `hop` (0-based): forward `c`, backward `d`. */
  counters(hop: number): { readonly forward: number; readonly backward: number } {
    checkHopIndex(hop, this.hops.length);
    const h = this.hops[hop]!;
    return { forward: h.c, backward: h.d };
  }

  /**
   * Builds the P-byte forward payload that carries `body` to hop `targetHop` (0-based),
   * then advances the forward counters of hops 0..targetHop. `body` is at most
   * maxForwardBody(targetHop) bytes (MESSAGE_TOO_LONG); the rest is random padding and
   * filler. The result is a new buffer, ready for the first hop.
   */
  encryptForward(targetHop: number, body: Uint8Array, rng: Rng): Uint8Array {
    this.checkUsable();
    checkHopIndex(targetHop, this.hops.length);
    const max = maxForwardBody(targetHop);
    if (body.length > max) {
      throw new ChiveError('MESSAGE_TOO_LONG', `forward body of ${body.length} bytes exceeds ${max} for hop ${targetHop}`);
    }
    const hops = this.hops;
    for (let i = 0; i <= targetHop; i++) writeCounterNonce(hops[i]!.nonce, hops[i]!.c);

    // Fillers: φ_i = (φ_{i−1} ⊕ KS(kf_i, c_i)[P−T−|φ_{i−1}| : P−T]) ‖ KS(kf_i, c_i)[P−T : P],
    // for the hops before the target. tail = KS[P − (i+1)·T : P], so the first i·T bytes of
    // it line up with φ_{i−1} and the last T bytes are hop i's filler.
    const phi = this.phi;
    for (let i = 0; i < targetHop; i++) {
      const h = hops[i]!;
      const tail = h.tail.compute(h.kf, h.nonce);
      const old = i * T;
      for (let k = 0; k < old; k++) phi[k] = phi[k]! ^ tail[k]!;
      phi.set(tail.subarray(old, old + T), old);
    }

    // Innermost m (at out[T : P]): marker ‖ body ‖ padding ‖ (φ ⊕ KS(kf_target)[P−T−|φ| : P−T]).
    const fillerLength = targetHop * T;
    const target = hops[targetHop]!;
    const innerTail = new Uint8Array(fillerLength);
    if (fillerLength > 0) {
      const tail = target.tail.compute(target.kf, target.nonce);
      for (let k = 0; k < fillerLength; k++) innerTail[k] = phi[k]! ^ tail[k]!;
    }
    const padLength = max - body.length;
    const out = new Uint8Array(P);
    const outTag = out.subarray(0, T);
    const outBody = out.subarray(T);

    for (let draw = 1; ; draw++) {
      out.fill(0, T, T + RECOGNIZED_MARKER_LEN);
      out.set(body, T + RECOGNIZED_MARKER_LEN);
      if (padLength > 0) out.set(drawRandom(rng, padLength), T + RECOGNIZED_MARKER_LEN + body.length);
      out.set(innerTail, P - fillerLength);
      this.cipher.seal(target.kf, target.nonce, outBody, out);
      this.lastTargetTag.set(outTag);

      // Outward layers: m_i = X_{i+1}[0 : P−T], X_i = MAC(kf_i, c_i, b_i) ‖ b_i.
      let falseRecognition = false;
      for (let i = targetHop - 1; i >= 0; i--) {
        if (this.looksRecognized(out.subarray(0, P - T))) falseRecognition = true;
        const h = hops[i]!;
        out.copyWithin(T, 0, P - T);
        this.cipher.seal(h.kf, h.nonce, outBody, out);
      }
      // A hop before the target would take the cell for its own: redraw the padding. With
      // no padding (a body of exactly maxForwardBody) the cell is fixed: the 2^-32 risk
      // per intermediate hop is accepted (that hop would then fail to parse it and close
      // the circuit).
      if (!falseRecognition || padLength === 0) break;
      if (draw >= MAX_PADDING_DRAWS) {
        throw new ChiveError('INVALID_ARGUMENT', 'the rng keeps producing padding that an intermediate hop would recognise; is it random?');
      }
    }

    for (let i = 0; i <= targetHop; i++) hops[i]!.c += 1;
    return out;
  }

  /**
   * Peels a backward payload (P bytes, modified in place) and finds the hop that sent it:
   * for i = 0, 1, …, if hop i's tag verifies under ko_i / d_i the cell is hop i's
   * (d_0..d_i += 1); else hop i's relay layer kr_i / d_i is removed and the next hop is
   * tried. No match: CIRCUIT_TAG_MISMATCH. A valid tag without the marker: NOT_RECOGNIZED.
   * Either way no counter moves, the payload is left as it was, and the circuit is to be
   * destroyed. On success the payload holds the tag and the decrypted `m`.
   */
  decryptBackward(payload: Uint8Array): BackwardMessage {
    const result = this.decryptBackwardOrBeyond(payload, false);
    return result as BackwardMessage;
  }

  /**
   * decryptBackward, except that on a circuit with a virtual hop a cell no real hop
   * originated is a cell from the peer: the real hops' relay layers are removed (their
   * counters advance, as each of them relayed it) and a BeyondCell is returned.
   */
  decryptBackwardOrBeyond(payload: Uint8Array, allowBeyond = true): BackwardMessage | BeyondCell {
    this.checkUsable();
    checkPayloadLength(payload, 'backward cell');
    const hops = this.hops;
    if (hops.length === 0) throw new ChiveError('BAD_HOP', 'the circuit has no hops yet');
    const provider = this.provider;
    const realHops = this.virtualFrom ?? hops.length;
    // Peeled in a whole-block work copy, so the payload is untouched unless accepted.
    const cell = this.backCell;
    cell.set(payload);
    for (let i = 0; i < realHops; i++) {
      const h = hops[i]!;
      const nonce = writeCounterNonce(h.nonce, h.d);
      // The tag check alone (one ChaCha20 block + Poly1305): a mismatch, the common case for
      // every hop but the sender, costs no decryption and no exception.
      const cipher = this.cipher;
      if (cipher.verify(h.ko, nonce, cell)) {
        cipher.decryptAfterVerify(h.ko, nonce, cell);
        const m = cipher.body;
        if (!startsWithMarker(m)) {
          throw new ChiveError('NOT_RECOGNIZED', `backward cell from hop ${i} lacks the recognised marker`);
        }
        for (let k = 0; k <= i; k++) hops[k]!.d += 1;
        payload.set(this.backCellTag);
        this.lastBackTag.set(this.backCellTag);
        payload.set(m, T);
        return { hop: i, body: payload.subarray(T + RECOGNIZED_MARKER_LEN) };
      }
      provider.chacha20Xor(h.kr, nonce, FIRST_DATA_BLOCK, cell, cell);
    }
    if (allowBeyond && this.virtualFrom !== null) {
      for (let k = 0; k < realHops; k++) hops[k]!.d += 1;
      payload.set(cell.subarray(0, P));
      return { hop: 'beyond', payload };
    }
    throw new ChiveError('CIRCUIT_TAG_MISMATCH', 'backward cell matches no hop of the circuit');
  }

  /**
   * The target hop's tag of the last forward cell built (what that hop verifies), and the
   * originating hop's tag of the last backward cell accepted: views valid until the next
   * call, echoed in authenticated SENDMEs.
   */
  get lastForwardTag(): Uint8Array {
    return this.lastTargetTag;
  }

  get lastBackwardTag(): Uint8Array {
    return this.lastBackTag;
  }

  /** Zeroes every hop's keys; any later call throws BAD_HOP. */
  destroy(): void {
    for (const h of this.hops) {
      h.kf.fill(0);
      h.ko.fill(0);
      h.kr.fill(0);
    }
    this.phi.fill(0);
    this.backCell.fill(0);
    this.cipher.wipe();
    this.destroyed = true;
  }

  private checkUsable(): void {
    if (this.destroyed) throw new ChiveError('BAD_HOP', 'these onion layers have been destroyed');
  }
}

function checkHopIndex(hop: number, count: number): void {
  if (!Number.isInteger(hop) || hop < 0 || hop >= count) {
    throw new ChiveError('BAD_HOP', `hop ${hop} is not one of the circuit's ${count} hops`);
  }
}

