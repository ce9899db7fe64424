/**
 * A deterministic, seeded test RNG for onion vectors and cross-provider tests.
 *
 * Call number k (counting from 0) of `rng(n)` returns the first n bytes of the ChaCha20
 * keystream (RFC 8439) under the 32-byte seed, nonce = writeCounterNonce(k) (4 zero bytes ‖
 * k as u64 LE), starting at block 0. Computed with @noble/ciphers directly so that it is
 * the same whichever provider is under test.
 *
 * Test-only: never a source of real randomness.
 */
import { chacha20 } from '@noble/ciphers/chacha.js';
import type { Rng } from '../../../src/crypto/provider.js';
import { writeCounterNonce } from '../../../src/onion/hop-keys.js';

export interface CountingRng extends Rng {
  /** How many times the rng has been called. */
  readonly calls: () => number;
}

export function createDeterministicRng(seed: Uint8Array): CountingRng {
  if (seed.length !== 32) throw new Error('seed must be 32 bytes');
  const key = seed.slice();
  let calls = 0;
  const rng = ((length: number) => {
    const nonce = writeCounterNonce(new Uint8Array(12), calls++);
    return chacha20(key, nonce, new Uint8Array(length), undefined, 0);
  }) as CountingRng;
  (rng as { calls: () => number }).calls = () => calls;
  return rng;
}

/** A 32-byte seed from a small label, for readable tests: byte i = (label + i) mod 256. */
export function seedFrom(label: number): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => (label + i) & 0xff);
}
