/**
 * The learned circuit build timeout (client/build-timeout.ts). Synthetic build times are
 * drawn from Pareto distributions of known Xm and alpha with a seeded generator; the
 * estimator must recover the true quantile within Z standard errors, where the standard
 * error comes from the sample size: for the maximum-likelihood alpha with n completed
 * builds, 1/alpha-hat has standard deviation 1/(alpha·√n) (exactly, when Xm is known),
 * so ln(quantile) = ln Xm − ln(1 − q)/alpha has sd |ln(1 − q)| / (alpha·√n). Tor's Xm
 * (the mean of the fullest histogram bins) sits a little above the true Xm; its effect
 * on the quantile is the closed form `modeBias` below, evaluated at the estimator's own
 * Xm, so the tolerance stays the sampling error and nothing else. Also: the initial
 * timeout before minSamples, censored timeouts, a caller that kills builds at the
 * timeout, adaptation after a run of timeouts, floors and ceilings, state round trip.
 */
import { describe, expect, it } from 'vitest';
import { isChiveError } from '../../src/errors.js';
import {
  BuildTimeoutEstimator, DEFAULT_BUILD_TIMEOUT_OPTIONS, TESTNET_BUILD_TIMEOUT_OPTIONS, estimateAlpha, estimateXm,
  paretoQuantile,
} from '../../client/build-timeout.js';
import { seeded } from '../support/seeded.js';

/** Standard errors allowed (two-sided tail ≈ 6e-5 per check). */
const Z = 4;


/** Pareto(xm, alpha) by inversion. */
function paretoSampler(xm: number, alpha: number, seed: number): () => number {
  const rng = seeded(seed);
  return () => xm / (1 - rng()) ** (1 / alpha);
}

/** sd of ln(quantile q) for the ML alpha from `completed` builds. */
function logQuantileSd(alpha: number, q: number, completed: number): number {
  return Math.abs(Math.log(1 - q)) / (alpha * Math.sqrt(completed));
}

/**
 * Expected ln(estimate / truth) when the estimator uses `xmHat` ≥ Xm: values above xmHat are
 * again Pareto(alpha) from xmHat and values below it count as xmHat, so alpha-hat tends to
 * alpha·(xmHat/Xm)^alpha.
 */
function modeBias(xm: number, alpha: number, q: number, xmHat: number): number {
  return Math.log(xmHat / xm) - (Math.log(1 - q) * ((xm / xmHat) ** alpha - 1)) / alpha;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isChiveError(e) ? e.code : `not a ChiveError: ${String(e)}`;
  }
}

describe('Pareto fitting', () => {
  it('with Xm known, the ML alpha recovers the quantile within Z standard errors (20 seeds)', () => {
    const [xm, alpha, q, n] = [1000, 2.5, 0.8, 5000];
    const truth = paretoQuantile({ xm, alpha }, q);
    for (let seed = 1; seed <= 20; seed++) {
      const draw = paretoSampler(xm, alpha, seed);
      const xs = Array.from({ length: n }, draw);
      const est = paretoQuantile({ xm, alpha: estimateAlpha(xs, [], xm) }, q);
      expect(Math.abs(Math.log(est / truth))).toBeLessThanOrEqual(Z * logQuantileSd(alpha, q, n));
    }
  });

  it('Xm is the count-weighted mean of the fullest bins\' midpoints, ties to the faster bin', () => {
    expect(estimateXm([12, 13, 14, 25, 26, 37], 10, 1)).toBe(15);
    expect(estimateXm([12, 13, 25, 26, 37], 10, 1)).toBe(15); // bins 1 and 2 tie: the faster wins
    expect(estimateXm([12, 13, 14, 25, 26, 37], 10, 2)).toBe((15 * 3 + 25 * 2) / 5);
    expect(estimateXm([5], 10, 10)).toBe(5);
  });

  it('alpha is Infinity when nothing lies above Xm (the quantile is Xm)', () => {
    expect(estimateAlpha([5, 5, 5], [], 5)).toBe(Infinity);
    expect(paretoQuantile({ xm: 5, alpha: Infinity }, 0.8)).toBe(5);
  });
});

describe('BuildTimeoutEstimator', () => {
  it('uses the initial timeout until minSamples builds completed', () => {
    const est = new BuildTimeoutEstimator({ minSamples: 20 });
    expect(est.timeoutMs).toBe(10_000);
    expect(est.closeTimeoutMs).toBe(10_000);
    const draw = paretoSampler(100, 3, 1);
    for (let i = 0; i < 19; i++) est.record(draw());
    expect(est.learning).toBe(true);
    expect(est.timeoutMs).toBe(DEFAULT_BUILD_TIMEOUT_OPTIONS.initialTimeoutMs);
    est.recordTimeout(); // an abandoned build is no completed one
    expect(est.learning).toBe(true);
    est.record(draw());
    expect(est.learning).toBe(false);
    expect(est.timeoutMs).toBeLessThan(1000);
    expect(est.closeTimeoutMs).toBeGreaterThanOrEqual(est.timeoutMs);
  });

  it.each([
    { xm: 1000, alpha: 2, samples: 1000, seed: 11 },
    { xm: 1500, alpha: 3, samples: 1000, seed: 12 },
    { xm: 800, alpha: 1.5, samples: 10_000, seed: 13 },
  ])('recovers the 80th percentile of Pareto(Xm $xm, alpha $alpha) from $samples builds', ({ xm, alpha, samples, seed }) => {
    const q = DEFAULT_BUILD_TIMEOUT_OPTIONS.quantile;
    const est = new BuildTimeoutEstimator({ maxSamples: samples });
    const draw = paretoSampler(xm, alpha, seed);
    for (let i = 0; i < samples; i++) est.record(draw());
    const truth = paretoQuantile({ xm, alpha }, q);
    const fit = est.fit!;
    expect(fit.xm).toBeGreaterThanOrEqual(xm - DEFAULT_BUILD_TIMEOUT_OPTIONS.binWidthMs / 2);
    const err = Math.log(est.timeoutMs / truth) - modeBias(xm, alpha, q, fit.xm);
    expect(Math.abs(err)).toBeLessThanOrEqual(Z * logQuantileSd(alpha, q, samples));
    expect(est.resets).toBe(0);
  });

  it('counts abandoned builds as censored: still the right quantile, where ignoring them would not be', () => {
    const [xm, alpha, q, n] = [1000, 2, 0.8, 1000];
    const truth = paretoQuantile({ xm, alpha }, q);
    const cutoff = paretoQuantile({ xm, alpha }, 0.85);
    const est = new BuildTimeoutEstimator({ maxSamples: n, maxRecentTimeouts: 21 });
    const naive = new BuildTimeoutEstimator({ maxSamples: n });
    const draw = paretoSampler(xm, alpha, 21);
    let completed = 0;
    for (let i = 0; i < n; i++) {
      const x = draw();
      if (x > cutoff) est.recordTimeout(cutoff);
      else {
        est.record(x);
        naive.record(x);
        completed++;
      }
    }
    const tolerance = Z * logQuantileSd(alpha, q, completed);
    expect(Math.abs(Math.log(est.timeoutMs / truth) - modeBias(xm, alpha, q, est.fit!.xm))).toBeLessThanOrEqual(tolerance);
    expect(Math.log(naive.timeoutMs / truth)).toBeLessThan(-tolerance); // the truncated sample ratchets down
  });

  it('a caller that abandons every build at the timeout keeps a timeout at the true quantile', () => {
    const [xm, alpha, q] = [500, 2.5, 0.8];
    const truth = paretoQuantile({ xm, alpha }, q);
    const est = new BuildTimeoutEstimator();
    const draw = paretoSampler(xm, alpha, 5);
    let timeouts = 0;
    let expectedTimeouts = 0; // Σ P(build > timeout in force), each build given the past
    let variance = 0;
    for (let i = 0; i < 5000; i++) {
      const p = Math.min(1, (xm / est.timeoutMs) ** alpha);
      expectedTimeouts += p;
      variance += p * (1 - p);
      const x = draw();
      if (x > est.timeoutMs) {
        est.recordTimeout();
        timeouts++;
      } else est.record(x);
    }
    expect(est.resets).toBe(0);
    expect(est.observationCount).toBe(1000);
    const completed = est.completedCount;
    expect(Math.abs(Math.log(est.timeoutMs / truth) - modeBias(xm, alpha, q, est.fit!.xm))).toBeLessThanOrEqual(Z * logQuantileSd(alpha, q, completed));
    // The timeouts seen are those the timeouts in force predict (a martingale: sd √Σp(1−p)).
    expect(Math.abs(timeouts - expectedTimeouts)).toBeLessThanOrEqual(Z * Math.sqrt(variance));
  });

  it('a run of timeouts (the network got slower) discards the history and goes back to the initial timeout, then doubles', () => {
    const est = new BuildTimeoutEstimator({ minSamples: 20 });
    const draw = paretoSampler(50, 3, 8);
    for (let i = 0; i < 100; i++) est.record(draw());
    expect(est.timeoutMs).toBeLessThan(200);
    for (let i = 0; i < 17; i++) est.recordTimeout();
    expect(est.learning).toBe(false);
    est.record(10 * est.timeoutMs); // a slow completed build counts as a timeout too: the 18th
    expect(est.resets).toBe(1);
    expect(est.learning).toBe(true);
    expect(est.observationCount).toBe(0);
    expect(est.timeoutMs).toBe(10_000);
    for (let i = 0; i < 18; i++) est.recordTimeout();
    expect(est.timeoutMs).toBe(20_000);
    for (let i = 0; i < 18; i++) est.recordTimeout();
    expect(est.timeoutMs).toBe(40_000);
    for (let i = 0; i < 18; i++) est.recordTimeout();
    expect(est.timeoutMs).toBe(60_000); // maxTimeoutMs
    expect(est.resets).toBe(4);
  });

  it('an occasional timeout among successes does not reset anything', () => {
    const est = new BuildTimeoutEstimator({ minSamples: 20 });
    const draw = paretoSampler(50, 3, 9);
    for (let i = 0; i < 200; i++) {
      if (i % 3 === 0) est.recordTimeout();
      else est.record(draw());
    }
    expect(est.resets).toBe(0);
    expect(est.learning).toBe(false);
  });

  it('keeps the last maxSamples observations and follows a change of distribution', () => {
    const est = new BuildTimeoutEstimator({ maxSamples: 200, minSamples: 50, maxRecentTimeouts: 21 });
    const fast = paretoSampler(100, 3, 3);
    const slow = paretoSampler(1000, 3, 4);
    for (let i = 0; i < 200; i++) est.record(fast());
    const before = est.timeoutMs;
    for (let i = 0; i < 200; i++) est.record(slow());
    expect(est.observationCount).toBe(200);
    expect(est.timeoutMs / before).toBeGreaterThan(8);
  });

  it('floors, ceilings and the cap at the longest observation', () => {
    const tiny = new BuildTimeoutEstimator({ minSamples: 20, binWidthMs: 0.01 });
    for (let i = 0; i < 30; i++) tiny.record(0.5 + i / 100);
    expect(tiny.timeoutMs).toBe(DEFAULT_BUILD_TIMEOUT_OPTIONS.minTimeoutMs);
    const huge = new BuildTimeoutEstimator({ minSamples: 20, maxRecentTimeouts: 21 });
    const draw = paretoSampler(100_000, 1, 2);
    for (let i = 0; i < 30; i++) huge.record(draw());
    expect(huge.timeoutMs).toBe(DEFAULT_BUILD_TIMEOUT_OPTIONS.maxTimeoutMs);
    const capped = new BuildTimeoutEstimator({ minSamples: 20, modes: 1 });
    for (let i = 0; i < 19; i++) capped.record(100);
    capped.record(101); // a fit with a heavy tail would put the quantile far above anything seen
    expect(capped.timeoutMs).toBeLessThanOrEqual(101);
  });

  it('scales the timeout for other circuit lengths by Actions(N) = N(N+1)/2', () => {
    const est = new BuildTimeoutEstimator();
    expect(est.timeoutMsForHops(3)).toBe(est.timeoutMs);
    expect(est.timeoutMsForHops(1)).toBeCloseTo(est.timeoutMs / 6);
    expect(est.timeoutMsForHops(4)).toBeCloseTo((est.timeoutMs * 10) / 6);
    expect(codeOf(() => est.timeoutMsForHops(0))).toBe('INVALID_ARGUMENT');
  });

  it('serialises and restores its state (through JSON), trimming to maxSamples', () => {
    const est = new BuildTimeoutEstimator(TESTNET_BUILD_TIMEOUT_OPTIONS);
    const draw = paretoSampler(3, 2, 6);
    for (let i = 0; i < 50; i++) est.record(draw());
    est.recordTimeout(7);
    const json = JSON.parse(JSON.stringify(est.toJSON()));
    const back = BuildTimeoutEstimator.fromJSON(json, TESTNET_BUILD_TIMEOUT_OPTIONS);
    expect(back.timeoutMs).toBe(est.timeoutMs);
    expect(back.closeTimeoutMs).toBe(est.closeTimeoutMs);
    expect(back.fit).toEqual(est.fit);
    expect(back.toJSON()).toEqual(est.toJSON());
    const trimmed = BuildTimeoutEstimator.fromJSON(json, { ...TESTNET_BUILD_TIMEOUT_OPTIONS, maxSamples: 10 });
    expect(trimmed.observationCount).toBe(10);
    expect(trimmed.toJSON().observations).toEqual(json.observations.slice(-10));
  });

  it('refuses corrupt state with CLIENT_STATE_CORRUPT and bad input with INVALID_ARGUMENT', () => {
    for (const bad of [null, 3, { version: 2, observations: [], learningTimeoutMs: 1 }, { version: 1, observations: {}, learningTimeoutMs: 1 },
      { version: 1, observations: [[1, 2]], learningTimeoutMs: 1 }, { version: 1, observations: [[-1, 0]], learningTimeoutMs: 1 },
      { version: 1, observations: [], learningTimeoutMs: 0 }]) {
      expect(codeOf(() => BuildTimeoutEstimator.fromJSON(bad))).toBe('CLIENT_STATE_CORRUPT');
    }
    const est = new BuildTimeoutEstimator();
    expect(codeOf(() => est.record(-1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => est.record(Number.NaN))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => est.recordTimeout(Infinity))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new BuildTimeoutEstimator({ quantile: 1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new BuildTimeoutEstimator({ closeQuantile: 0.5 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new BuildTimeoutEstimator({ minSamples: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new BuildTimeoutEstimator({ initialTimeoutMs: 1 }))).toBe('INVALID_ARGUMENT');
  });
});
