/**
 * Samples the resources of a testnet's node processes at an interval, for the load
 * generator and the soak mode: per process its resident memory, its CPU time and its open
 * file descriptors, read from Linux's /proc:
 *
 *   /proc/<pid>/status   VmRSS (kB)                 → rssBytes
 *   /proc/<pid>/stat     utime + stime (clock ticks) → cpuMs
 *   /proc/<pid>/fd       number of entries           → openFds (sockets, files, pipes, …)
 *
 *   const sampler = new ResourceSampler({ targets: net.processes, intervalMs: 60_000 });
 *   sampler.start();  …  sampler.stop();
 *   detectUnboundedGrowth(sampler.samples().filter((s) => s.role === 'relay'), { warmupMs: 600_000, maxGrowth: 0.10 });
 *
 * A process that has exited yields no sample (and is listed in `gone`); sampling goes on
 * for the others. With relays grouped several to a process (`--relays-per-process`), a
 * sample describes the whole process: every relay it hosts is in `members`.
 *
 * Not here: the judgement (growth-check.ts, re-exported), starting or stopping processes.
 * Linux only: elsewhere readProcessResources returns null for every pid.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { ChiveError } from '../src/errors.js';
import { clockTicksPerSecond } from './bench-stats.js';

export { detectUnboundedGrowth, type GrowthOptions, type GrowthSample, type GrowthVerdict, type SeriesVerdict } from './growth-check.js';

/** A process to sample. */
export interface SampledProcess {
  readonly name: string;
  readonly pid: number;
  /** e.g. 'authority' or 'relay'; copied into each sample. */
  readonly role?: string;
  /** The nodes it hosts (a relay group's relays). */
  readonly members?: readonly string[];
}

export interface ProcessResources {
  readonly rssBytes: number;
  /** User + system CPU time since the process started, ms. */
  readonly cpuMs: number;
  readonly openFds: number;
}

export interface ResourceSample extends ProcessResources {
  /** When it was taken, ms since the epoch (the sampler's clock). */
  readonly t: number;
  readonly name: string;
  readonly pid: number;
  readonly role: string;
  readonly members: readonly string[];
}

/** VmRSS of a /proc/<pid>/status text, in bytes; null when absent (a zombie, a kernel thread). */
export function parseStatusRssBytes(status: string): number | null {
  const m = /^VmRSS:\s+(\d+)\s+kB\s*$/m.exec(status);
  return m ? Number(m[1]) * 1024 : null;
}

/** utime + stime of a /proc/<pid>/stat text, in clock ticks; null when unreadable. */
export function parseStatCpuTicks(stat: string): number | null {
  // The command name (field 2) is in parentheses and may hold spaces and ')': count from the last ')'.
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isInteger(utime) && Number.isInteger(stime) ? utime + stime : null;
}

/** The process's resources now; null when it is gone (or this is not Linux). */
export function readProcessResources(pid: number, ticksPerSecond = clockTicksPerSecond()): ProcessResources | null {
  try {
    const rssBytes = parseStatusRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const ticks = parseStatCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const openFds = readdirSync(`/proc/${pid}/fd`).length;
    if (rssBytes === null || ticks === null) return null;
    return { rssBytes, cpuMs: (ticks * 1000) / ticksPerSecond, openFds };
  } catch {
    return null;
  }
}

export interface ResourceSamplerOptions {
  readonly targets: readonly SampledProcess[];
  /** Time between two rounds of samples, ms (≥ 10). */
  readonly intervalMs: number;
  /** Clock of the samples (default Date.now). */
  readonly now?: () => number;
  /** Told of each round as it is taken (e.g. a progress line). */
  readonly onRound?: (round: readonly ResourceSample[]) => void;
  /** Keep at most this many samples, dropping the oldest (default: all). */
  readonly maxSamples?: number;
}

export class ResourceSampler {
  private readonly all: ResourceSample[] = [];
  private readonly goneNames = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  private readonly ticks = clockTicksPerSecond();

  constructor(private readonly options: ResourceSamplerOptions) {
    if (!Number.isFinite(options.intervalMs) || options.intervalMs < 10) {
      throw new ChiveError('INVALID_ARGUMENT', `the sampling interval must be at least 10 ms, got ${options.intervalMs}`);
    }
    this.now = options.now ?? Date.now;
  }

  /** Takes one round now (every target still running); returns it. */
  sampleOnce(): ResourceSample[] {
    const t = this.now();
    const round: ResourceSample[] = [];
    for (const p of this.options.targets) {
      const r = readProcessResources(p.pid, this.ticks);
      if (!r) {
        this.goneNames.add(p.name);
        continue;
      }
      round.push({ t, name: p.name, pid: p.pid, role: p.role ?? 'node', members: p.members ?? [p.name], ...r });
    }
    this.all.push(...round);
    const max = this.options.maxSamples;
    if (max !== undefined && this.all.length > max) this.all.splice(0, this.all.length - max);
    this.options.onRound?.(round);
    return round;
  }

  /** Samples at once, then every intervalMs until stop(). Idempotent. */
  start(): void {
    if (this.timer) return;
    this.sampleOnce();
    this.timer = setInterval(() => this.sampleOnce(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Every sample so far, oldest first. */
  samples(): readonly ResourceSample[] {
    return this.all;
  }

  /** Names of targets found gone at some round. */
  get gone(): readonly string[] {
    return [...this.goneNames];
  }

  /** The latest sample of each process still sampled. */
  latest(): ResourceSample[] {
    const byName = new Map<string, ResourceSample>();
    for (const s of this.all) byName.set(s.name, s);
    return [...byName.values()];
  }
}
