/**
 * The soak judgement: does any process's memory (or another per-process figure) grow
 * without bound? Pure: a list of samples in, a verdict out.
 *
 *   detectUnboundedGrowth(samples, { warmupMs: 10 * 60_000, maxGrowth: 0.10 })
 *
 * For each series (samples of one process `name`), after the warm-up (counted from the
 * first sample of the whole run, or `startedAt`):
 *   baseline = median of the samples in the first `windowMs` after the warm-up
 *   final    = median of the samples in the last `windowMs` of the series
 *   growth   = final / baseline − 1
 * and the series passes when growth ≤ maxGrowth (within 1e-9 of rounding). Medians over a window (default 1 min,
 * and at least 3 samples when there are that many) keep one garbage-collection peak or
 * trough from deciding alone; a leak shows as a final window well above the baseline.
 * `peakGrowth` (highest single sample / baseline − 1) and `slopePerHour` (least-squares
 * slope of the post-warm-up samples, as a fraction of the baseline per hour) are reported
 * for the reader, not judged.
 *
 * A series with fewer than 2 samples after the warm-up, or whose baseline and final windows
 * overlap entirely, is 'insufficient': the run was too short to judge it. The verdict is ok
 * only when at least one series was judged and none grew or was insufficient.
 *
 * Not here: taking samples (resource-sampler.ts).
 */
import { ChiveError } from '../src/errors.js';

/** What the judgement needs of a sample. */
export interface GrowthSample {
  /** Process (series) name. */
  readonly name: string;
  /** ms (any epoch, the same for every sample). */
  readonly t: number;
  readonly rssBytes: number;
  readonly openFds?: number;
  readonly cpuMs?: number;
}

export type GrowthMetric = 'rssBytes' | 'openFds';

export interface GrowthOptions {
  /** Samples before startedAt + warmupMs are not judged. */
  readonly warmupMs: number;
  /** Largest allowed final / baseline − 1, e.g. 0.10. */
  readonly maxGrowth: number;
  /** Width of the baseline and final windows (default 60 s). */
  readonly windowMs?: number;
  /** Figure judged (default rssBytes). */
  readonly metric?: GrowthMetric;
  /** Start of the run (default: the earliest sample). */
  readonly startedAt?: number;
}

export interface SeriesVerdict {
  readonly name: string;
  readonly status: 'ok' | 'grew' | 'insufficient';
  /** Samples after the warm-up. */
  readonly samples: number;
  readonly baseline: number | null;
  readonly final: number | null;
  /** final / baseline − 1 (null when insufficient). */
  readonly growth: number | null;
  readonly peakGrowth: number | null;
  readonly slopePerHour: number | null;
}

export interface GrowthVerdict {
  readonly ok: boolean;
  readonly metric: GrowthMetric;
  readonly maxGrowth: number;
  readonly series: readonly SeriesVerdict[];
  /** One line per series that grew or could not be judged. */
  readonly problems: readonly string[];
}

const DEFAULT_WINDOW_MS = 60_000;
const MIN_WINDOW_SAMPLES = 3;
const HOUR_MS = 3_600_000;
/** Floating-point slack: a growth of exactly maxGrowth (e.g. 110 / 100 − 1) passes. */
const GROWTH_EPSILON = 1e-9;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Samples at the start (or end) of `points` spanning `windowMs`, at least MIN_WINDOW_SAMPLES when available. */
function windowOf(points: readonly { t: number; v: number }[], windowMs: number, fromEnd: boolean): number[] {
  const ordered = fromEnd ? [...points].reverse() : points;
  const edge = ordered[0]!.t;
  const chosen: number[] = [];
  for (const p of ordered) {
    if (Math.abs(p.t - edge) > windowMs && chosen.length >= Math.min(MIN_WINDOW_SAMPLES, points.length)) break;
    chosen.push(p.v);
  }
  return chosen;
}

function slope(points: readonly { t: number; v: number }[]): number {
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const mv = points.reduce((s, p) => s + p.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function judgeSeries(name: string, points: readonly { t: number; v: number }[], windowMs: number, maxGrowth: number): SeriesVerdict {
  const insufficient: SeriesVerdict = { name, status: 'insufficient', samples: points.length, baseline: null, final: null, growth: null, peakGrowth: null, slopePerHour: null };
  if (points.length < 2) return insufficient;
  const first = windowOf(points, windowMs, false);
  const last = windowOf(points, windowMs, true);
  if (first.length + last.length > points.length && first.length === points.length) return insufficient;
  const baseline = median(first);
  const final = median(last);
  if (!(baseline > 0)) return { ...insufficient, baseline, final };
  const growth = final / baseline - 1;
  const peakGrowth = Math.max(...points.map((p) => p.v)) / baseline - 1;
  const slopePerHour = (slope(points) * HOUR_MS) / baseline;
  return { name, status: growth > maxGrowth + GROWTH_EPSILON ? 'grew' : 'ok', samples: points.length, baseline, final, growth, peakGrowth, slopePerHour };
}

function percent(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

/** The judgement described in the module comment. */
export function detectUnboundedGrowth(samples: readonly GrowthSample[], options: GrowthOptions): GrowthVerdict {
  const metric = options.metric ?? 'rssBytes';
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  if (!(options.warmupMs >= 0) || !(options.maxGrowth >= 0) || !(windowMs > 0)) {
    throw new ChiveError('INVALID_ARGUMENT', 'detectUnboundedGrowth: warmupMs and maxGrowth must be ≥ 0 and windowMs > 0');
  }
  const startedAt = options.startedAt ?? Math.min(...samples.map((s) => s.t));
  const judgedFrom = startedAt + options.warmupMs;
  const byName = new Map<string, { t: number; v: number }[]>();
  for (const s of samples) {
    const v = s[metric];
    if (!byName.has(s.name)) byName.set(s.name, []);
    if (s.t >= judgedFrom && typeof v === 'number' && Number.isFinite(v)) byName.get(s.name)!.push({ t: s.t, v });
  }
  const series = [...byName].map(([name, points]) => judgeSeries(name, points.sort((a, b) => a.t - b.t), windowMs, options.maxGrowth));
  const problems = series.flatMap((s) => {
    if (s.status === 'grew') return [`${s.name}: ${metric} grew ${percent(s.growth!)} after the warm-up (${s.baseline} → ${s.final}; allowed ${percent(options.maxGrowth)})`];
    if (s.status === 'insufficient') return [`${s.name}: only ${s.samples} sample(s) after the warm-up, too few to judge`];
    return [];
  });
  if (series.length === 0) problems.push('no samples to judge');
  return { ok: series.length > 0 && problems.length === 0, metric, maxGrowth: options.maxGrowth, series, problems };
}
