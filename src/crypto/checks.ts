/**
 * Argument checks shared by both crypto providers, so that both fail the same way
 * (ChiveError INVALID_ARGUMENT / LOW_ORDER_POINT) whatever library sits underneath.
 * Not a crypto implementation.
 */
import { ChiveError } from '../errors.js';

export function checkLength(what: string, b: Uint8Array, len: number): void {
  if (!(b instanceof Uint8Array) || b.length !== len) {
    throw new ChiveError('INVALID_ARGUMENT', `${what} must be ${len} bytes`);
  }
}

export function checkSameLength(a: Uint8Array, b: Uint8Array): void {
  if (a.length !== b.length) throw new ChiveError('INVALID_ARGUMENT', 'output must be as long as input');
}

export function checkCounter(counter: number): void {
  if (!Number.isInteger(counter) || counter < 0 || counter > 0xffff_ffff) {
    throw new ChiveError('INVALID_ARGUMENT', `ChaCha20 block counter out of range: ${counter}`);
  }
}

export function isAllZero(b: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < b.length; i++) acc |= b[i]!;
  return acc === 0;
}

export function rejectAllZeroSharedSecret(shared: Uint8Array): Uint8Array {
  if (isAllZero(shared)) {
    throw new ChiveError('LOW_ORDER_POINT', 'X25519 produced an all-zero shared secret (low-order public key)');
  }
  return shared;
}

/** Constant-time equality in plain JS (used by the noble provider). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]! ^ b[i]!;
  return acc === 0;
}
