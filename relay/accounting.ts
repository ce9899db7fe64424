/**
 * Accounting (AccountingMax / AccountingPeriod): the bytes a relay reads and writes in one
 * period (a UTC day, a week from Monday 00:00 UTC, or a calendar month in UTC) and
 * hibernation once they reach the maximum: the relay refuses new circuits and closes the
 * ones it carries until the period ends, then wakes up by itself.
 *
 * `Accounting` is pure: the caller feeds it byte counts and the time, and acts on the
 * events it returns (the daemon sets RelayNode.hibernating, destroys circuits, logs and
 * publishes the state on /status.json). The state (period start, bytes used) survives
 * restarts through `toJSON` / the `saved` option; a saved state of another period is
 * ignored. The count is checked whenever bytes are added (once a second in the daemon), so
 * the relay may pass the maximum by about one second of traffic.
 *
 * Not the per-second rate limit (relay/bandwidth.ts) and not how bytes are measured
 * (relay/bandwidth-meter.ts).
 */
import { ChiveError } from '../src/errors.js';
import type { AccountingPeriod } from './config-keys.js';

const DAY_MS = 24 * 3600 * 1000;

/** The accounting period containing `t` (ms since the epoch): [start, end). */
export function accountingPeriodBounds(period: AccountingPeriod, t: number): { start: number; end: number } {
  const d = new Date(t);
  const dayStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  switch (period) {
    case 'day':
      return { start: dayStart, end: dayStart + DAY_MS };
    case 'week': {
      const sinceMonday = (d.getUTCDay() + 6) % 7;
      const start = dayStart - sinceMonday * DAY_MS;
      return { start, end: start + 7 * DAY_MS };
    }
    case 'month':
      return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
  }
}

/** What is saved between runs. */
export interface AccountingState {
  readonly periodStart: number;
  readonly bytes: number;
}

/** Parses a saved state (JSON text); null when it is not one (the caller starts afresh). */
export function parseAccountingState(text: string): AccountingState | null {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null) return null;
    const { periodStart, bytes } = v as Record<string, unknown>;
    if (!Number.isSafeInteger(periodStart) || !Number.isSafeInteger(bytes) || (bytes as number) < 0) return null;
    return { periodStart: periodStart as number, bytes: bytes as number };
  } catch {
    return null;
  }
}

export type AccountingEvent =
  | { readonly kind: 'hibernate'; readonly used: number; readonly max: number; readonly until: number }
  | { readonly kind: 'wake'; readonly periodStart: number };

/** The accounting state as /status.json shows it. */
export interface AccountingSnapshot {
  readonly max: number;
  readonly period: AccountingPeriod;
  readonly periodStart: number;
  readonly periodEnd: number;
  readonly used: number;
  readonly hibernating: boolean;
}

export interface AccountingOptions {
  /** Bytes (read + written) per period; > 0. */
  readonly max: number;
  readonly period: AccountingPeriod;
  readonly now: number;
  /** The state saved by an earlier run, if any. */
  readonly saved?: AccountingState | null;
}

export class Accounting {
  readonly max: number;
  readonly period: AccountingPeriod;
  private periodStart: number;
  private periodEnd: number;
  private used: number;
  private asleep = false;

  constructor(options: AccountingOptions) {
    if (!(options.max > 0)) throw new ChiveError('INVALID_ARGUMENT', 'accounting needs a maximum above 0');
    this.max = options.max;
    this.period = options.period;
    const { start, end } = accountingPeriodBounds(options.period, options.now);
    this.periodStart = start;
    this.periodEnd = end;
    this.used = options.saved && options.saved.periodStart === start ? options.saved.bytes : 0;
  }

  get hibernating(): boolean {
    return this.asleep;
  }

  /**
   * Counts `bytes` more at time `now`. Returns 'wake' when a new period began while
   * hibernating, 'hibernate' when the maximum is reached, else null. Call with 0 bytes to
   * check the time alone (the first call after start reports a limit already reached).
   */
  add(bytes: number, now: number): AccountingEvent | null {
    let event: AccountingEvent | null = null;
    if (now >= this.periodEnd) {
      const { start, end } = accountingPeriodBounds(this.period, now);
      this.periodStart = start;
      this.periodEnd = end;
      this.used = 0;
      if (this.asleep) {
        this.asleep = false;
        event = { kind: 'wake', periodStart: start };
      }
    }
    this.used += Math.max(0, bytes);
    if (!this.asleep && this.used >= this.max) {
      this.asleep = true;
      return { kind: 'hibernate', used: this.used, max: this.max, until: this.periodEnd };
    }
    return event;
  }

  snapshot(): AccountingSnapshot {
    return {
      max: this.max,
      period: this.period,
      periodStart: this.periodStart,
      periodEnd: this.periodEnd,
      used: this.used,
      hibernating: this.asleep,
    };
  }

  toJSON(): AccountingState {
    return { periodStart: this.periodStart, bytes: this.used };
  }
}
