/**
 * Typed-error assertions for the wire tests (vitest only; support.ts stays runnable by tsx).
 */
import { expect } from 'vitest';
import type { Rng } from '../../../src/crypto/provider.js';
import { ChiveError, type ErrorCode } from '../../../src/errors.js';

/** The ChiveError `fn` throws; fails the test if it returns or throws anything else. */
export function thrownChiveError(fn: () => unknown): ChiveError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof ChiveError)) {
    throw new Error(`expected a ChiveError, got ${caught === undefined ? 'no exception' : String(caught)}`);
  }
  return caught;
}

/** Asserts that `fn` throws a ChiveError with `code`. */
export function expectChiveError(fn: () => unknown, code: ErrorCode): void {
  expect(thrownChiveError(fn).code).toBe(code);
}

/** An Rng that fails the test if called: for encodings that must not need fresh padding. */
export const noRng: Rng = (n) => {
  throw new Error(`rng called for ${n} bytes where none was expected`);
};
