/**
 * A tiny benchmark harness: runs an operation in timed batches and reports the median
 * rate of several runs (and p95 of the per-run rates, lower tail). Used by
 * `npm run bench:*`; never by `npm test` (speed goals live in benchmarks, not unit tests).
 */
import { cpus } from 'node:os';

export interface RateResult {
  /** Median operations per second over the runs. */
  median: number;
  /** The 5th percentile of per-run rates (the slow tail, a p95 of time per op). */
  p5: number;
  runs: number[];
}

/** Calls `op(n)` (which must do n operations) repeatedly for about `runMs`, `runs` times. */
export function measureRate(op: (n: number) => void, opts: { runs?: number; runMs?: number } = {}): RateResult {
  const runs = opts.runs ?? 7;
  const runMs = opts.runMs ?? 300;
  // warm up and calibrate a batch size of roughly 20 ms
  let batch = 16;
  for (;;) {
    const t0 = performance.now();
    op(batch);
    const dt = performance.now() - t0;
    if (dt > 20 || batch > 1 << 24) break;
    batch *= 2;
  }
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    let done = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < runMs) {
      op(batch);
      done += batch;
      t = performance.now();
    }
    rates.push((done * 1000) / (t - t0));
  }
  const sorted = [...rates].sort((a, b) => a - b);
  return { median: percentile(sorted, 0.5), p5: percentile(sorted, 0.05), runs: rates };
}

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[idx]!;
}

export function machineLine(): string {
  const c = cpus();
  return `${c.length} x ${c[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${process.platform}/${process.arch}`;
}

export function fmtRate(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
