/**
 * Token buckets for the relay's bandwidth limits (BandwidthRate / BandwidthBurst): one
 * bucket for what the relay reads and one for what it writes, each refilled at `rate`
 * bytes per second up to `burst` bytes, as Tor's read and write buckets.
 *
 * A bucket starts full. `tryTake(n)` takes n bytes only when the bucket holds them;
 * `charge(n)` takes them regardless and may leave the bucket in debt (for bytes already
 * read, which cannot be refused any more), so that what comes next waits until the debt is
 * paid back: over any long interval the bytes taken stay within rate × time + burst.
 * The bucket holds at least one cell's worth (CELL_LEN): a smaller burst could never send.
 *
 * Not the scheduling of cells across circuits (relay/cell-scheduler.ts) and not the
 * accounting of bytes per period (relay/accounting.ts). Times are milliseconds from a
 * caller's monotonic clock (performance.now() in the relay).
 */
import { ChiveError } from '../src/errors.js';
import { CELL_LEN } from '../src/wire/constants.js';

export class TokenBucket {
  /** Bytes per second. */
  readonly rate: number;
  /** Largest number of bytes the bucket holds (≥ CELL_LEN). */
  readonly capacity: number;
  private tokens: number;
  private refilledAt: number;

  constructor(rate: number, burst: number, now: number) {
    if (!(rate > 0) || !Number.isFinite(rate) || !(burst >= 0) || !Number.isFinite(burst)) {
      throw new ChiveError('INVALID_ARGUMENT', `a token bucket needs a positive rate and a burst ≥ 0 (got ${rate}, ${burst})`);
    }
    this.rate = rate;
    this.capacity = Math.max(burst, CELL_LEN);
    this.tokens = this.capacity;
    this.refilledAt = now;
  }

  private refill(now: number): void {
    if (now <= this.refilledAt) return;
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.refilledAt) * this.rate) / 1000);
    this.refilledAt = now;
  }

  /** Bytes available now (negative while in debt). */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** True when n bytes may go now (without taking them). */
  has(n: number, now: number): boolean {
    this.refill(now);
    return this.tokens >= n;
  }

  /** Takes n bytes if the bucket holds them; false (nothing taken) otherwise. */
  tryTake(n: number, now: number): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Takes n bytes even if that leaves the bucket in debt. */
  charge(n: number, now: number): void {
    this.refill(now);
    this.tokens -= n;
  }

  /** Milliseconds until the bucket holds n bytes (0 when it does now; n ≤ capacity). */
  msUntil(n: number, now: number): number {
    this.refill(now);
    const missing = Math.min(n, this.capacity) - this.tokens;
    return missing <= 0 ? 0 : (missing * 1000) / this.rate;
  }
}

/** The relay's two buckets: bytes read (cells that came in) and bytes written (cells sent). */
export class BandwidthBuckets {
  readonly read: TokenBucket;
  readonly write: TokenBucket;

  constructor(readonly rate: number, readonly burst: number, now: number) {
    this.read = new TokenBucket(rate, burst, now);
    this.write = new TokenBucket(rate, burst, now);
  }

  /** True when a cell may be sent now: `relayed` cells were also read here, so they need read tokens too. */
  canSend(relayed: boolean, now: number): boolean {
    return this.write.has(CELL_LEN, now) && (!relayed || this.read.has(CELL_LEN, now));
  }

  /** Takes one cell's tokens (call after canSend). */
  takeCell(relayed: boolean, now: number): void {
    this.write.charge(CELL_LEN, now);
    if (relayed) this.read.charge(CELL_LEN, now);
  }

  /** Milliseconds until a cell may be sent. */
  msUntilCell(relayed: boolean, now: number): number {
    const w = this.write.msUntil(CELL_LEN, now);
    return relayed ? Math.max(w, this.read.msUntil(CELL_LEN, now)) : w;
  }
}
