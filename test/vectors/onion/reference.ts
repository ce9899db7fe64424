/**
 * A deliberately naive, spec-literal reference of the onion layers, for tests only.
 *
 * It follows the ARCHITECTURE.md appendix line by line with full-length keystreams
 * (`KS(k, n)[0 : P]` from block 1) and the MAC computed by hand as RFC 8439 §2.8 defines it
 * for empty associated data — Poly1305 keyed by the first 32 bytes of block 0 over
 * `x ‖ zero pad to 16 ‖ le64(0) ‖ le64(|x|)` — with @noble/ciphers' poly1305, independently
 * of the AEAD the production code uses. Hops are 1-based here, as in the appendix.
 *
 * Not fast and not for production: no constant-time anything.
 */
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import type { CryptoProvider } from '../../../src/crypto/provider.js';
import { writeCounterNonce } from '../../../src/onion/hop-keys.js';
import { CELL_PAYLOAD_LEN, ONION_TAG_LEN, RECOGNIZED_MARKER_LEN } from '../../../src/wire/constants.js';

export const P = CELL_PAYLOAD_LEN;
export const T = ONION_TAG_LEN;
export const MARKER = RECOGNIZED_MARKER_LEN;

const nonceOf = (n: number) => writeCounterNonce(new Uint8Array(12), n);

/** KS(k, n)[0 : P]: ChaCha20 keystream from block 1. */
export function refKS(p: CryptoProvider, k: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(P);
  p.chacha20Xor(k, nonceOf(n), 1, new Uint8Array(P), out);
  return out;
}

/** MAC(k, n, x): Poly1305 keyed by block 0, over x as RFC 8439's AEAD with empty AD. */
export function refMAC(p: CryptoProvider, k: Uint8Array, n: number, x: Uint8Array): Uint8Array {
  const block0 = new Uint8Array(64);
  p.chacha20Xor(k, nonceOf(n), 0, new Uint8Array(64), block0);
  const padded = Math.ceil(x.length / 16) * 16;
  const data = new Uint8Array(padded + 16);
  data.set(x);
  new DataView(data.buffer).setBigUint64(padded + 8, BigInt(x.length), true); // le64(0) ‖ le64(|x|)
  return poly1305(data, block0.subarray(0, 32));
}

export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new Error('xor of unequal lengths');
  return a.map((v, i) => v ^ b[i]!);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of parts) { out.set(x, o); o += x.length; }
  return out;
}

export interface RefHop { kf: Uint8Array; c: number }

/**
 * The client's forward construction for hop j (1-based) over hops[0..j-1] (with their
 * current counters): returns X_1..X_j (index i−1 holds X_i) and the fillers φ_1..φ_{j−1}.
 * `padding` fills the room between the message and the filler tail.
 */
export function refBuildForward(
  p: CryptoProvider, hops: RefHop[], j: number, message: Uint8Array, padding: Uint8Array,
): { X: Uint8Array[]; phi: Uint8Array[] } {
  const ks = hops.slice(0, j).map((h) => refKS(p, h.kf, h.c));
  // 1. fillers
  const phi: Uint8Array[] = [new Uint8Array(0)];
  for (let i = 1; i <= j - 1; i++) {
    const prev = phi[i - 1]!;
    const k = ks[i - 1]!;
    phi.push(concat(xor(prev, k.subarray(P - T - prev.length, P - T)), k.subarray(P - T, P)));
  }
  // 2. innermost body
  const tailLen = (j - 1) * T;
  if (MARKER + message.length + padding.length + tailLen !== P - T) throw new Error('bad padding length');
  const kj = ks[j - 1]!;
  const mj = concat(
    new Uint8Array(MARKER), message, padding,
    xor(phi[j - 1]!, kj.subarray(P - T - tailLen, P - T)),
  );
  const X: Uint8Array[] = new Array(j);
  let b = xor(mj, kj.subarray(0, P - T));
  X[j - 1] = concat(refMAC(p, hops[j - 1]!.kf, hops[j - 1]!.c, b), b);
  // 3. outward layers
  for (let i = j - 1; i >= 1; i--) {
    const mi = X[i]!.subarray(0, P - T);
    b = xor(mi, ks[i - 1]!.subarray(0, P - T));
    X[i - 1] = concat(refMAC(p, hops[i - 1]!.kf, hops[i - 1]!.c, b), b);
  }
  return { X, phi: phi.slice(1) };
}

/** A hop's forward step: null on a bad tag, else m and what it forwards (m ‖ filler). */
export function refRelayForward(
  p: CryptoProvider, kf: Uint8Array, c: number, X: Uint8Array,
): { recognized: boolean; m: Uint8Array; forwarded: Uint8Array } | null {
  const t = X.subarray(0, T);
  const b = X.subarray(T);
  const mac = refMAC(p, kf, c, b);
  if (!mac.every((v, i) => v === t[i])) return null;
  const k = refKS(p, kf, c);
  const m = xor(b, k.subarray(0, P - T));
  return { recognized: m.subarray(0, MARKER).every((v) => v === 0), m, forwarded: concat(m, k.subarray(P - T, P)) };
}

/** Hop originates a backward cell: m = marker ‖ message ‖ padding. */
export function refOriginateBackward(
  p: CryptoProvider, ko: Uint8Array, d: number, message: Uint8Array, padding: Uint8Array,
): Uint8Array {
  const m = concat(new Uint8Array(MARKER), message, padding);
  if (m.length !== P - T) throw new Error('bad padding length');
  const b = xor(m, refKS(p, ko, d).subarray(0, P - T));
  return concat(refMAC(p, ko, d, b), b);
}

/** Hop relays a backward cell: X ⊕= KS(kr, d)[0 : P]. */
export function refRelayBackward(p: CryptoProvider, kr: Uint8Array, d: number, X: Uint8Array): Uint8Array {
  return xor(X, refKS(p, kr, d));
}
