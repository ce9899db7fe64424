/**
 * Typed-error assertions for tests: run a function that must throw a ChiveError and get
 * its stable code (anything else thrown, or nothing thrown, fails the test). Test support only.
 */
import { ChiveError, type ErrorCode } from '../../src/errors.js';

export function codeOf(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (e) {
    if (e instanceof ChiveError) return e.code;
    throw e;
  }
  throw new Error('expected a ChiveError, nothing was thrown');
}
