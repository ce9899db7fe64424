/**
 * The learned circuit build timeout, after Tor's path-spec ("Learning when to give up
 * ('timeout') on circuit construction"). Pure: the caller measures and reports; no clock.
 *
 *   - keep the last `maxSamples` (1000) observations of 3-hop builds: completed builds
 *     (`record(ms)`) and builds abandoned unfinished after some time (`recordTimeout(ms)`);
 *   - until `minSamples` (Tor 100; testnets 20) builds completed, the timeout is
 *     `initialTimeoutMs` (Tor 60 s; ours 10 s: a chive circuit is three loopback-to-WAN
 *     round trips, and a client that waits a minute for its first circuit feels broken);
 *   - then fit a Pareto distribution: Xm is the count-weighted mean of the midpoints of
 *     the `modes` (10) fullest histogram bins of `binWidthMs` (10 ms; ties to the faster
 *     bin), and alpha the maximum-likelihood estimate with right-censoring:
 *        alpha = s / (Σ_completed ln(max(Xm, x)/Xm) + Σ_abandoned ln(max(Xm, c)/Xm))
 *     (s completed builds; an abandoned build only says "longer than c"). Modern Tor drops
 *     abandoned builds because its measurement circuits keep building past the timeout;
 *     a client that kills builds at the timeout and dropped them would see only the fast
 *     part of the distribution and ratchet its timeout down, so we keep them as censored
 *     observations, as the original path-spec estimator did;
 *   - timeoutMs = Xm / (1 − quantile)^(1/alpha) (quantile 0.8: the fastest 80 % of paths),
 *     at most the longest observation, clamped to [minTimeoutMs, maxTimeoutMs];
 *     closeTimeoutMs likewise at closeQuantile (0.99), at most twice the longest
 *     observation, never below timeoutMs: how long a measuring caller may let a circuit
 *     that passed timeoutMs go on building;
 *   - network change: of the last `recentCount` (20) outcomes, a completed build slower
 *     than the timeout in force or an abandoned one is a timeout; `maxRecentTimeouts` (18)
 *     of them discard the history and go back to `initialTimeoutMs`, or double the timeout
 *     (up to maxTimeoutMs) when it already was at least that. Recent outcomes are not saved.
 *
 * Not here: timers, circuits, or which builds to report (only 3-hop builds, whole).
 */
import { ChiveError } from '../src/errors.js';

export interface BuildTimeoutOptions {
  /** Observations kept (Tor: 1000). */
  readonly maxSamples: number;
  /** Completed builds needed before the timeout is learned (Tor: 100). */
  readonly minSamples: number;
  /** Timeout while learning, ms. */
  readonly initialTimeoutMs: number;
  /** Fraction of builds that should finish within timeoutMs (Tor: 0.8). */
  readonly quantile: number;
  /** Quantile for closeTimeoutMs (Tor: 0.99). */
  readonly closeQuantile: number;
  /** Histogram bin width for Xm, ms (Tor: 10). */
  readonly binWidthMs: number;
  /** Fullest bins averaged into Xm (Tor: 10). */
  readonly modes: number;
  /** Floor of every timeout, ms (Tor: 10). */
  readonly minTimeoutMs: number;
  /** Ceiling of every timeout, ms. */
  readonly maxTimeoutMs: number;
  /** Recent outcomes watched for a network change (Tor: 20). */
  readonly recentCount: number;
  /** Timeouts among them that reset the learning (Tor: 18). */
  readonly maxRecentTimeouts: number;
}

export const DEFAULT_BUILD_TIMEOUT_OPTIONS: BuildTimeoutOptions = {
  maxSamples: 1000, minSamples: 100, initialTimeoutMs: 10_000, quantile: 0.8, closeQuantile: 0.99, binWidthMs: 10,
  modes: 10, minTimeoutMs: 10, maxTimeoutMs: 60_000, recentCount: 20, maxRecentTimeouts: 18,
};

/** Loopback test networks: builds take milliseconds, so learn sooner and bin finer. */
export const TESTNET_BUILD_TIMEOUT_OPTIONS: BuildTimeoutOptions = {
  ...DEFAULT_BUILD_TIMEOUT_OPTIONS, minSamples: 20, initialTimeoutMs: 5_000, binWidthMs: 1,
};

export interface ParetoFit {
  readonly xm: number;
  readonly alpha: number;
}

/** Persistent state (JSON-safe). */
export interface BuildTimeoutState {
  readonly version: 1;
  /** Oldest first: [ms, 0] for a completed build, [ms, 1] for a build abandoned after ms. */
  readonly observations: readonly (readonly [number, 0 | 1])[];
  /** The timeout in force while learning (initialTimeoutMs, or more after a reset doubled it). */
  readonly learningTimeoutMs: number;
}

interface Observation {
  readonly ms: number;
  readonly censored: boolean;
}

/** Pareto quantile function: the value below which a fraction q of the mass lies. */
export function paretoQuantile(fit: ParetoFit, q: number): number {
  return fit.xm / (1 - q) ** (1 / fit.alpha);
}

/** Xm as Tor computes it: weighted mean of the midpoints of the `modes` fullest bins (ties: faster bin first). */
export function estimateXm(completed: readonly number[], binWidthMs: number, modes: number): number {
  const counts = new Map<number, number>();
  for (const ms of completed) {
    const bin = Math.floor(ms / binWidthMs);
    counts.set(bin, (counts.get(bin) ?? 0) + 1);
  }
  return xmFromHistogram(counts, binWidthMs, modes);
}

/** estimateXm over a histogram (bin index → count), in one pass keeping the `modes` best bins. */
function xmFromHistogram(counts: ReadonlyMap<number, number>, binWidthMs: number, modes: number): number {
  const top: [number, number][] = [];
  const better = (a: [number, number], b: [number, number]): boolean => a[1] > b[1] || (a[1] === b[1] && a[0] < b[0]);
  for (const entry of counts) {
    if (top.length === modes && !better(entry, top[top.length - 1]!)) continue;
    let i = Math.min(top.length, modes - 1);
    top[i] = entry;
    while (i > 0 && better(top[i]!, top[i - 1]!)) {
      [top[i], top[i - 1]] = [top[i - 1]!, top[i]!];
      i--;
    }
  }
  let weighted = 0;
  let total = 0;
  for (const [bin, count] of top) {
    weighted += (bin + 0.5) * binWidthMs * count;
    total += count;
  }
  return weighted / total;
}

/** The right-censored maximum-likelihood alpha for a given Xm (Infinity when every value is at or below Xm). */
export function estimateAlpha(completed: readonly number[], censored: readonly number[], xm: number): number {
  let sum = 0;
  for (const x of completed) sum += Math.log(Math.max(xm, x) / xm);
  for (const c of censored) sum += Math.log(Math.max(xm, c) / xm);
  return sum > 0 ? completed.length / sum : Infinity;
}

function invalid(message: string): never {
  throw new ChiveError('INVALID_ARGUMENT', message);
}

function checkOptions(o: BuildTimeoutOptions): void {
  const int = (v: number, min: number, what: string): void => {
    if (!Number.isInteger(v) || v < min) invalid(`build timeout option ${what} must be an integer ≥ ${min}, got ${v}`);
  };
  const pos = (v: number, what: string): void => {
    if (!Number.isFinite(v) || v <= 0) invalid(`build timeout option ${what} must be a positive number, got ${v}`);
  };
  int(o.maxSamples, 1, 'maxSamples');
  int(o.minSamples, 1, 'minSamples');
  int(o.modes, 1, 'modes');
  int(o.recentCount, 1, 'recentCount');
  int(o.maxRecentTimeouts, 1, 'maxRecentTimeouts');
  for (const k of ['initialTimeoutMs', 'binWidthMs', 'minTimeoutMs', 'maxTimeoutMs'] as const) pos(o[k], k);
  if (o.minTimeoutMs > o.maxTimeoutMs) invalid('build timeout option minTimeoutMs exceeds maxTimeoutMs');
  if (o.initialTimeoutMs < o.minTimeoutMs || o.initialTimeoutMs > o.maxTimeoutMs) invalid('build timeout option initialTimeoutMs must lie within minTimeoutMs..maxTimeoutMs');
  if (!(o.quantile > 0 && o.quantile < 1)) invalid(`build timeout option quantile must be in (0, 1), got ${o.quantile}`);
  if (!(o.closeQuantile >= o.quantile && o.closeQuantile < 1)) invalid('build timeout option closeQuantile must be in [quantile, 1)');
}

function checkMs(ms: number, what: string): void {
  if (!Number.isFinite(ms) || ms < 0) invalid(`${what} must be a finite number of ms ≥ 0, got ${ms}`);
}

/** Learns the circuit build timeout from observed builds (see the module comment). */
export class BuildTimeoutEstimator {
  readonly options: BuildTimeoutOptions;
  #observations: Observation[] = [];
  #completed = 0;
  /** Histogram of the completed builds held: bin index → count. */
  #bins = new Map<number, number>();
  #recent: boolean[] = [];
  #learningTimeoutMs: number;
  #timeoutMs: number;
  #closeTimeoutMs: number;
  #fit: ParetoFit | undefined;
  #resets = 0;

  constructor(options: Partial<BuildTimeoutOptions> = {}, state?: BuildTimeoutState) {
    this.options = { ...DEFAULT_BUILD_TIMEOUT_OPTIONS, ...options };
    checkOptions(this.options);
    this.#learningTimeoutMs = this.options.initialTimeoutMs;
    this.#timeoutMs = this.#closeTimeoutMs = this.#learningTimeoutMs;
    if (state !== undefined) this.#restore(state);
    this.#recompute();
  }

  /** The timeout for a 3-hop build, ms. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** How long a caller that measures the tail may let a build past timeoutMs go on, ms. */
  get closeTimeoutMs(): number {
    return this.#closeTimeoutMs;
  }

  /** The Pareto fit in force, or undefined while learning. */
  get fit(): ParetoFit | undefined {
    return this.#fit;
  }

  /** True until minSamples completed builds are held. */
  get learning(): boolean {
    return this.#fit === undefined;
  }

  /** Completed builds held. */
  get completedCount(): number {
    return this.#completed;
  }

  /** Observations held (completed and abandoned). */
  get observationCount(): number {
    return this.#observations.length;
  }

  /** Times the history was discarded because too many recent builds timed out. */
  get resets(): number {
    return this.#resets;
  }

  /** timeoutMs scaled for a build of `hops` hops by Tor's Actions(N) = N(N+1)/2 round trips. */
  timeoutMsForHops(hops: number): number {
    if (!Number.isInteger(hops) || hops < 1) invalid(`hops must be a positive integer, got ${hops}`);
    return (this.#timeoutMs * hops * (hops + 1)) / 12;
  }

  /** A 3-hop build completed in `ms`. */
  record(ms: number): void {
    checkMs(ms, 'build time');
    const timedOut = ms > this.#timeoutMs;
    this.#push({ ms, censored: false });
    this.#outcome(timedOut);
  }

  /** A 3-hop build was abandoned unfinished after `elapsedMs` (default: the timeout in force). */
  recordTimeout(elapsedMs: number = this.#timeoutMs): void {
    checkMs(elapsedMs, 'elapsed time');
    this.#push({ ms: elapsedMs, censored: true });
    this.#outcome(true);
  }

  toJSON(): BuildTimeoutState {
    return {
      version: 1,
      observations: this.#observations.map((o) => [o.ms, o.censored ? 1 : 0] as const),
      learningTimeoutMs: this.#learningTimeoutMs,
    };
  }

  /** Restores from `toJSON()` output (e.g. parsed from a file); CLIENT_STATE_CORRUPT when it is not one. */
  static fromJSON(value: unknown, options: Partial<BuildTimeoutOptions> = {}): BuildTimeoutEstimator {
    const corrupt = (why: string): never => {
      throw new ChiveError('CLIENT_STATE_CORRUPT', `build timeout state: ${why}`);
    };
    if (value === null || typeof value !== 'object') corrupt('not an object');
    const v = value as Record<string, unknown>;
    if (v['version'] !== 1) corrupt(`unsupported version ${String(v['version'])}`);
    const obs = v['observations'];
    if (!Array.isArray(obs)) corrupt('observations must be a list');
    const observations = (obs as unknown[]).map((o, i) => {
      if (!Array.isArray(o) || o.length !== 2 || typeof o[0] !== 'number' || !Number.isFinite(o[0]) || o[0] < 0 || (o[1] !== 0 && o[1] !== 1)) {
        return corrupt(`observation ${i} is not [ms ≥ 0, 0 | 1]`);
      }
      return [o[0], o[1]] as const;
    });
    const learningTimeoutMs = v['learningTimeoutMs'];
    if (typeof learningTimeoutMs !== 'number' || !Number.isFinite(learningTimeoutMs) || learningTimeoutMs <= 0) corrupt('learningTimeoutMs must be a positive number');
    return new BuildTimeoutEstimator(options, { version: 1, observations, learningTimeoutMs: learningTimeoutMs as number });
  }

  #restore(state: BuildTimeoutState): void {
    const { maxSamples, minTimeoutMs, maxTimeoutMs } = this.options;
    for (const [ms, censored] of state.observations.slice(-maxSamples)) this.#push({ ms, censored: censored === 1 }, false);
    this.#learningTimeoutMs = Math.min(maxTimeoutMs, Math.max(minTimeoutMs, state.learningTimeoutMs));
  }

  #push(o: Observation, recompute = true): void {
    this.#observations.push(o);
    if (!o.censored) this.#count(o.ms, 1);
    while (this.#observations.length > this.options.maxSamples) {
      const old = this.#observations.shift()!;
      if (!old.censored) this.#count(old.ms, -1);
    }
    if (recompute) this.#recompute();
  }

  #count(ms: number, delta: 1 | -1): void {
    this.#completed += delta;
    const bin = Math.floor(ms / this.options.binWidthMs);
    const n = (this.#bins.get(bin) ?? 0) + delta;
    if (n === 0) this.#bins.delete(bin);
    else this.#bins.set(bin, n);
  }

  #outcome(timedOut: boolean): void {
    const { recentCount, maxRecentTimeouts, initialTimeoutMs, maxTimeoutMs } = this.options;
    this.#recent.push(timedOut);
    if (this.#recent.length > recentCount) this.#recent.shift();
    if (this.#recent.filter(Boolean).length < maxRecentTimeouts) return;
    const before = this.#timeoutMs;
    this.#learningTimeoutMs = before >= initialTimeoutMs ? Math.min(maxTimeoutMs, before * 2) : initialTimeoutMs;
    this.#observations = [];
    this.#completed = 0;
    this.#bins.clear();
    this.#recent = [];
    this.#resets++;
    this.#recompute();
  }

  #recompute(): void {
    const { minSamples, binWidthMs, modes, quantile, closeQuantile, minTimeoutMs, maxTimeoutMs } = this.options;
    if (this.#completed < minSamples) {
      this.#fit = undefined;
      this.#timeoutMs = this.#closeTimeoutMs = this.#learningTimeoutMs;
      return;
    }
    const xm = xmFromHistogram(this.#bins, binWidthMs, modes);
    let sum = 0;
    let longest = 0;
    for (const o of this.#observations) {
      if (o.ms > xm) sum += Math.log(o.ms / xm);
      longest = Math.max(longest, o.ms);
    }
    const fit = { xm, alpha: sum > 0 ? this.#completed / sum : Infinity }; // estimateAlpha, without copying
    const clamp = (ms: number): number => Math.min(maxTimeoutMs, Math.max(minTimeoutMs, ms));
    this.#fit = fit;
    this.#timeoutMs = clamp(Math.min(paretoQuantile(fit, quantile), longest));
    this.#closeTimeoutMs = Math.max(this.#timeoutMs, clamp(Math.min(paretoQuantile(fit, closeQuantile), 2 * longest)));
  }
}
