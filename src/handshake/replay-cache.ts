/**
 * The relay's replay cache for circuit handshakes: remembers which client ephemeral keys X
 * it has answered under which onion key, so that a replayed CREATE2 / EXTEND2 onionskin is
 * refused instead of re-deriving (and re-using) the same circuit keys.
 *
 * Bounded memory is the point: a relay under a flood of handshakes keeps at most
 * `maxEntries` entries, evicting the oldest first, and forgets an entry `ttlMs` after it
 * was remembered. Time is the caller's `now` (milliseconds); this module reads no clock.
 *
 * What it deliberately is not: a guarantee against every replay. An entry evicted by a
 * flood, or older than `ttlMs`, is forgotten, and the same X is then accepted again. The
 * real bound is the onion key's lifetime: once a key is retired, handshakes to it fail
 * with UNKNOWN_KEY whatever this cache says. Nor is it a rate limiter.
 */
import { ChiveError } from '../errors.js';
import { X25519_KEY_LEN } from '../wire/constants.js';

/** Default bound on remembered handshakes (~10 MiB of keys and map overhead). */
export const DEFAULT_REPLAY_CACHE_MAX_ENTRIES = 65_536;
/** Default time an entry is remembered: 3 hours. */
export const DEFAULT_REPLAY_CACHE_TTL_MS = 3 * 60 * 60 * 1000;

export interface ReplayCacheOptions {
  /** Most entries kept; the oldest is evicted to make room. Default 65 536. */
  readonly maxEntries?: number;
  /** Milliseconds an entry is remembered. Default 3 hours. */
  readonly ttlMs?: number;
}

export class ReplayCache {
  readonly maxEntries: number;
  readonly ttlMs: number;
  /** key (onion key id ‖ X, as a latin1 string) → time it expires; insertion order = age. */
  private readonly entries = new Map<string, number>();

  constructor(options: ReplayCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? DEFAULT_REPLAY_CACHE_MAX_ENTRIES;
    const ttlMs = options.ttlMs ?? DEFAULT_REPLAY_CACHE_TTL_MS;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new ChiveError('INVALID_ARGUMENT', `replay cache maxEntries must be a positive integer, got ${maxEntries}`);
    }
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new ChiveError('INVALID_ARGUMENT', `replay cache ttlMs must be positive, got ${ttlMs}`);
    }
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
  }

  /** Entries currently held (expired ones may linger until the next call). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * True when (keyId, clientKey) has not been seen within the last `ttlMs` and is now
   * remembered; false when it is a replay (and nothing changes).
   */
  checkAndRemember(keyId: Uint8Array, clientKey: Uint8Array, now: number): boolean {
    checkKey('onion key id', keyId);
    checkKey('client key X', clientKey);
    if (!Number.isFinite(now)) throw new ChiveError('INVALID_ARGUMENT', `replay cache: now must be finite, got ${now}`);

    this.expire(now);
    const key = entryKey(keyId, clientKey);
    const expiresAt = this.entries.get(key);
    if (expiresAt !== undefined) {
      if (expiresAt > now) return false;
      // Expired but not yet swept (the clock went backwards for older entries): forget it.
      this.entries.delete(key);
    }
    while (this.entries.size >= this.maxEntries) this.evictOldest();
    this.entries.set(key, now + this.ttlMs);
    return true;
  }

  /** Forgets everything (e.g. when the relay rotates all its onion keys). */
  clear(): void {
    this.entries.clear();
  }

  /** Drops expired entries from the old end. Entries are in insertion order, so this stops
   * at the first live one; with a monotonic `now` that is every expired entry. */
  private expire(now: number): void {
    for (const [key, expiresAt] of this.entries) {
      if (expiresAt > now) break;
      this.entries.delete(key);
    }
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (!oldest.done) this.entries.delete(oldest.value);
  }
}

function checkKey(what: string, b: Uint8Array): void {
  if (!(b instanceof Uint8Array) || b.length !== X25519_KEY_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `replay cache: ${what} must be ${X25519_KEY_LEN} bytes`);
  }
}

const keyScratch = new Uint8Array(2 * X25519_KEY_LEN);

/**
 * 64 one-byte characters: compact, exact, and no hashing needed. Built in one call so the
 * string is flat (~80 bytes): appending a character at a time would keep a 64-node rope of
 * about 1.7 KB alive in the Map, per entry.
 */
function entryKey(keyId: Uint8Array, clientKey: Uint8Array): string {
  keyScratch.set(keyId, 0);
  keyScratch.set(clientKey, X25519_KEY_LEN);
  return String.fromCharCode.apply(null, keyScratch as unknown as number[]);
}
