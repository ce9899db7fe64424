/**
 * Period arithmetic of the directory authorities (directory/schedule.ts): period starts,
 * windows, the deadlines of regular and late (bootstrap) rounds, and the derived timeouts.
 * No crypto, so no provider loop.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  COLLECT_LEAD, SIGNATURE_TAIL, VOTE_LEAD, isPeriodStart, peerRequestTimeoutMs, periodAfter, periodStart, periodWindow,
  planRound, pollIntervalMs, reachabilityTimeoutMs, sweepAt, voteAt,
} from '../../directory/schedule.js';
import { TESTNET_TIMING, DEFAULT_TIMING, type NetworkTiming } from '../../src/io/network-file.js';

const T: NetworkTiming = { votingIntervalMs: 10_000, freshIntervals: 1, validIntervals: 3 };
const V = 1_750_000_000_000; // a multiple of 10 s

describe('period arithmetic', () => {
  it('aligns periods to multiples of the interval since the epoch', () => {
    expect(periodStart(V, T)).toBe(V);
    expect(periodStart(V + 9_999, T)).toBe(V);
    expect(periodStart(V + 10_000, T)).toBe(V + 10_000);
    expect(isPeriodStart(V, T)).toBe(true);
    expect(isPeriodStart(V + 1, T)).toBe(false);
    expect(isPeriodStart(-10_000, T)).toBe(false);
  });

  it('gives validAfter, freshUntil = +1 interval, validUntil = +3 intervals (from the timing)', () => {
    expect(periodWindow(V, T)).toEqual({ validAfter: V, freshUntil: V + 10_000, validUntil: V + 30_000 });
    expect(periodWindow(V, { votingIntervalMs: 2000, freshIntervals: 2, validIntervals: 5 }))
      .toEqual({ validAfter: V, freshUntil: V + 4000, validUntil: V + 10_000 });
  });

  it('plans a regular round inside the period before it: sweep 0.6, vote 0.3, collect until 0.15 before; publish at V; signatures until V + 0.25', () => {
    expect(sweepAt(V, T)).toBe(V - 6000);
    expect(voteAt(V, T)).toBe(V - 3000);
    const plan = planRound(V, T, V - 3000);
    expect(plan).toEqual({
      validAfter: V, freshUntil: V + 10_000, validUntil: V + 30_000,
      voteAt: V - 3000, collectUntil: V - 1500, publishAt: V, signaturesUntil: V + 2500,
    });
  });

  it('gives a late (bootstrap) round the same phase lengths from when it starts, publishing at once', () => {
    const started = V + 4321;
    const plan = planRound(V, T, started);
    expect(plan.voteAt).toBe(started);
    expect(plan.collectUntil).toBe(started + 1500);
    expect(plan.signaturesUntil).toBe(started + 1500 + 2500);
    expect(plan.publishAt).toBe(V);
  });

  it('moves on to the next period, or to the current one after a stall', () => {
    expect(periodAfter(V, V - 3000, T)).toBe(V + 10_000);
    expect(periodAfter(V, V + 25_000, T)).toBe(V + 20_000);
  });

  it('derives timeouts from the interval, within bounds', () => {
    expect(reachabilityTimeoutMs(TESTNET_TIMING)).toBe(2000);
    expect(reachabilityTimeoutMs({ ...T, votingIntervalMs: 2000 })).toBe(500);
    expect(reachabilityTimeoutMs(DEFAULT_TIMING)).toBe(2000);
    expect(pollIntervalMs({ ...T, votingIntervalMs: 1000 })).toBe(25);
    expect(pollIntervalMs(TESTNET_TIMING)).toBe(100);
    expect(pollIntervalMs(DEFAULT_TIMING)).toBe(250);
    expect(peerRequestTimeoutMs({ ...T, votingIntervalMs: 1000 })).toBe(250);
    expect(peerRequestTimeoutMs(TESTNET_TIMING)).toBe(2000);
    expect(peerRequestTimeoutMs(DEFAULT_TIMING)).toBe(5000);
  });

  it('keeps every plan in order, whatever the interval and start time (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1000, max: 3_600_000 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }), fc.double({ min: -1, max: 1, noNaN: true }),
        (interval, fresh, extra, seconds, offset) => {
          const timing = { votingIntervalMs: interval, freshIntervals: fresh, validIntervals: fresh + extra };
          const v = periodStart(seconds * 1000, timing);
          const started = Math.round(v + offset * interval);
          const p = planRound(v, timing, started);
          expect(isPeriodStart(v, timing)).toBe(true);
          expect(p.validAfter).toBeLessThan(p.freshUntil);
          expect(p.freshUntil).toBeLessThanOrEqual(p.validUntil);
          expect(p.voteAt).toBeGreaterThanOrEqual(Math.min(started, voteAt(v, timing)));
          expect(p.collectUntil - p.voteAt).toBeGreaterThanOrEqual(Math.floor((VOTE_LEAD - COLLECT_LEAD) * interval) - 1);
          expect(p.signaturesUntil).toBeGreaterThanOrEqual(p.publishAt + Math.floor(SIGNATURE_TAIL * interval) - 1);
          expect(p.signaturesUntil - p.collectUntil).toBeGreaterThanOrEqual(Math.floor(SIGNATURE_TAIL * interval) - 1);
          expect(sweepAt(v, timing)).toBeLessThan(voteAt(v, timing));
        },
      ),
    );
  });
});
