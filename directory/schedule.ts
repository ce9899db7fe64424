/**
 * Period arithmetic of the directory authorities: when each consensus period starts,
 * its time window, and when an authority tests relays, votes, stops collecting votes,
 * publishes and stops gathering signatures (docs/PROTOCOL.md §6b).
 *
 * With interval I (NetworkTiming.votingIntervalMs), periods start at multiples of I since
 * the Unix epoch. The consensus for the period starting at V has
 *     validAfter = V, freshUntil = V + freshIntervals·I, validUntil = V + validIntervals·I
 * and is prepared during the period before it:
 *     V − 0.6·I  reachability sweep          (SWEEP_LEAD)
 *     V − 0.3·I  vote; start fetching votes  (VOTE_LEAD)
 *     V − 0.15·I stop collecting votes: compute, sign, exchange signatures (COLLECT_LEAD)
 *     V          publish (if signed by a majority)
 *     V + 0.25·I stop gathering late signatures (SIGNATURE_TAIL)
 * A period whose round starts late (the bootstrap period at start-up, or after a stall)
 * keeps the same phase lengths measured from when it starts: at least 0.15·I to collect
 * votes and 0.25·I to gather signatures, and publishes as soon as it may.
 *
 * Pure: every function takes `now` and the timing; no timers here (authority.ts).
 */
import type { TimeWindow } from '../src/dirdoc/index.js';
import type { NetworkTiming } from '../src/io/network-file.js';

export const SWEEP_LEAD = 0.6;
export const VOTE_LEAD = 0.3;
export const COLLECT_LEAD = 0.15;
export const SIGNATURE_TAIL = 0.25;
/** Longest reachability test of one relay (the test also gets at most a quarter of the interval). */
export const MAX_REACHABILITY_TIMEOUT_MS = 2000;

/** Start of the period containing `now`. */
export function periodStart(now: number, timing: NetworkTiming): number {
  return Math.floor(now / timing.votingIntervalMs) * timing.votingIntervalMs;
}

/** True when `t` is a period start for this timing. */
export function isPeriodStart(t: number, timing: NetworkTiming): boolean {
  return Number.isSafeInteger(t) && t >= 0 && t % timing.votingIntervalMs === 0;
}

/** The consensus window of the period starting at `validAfter`. */
export function periodWindow(validAfter: number, timing: NetworkTiming): TimeWindow {
  const i = timing.votingIntervalMs;
  return { validAfter, freshUntil: validAfter + timing.freshIntervals * i, validUntil: validAfter + timing.validIntervals * i };
}

/** Every deadline of one period's round, in ms since the epoch. */
export interface RoundPlan extends TimeWindow {
  /** When the round (vote) starts: V − 0.3·I, or `startedAt` when later. */
  readonly voteAt: number;
  /** Stop waiting for missing votes. */
  readonly collectUntil: number;
  /** Publish no earlier than this (= validAfter). */
  readonly publishAt: number;
  /** Stop fetching missing signatures. */
  readonly signaturesUntil: number;
}

/** The round of period `validAfter`, started at `startedAt` (see the module comment). */
export function planRound(validAfter: number, timing: NetworkTiming, startedAt: number): RoundPlan {
  const i = timing.votingIntervalMs;
  const voteAt = Math.max(validAfter - VOTE_LEAD * i, startedAt);
  const collectUntil = Math.max(validAfter - COLLECT_LEAD * i, voteAt + (VOTE_LEAD - COLLECT_LEAD) * i);
  const signaturesUntil = Math.max(validAfter + SIGNATURE_TAIL * i, collectUntil + SIGNATURE_TAIL * i);
  return { ...periodWindow(validAfter, timing), voteAt: Math.round(voteAt), collectUntil: Math.round(collectUntil), publishAt: validAfter, signaturesUntil: Math.round(signaturesUntil) };
}

/** When the reachability sweep for period `validAfter` runs. */
export function sweepAt(validAfter: number, timing: NetworkTiming): number {
  return Math.round(validAfter - SWEEP_LEAD * timing.votingIntervalMs);
}

/** When the regular round of period `validAfter` votes. */
export function voteAt(validAfter: number, timing: NetworkTiming): number {
  return Math.round(validAfter - VOTE_LEAD * timing.votingIntervalMs);
}

/**
 * The period to prepare after the round of `previous`: normally the next one; after a
 * stall, the period containing `now` (a late round, like the bootstrap round at start-up).
 */
export function periodAfter(previous: number, now: number, timing: NetworkTiming): number {
  return Math.max(previous + timing.votingIntervalMs, periodStart(now, timing));
}

/** Timeout of one reachability test: min(2 s, I/4). */
export function reachabilityTimeoutMs(timing: NetworkTiming): number {
  return Math.min(MAX_REACHABILITY_TIMEOUT_MS, Math.floor(timing.votingIntervalMs / 4));
}

/** Pause between two attempts to fetch missing votes or signatures: I/100 within 25..250 ms. */
export function pollIntervalMs(timing: NetworkTiming): number {
  return Math.min(250, Math.max(25, Math.floor(timing.votingIntervalMs / 100)));
}

/** Timeout of one request to a peer authority: I/5 within 250..5000 ms. */
export function peerRequestTimeoutMs(timing: NetworkTiming): number {
  return Math.min(5000, Math.max(250, Math.floor(timing.votingIntervalMs / 5)));
}
