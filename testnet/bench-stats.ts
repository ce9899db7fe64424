/**
 * The arithmetic and bookkeeping of `chive bench`: percentile summaries of samples, the
 * machine description, a process's CPU time from /proc, byte sizes as people write them
 * ("50KiB"), and the list of figures (name, unit, where it sits in a result) that the
 * table, the comparison and the HTML report all walk.
 *
 * Percentiles are nearest-rank on the sorted samples, index round(q·(n−1)) — the same
 * definition as test/bench/harness.ts — so p50 and p95 are always samples that occurred.
 *
 * Not here: measuring (bench.ts), drawing (bench-svg.ts, bench-report.ts), flags.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { ChiveError } from '../src/errors.js';

/** A distribution in five numbers; all null when there were no samples (n = 0). */
export interface Summary {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly n: number;
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[idx]!;
}

/** Rounds to 1/1000 of the unit (µs for ms figures): more digits than that are noise. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function summarize(samples: readonly number[]): Summary {
  const finite = samples.filter((x) => Number.isFinite(x));
  if (finite.length === 0) return { p50: null, p95: null, min: null, max: null, n: 0 };
  const sorted = [...finite].sort((a, b) => a - b);
  return {
    p50: round3(percentile(sorted, 0.5)),
    p95: round3(percentile(sorted, 0.95)),
    min: round3(sorted[0]!),
    max: round3(sorted[sorted.length - 1]!),
    n: sorted.length,
  };
}

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
  readonly memoryMB: number;
  /** 1, 5 and 15 minute load averages when the run began (other work on the machine skews every figure). */
  readonly loadAverage: readonly number[];
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cpuModel: c[0]?.model.trim() ?? 'unknown CPU',
    cores: c.length,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    memoryMB: Math.round(totalmem() / 1e6),
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export function describeMachine(m: MachineInfo): string {
  const load = m.loadAverage?.length ? `, load ${m.loadAverage.join(' ')}` : '';
  return `${m.cores} × ${m.cpuModel}, Node ${m.node}, ${m.platform}/${m.arch}${load}`;
}

let clockTicks: number | null = null;

/** Clock ticks per second of /proc CPU times (`getconf CLK_TCK`; 100 when it cannot be asked). */
export function clockTicksPerSecond(): number {
  if (clockTicks !== null) return clockTicks;
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    clockTicks = Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    clockTicks = 100;
  }
  return clockTicks;
}

/**
 * CPU time (user + system) a process has used, in ms, from /proc/<pid>/stat (fields 14 and
 * 15, utime and stime, in clock ticks). Throws INVALID_ARGUMENT when it cannot be read.
 */
export function processCpuMs(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    throw new ChiveError('INVALID_ARGUMENT', `cannot read the CPU time of process ${pid}: ${(e as Error).message}`, { cause: e });
  }
  // The command name (field 2) is in parentheses and may hold spaces: count from its end.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new ChiveError('INVALID_ARGUMENT', `process ${pid}: unreadable /proc stat`);
  return ((utime + stime) * 1000) / clockTicksPerSecond();
}

const UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kb: 1e3, mb: 1e6, gb: 1e9, k: 1024, m: 1024 ** 2 };

/** "50KiB" → 51200, "1MiB" → 1048576, "1500" → 1500, "2MB" → 2000000. INVALID_ARGUMENT otherwise. */
export function parseByteSize(text: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ChiveError('INVALID_ARGUMENT', `not a size: ${JSON.stringify(text)} (write e.g. 50KiB, 1MiB, 5MiB or a number of bytes)`);
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new ChiveError('INVALID_ARGUMENT', `a size must be at least 1 byte: ${JSON.stringify(text)}`);
  return bytes;
}

/** 51200 → "50 KiB", 1048576 → "1 MiB", 1500 → "1500 B". */
export function formatByteSize(bytes: number): string {
  if (bytes >= 1024 ** 2 && bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** The parts of a bench result that the figure list reads (bench.ts has the full type). */
export interface SummaryHolder {
  readonly circuitBuildMs: Summary;
  readonly perHopMs: readonly Summary[];
  readonly streamConnectMs?: Summary;
  readonly rttMs: Summary;
  readonly ttfbMs: Readonly<Record<string, Summary>>;
  readonly ttlbMs: Readonly<Record<string, Summary>>;
  readonly goodputMBps: Summary;
}

/** One line of the table: a figure, its unit, whether bigger is better, and how to find it. */
export interface Figure {
  readonly label: string;
  readonly unit: 'ms' | 'MB/s';
  readonly higherIsBetter: boolean;
  readonly get: (r: SummaryHolder) => Summary | undefined;
}

/** The figures of a result, in table order (sizes and hops as the result has them). */
export function figuresOf(r: SummaryHolder): Figure[] {
  const figures: Figure[] = [{ label: 'circuit build', unit: 'ms', higherIsBetter: false, get: (x) => x.circuitBuildMs }];
  r.perHopMs.forEach((_, i) => figures.push({ label: `  hop ${i + 1}`, unit: 'ms', higherIsBetter: false, get: (x) => x.perHopMs[i] }));
  figures.push({ label: 'stream connect', unit: 'ms', higherIsBetter: false, get: (x) => x.streamConnectMs });
  figures.push({ label: 'RTT 64 B', unit: 'ms', higherIsBetter: false, get: (x) => x.rttMs });
  for (const size of sizeKeys(r.ttfbMs)) {
    figures.push({ label: `TTFB ${formatByteSize(Number(size))}`, unit: 'ms', higherIsBetter: false, get: (x) => x.ttfbMs[size] });
  }
  for (const size of sizeKeys(r.ttlbMs)) {
    figures.push({ label: `TTLB ${formatByteSize(Number(size))}`, unit: 'ms', higherIsBetter: false, get: (x) => x.ttlbMs[size] });
  }
  figures.push({ label: 'goodput', unit: 'MB/s', higherIsBetter: true, get: (x) => x.goodputMBps });
  return figures;
}

/** The size keys of a per-size record, smallest first. */
export function sizeKeys(record: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(record).sort((a, b) => Number(a) - Number(b));
}

/** "12.3" style: 3 significant digits at least, never exponent notation; "–" for null. */
export function formatNumber(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** Relative change new vs old, as "+12%" / "−5%"; "" when either is missing or old is 0. */
export function formatChange(oldValue: number | null | undefined, newValue: number | null | undefined): string {
  if (oldValue == null || newValue == null || oldValue === 0) return '';
  const pct = ((newValue - oldValue) / oldValue) * 100;
  const rounded = Math.abs(pct) >= 10 ? pct.toFixed(0) : pct.toFixed(1);
  return pct >= 0 ? `+${rounded}%` : `−${rounded.slice(1)}%`;
}
