/**
 * `chive bench --compare <old.json>`: reading an earlier run's JSON result back, and
 * lining up both runs' p50 / p95 figure by figure (the terminal table and the HTML report
 * both use these rows).
 *
 * A result is accepted when it says it is one (`"tool": "chive bench"`) and has the
 * summaries the figures read; its raw samples are optional (without them the report can
 * show the old run's p50 / p95 but not its CDFs). Anything else is BENCH_RESULT_INVALID.
 *
 * Not here: measuring, formatting.
 */
import { readFileSync } from 'node:fs';
import { ChiveError } from '../src/errors.js';
import type { BenchResult } from './bench.js';
import { figuresOf, type Figure, type Summary, type SummaryHolder } from './bench-stats.js';

/** Largest result file read (a result with every sample is some tens of KiB). */
const MAX_RESULT_FILE = 16 * 1024 * 1024;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSummary(v: unknown): v is Summary {
  if (!isRecord(v) || typeof v.n !== 'number') return false;
  return ['p50', 'p95', 'min', 'max'].every((k) => v[k] === null || typeof v[k] === 'number');
}

function isSummaryRecord(v: unknown): v is Record<string, Summary> {
  return isRecord(v) && Object.entries(v).every(([k, s]) => /^[0-9]+$/.test(k) && isSummary(s));
}

/** Reads and checks an earlier result (BENCH_RESULT_INVALID naming the file and the problem). */
export function loadBenchResult(path: string): BenchResult {
  const bad = (why: string): never => {
    throw new ChiveError('BENCH_RESULT_INVALID', `${path}: ${why}`);
  };
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    bad(`cannot read it (${(e as Error).message})`);
  }
  if (text.length > MAX_RESULT_FILE) bad(`larger than ${MAX_RESULT_FILE} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    bad(`not JSON (${(e as Error).message})`);
  }
  if (!isRecord(v) || v.tool !== 'chive bench') bad('not a chive bench result (no "tool": "chive bench")');
  const r = v as Record<string, unknown>;
  for (const key of ['circuitBuildMs', 'rttMs', 'goodputMBps']) if (!isSummary(r[key])) bad(`"${key}" is not a {p50,p95,min,max,n} summary`);
  if (!Array.isArray(r.perHopMs) || !r.perHopMs.every(isSummary)) bad('"perHopMs" is not a list of summaries');
  for (const key of ['ttfbMs', 'ttlbMs']) if (!isSummaryRecord(r[key])) bad(`"${key}" is not a record of summaries keyed by size in bytes`);
  if (r.streamConnectMs !== undefined && !isSummary(r.streamConnectMs)) bad('"streamConnectMs" is not a summary');
  if (r.samples !== undefined && !isRecord(r.samples)) bad('"samples" is not an object');
  return v as BenchResult;
}

export interface CompareRow {
  readonly figure: Figure;
  readonly old: Summary | undefined;
  readonly now: Summary | undefined;
}

/** One row per figure of either run (new run's order first, then figures only the old run has). */
export function compareRows(now: SummaryHolder, old: SummaryHolder): CompareRow[] {
  const figures = figuresOf(now);
  const labels = new Set(figures.map((f) => f.label));
  for (const f of figuresOf(old)) if (!labels.has(f.label)) figures.push(f);
  return figures.map((figure) => ({ figure, old: figure.get(old), now: figure.get(now) }));
}

/** True when `now` is worse than `old` by more than `fraction` (direction-aware); false when unknown. */
export function isWorse(figure: Figure, old: number | null | undefined, now: number | null | undefined, fraction = 0.1): boolean {
  if (old == null || now == null || old === 0) return false;
  const change = (now - old) / Math.abs(old);
  return figure.higherIsBetter ? change < -fraction : change > fraction;
}
