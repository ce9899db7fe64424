/**
 * Helpers for the wire vectors and tests: a fixed, seeded RNG (so encoded padding is
 * reproducible), byte patterns, JSON (de)serialisation of messages whose byte fields are
 * written as `{ "$bytes": "<hex>" }`.
 *
 * Test support only: `fixedRng` is not random and must never reach src/ or a real node.
 */
import type { Rng } from '../../../src/crypto/provider.js';
import { fromHex, toHex } from '../../../src/bytes.js';

/** The seed of every vector's RNG: ASCII "chiv". */
export const VECTOR_RNG_SEED = 0x63686976;

/**
 * xorshift32 (Marsaglia: x ^= x << 13; x ^= x >>> 17; x ^= x << 5) from `seed`; each byte
 * is the low 8 bits of the next state. Successive calls continue the same sequence.
 */
export function fixedRng(seed = VECTOR_RNG_SEED): Rng {
  let x = seed >>> 0;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

/** `n` bytes 0, step, 2·step, … (mod 256) from `start`: recognisable in a hex dump. */
export function pattern(n: number, start = 0, step = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (start + i * step) & 0xff;
  return out;
}

/** A value with every Uint8Array replaced by `{ $bytes: hex }`. */
export function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bytes: toHex(value) };
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value;
}

/** The inverse of `toJson`. */
export function fromJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.$bytes === 'string' && Object.keys(o).length === 1) return fromHex(o.$bytes);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fromJson(v)]));
  }
  return value;
}
