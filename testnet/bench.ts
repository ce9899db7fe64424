/**
 * `runBench`: OnionPerf-shaped measurements of a local chive network, as one JSON-safe
 * result (docs/CLI.md, `chive bench`, explains every figure).
 *
 * Phases, one operation at a time, in this order:
 *   1. warm-up: `warmup` circuits built and discarded (links to the relays get made);
 *   2. circuits: `circuits` fresh 3-hop circuits to an exit allowing the target → build
 *      time and each hop's CREATE2 / EXTEND2 round trip;
 *   3. rtt: `rttSamples` echoes of 64 bytes spread over `rttCircuits` circuits, each over
 *      an established stream to the bench server in echo mode (after one unrecorded echo);
 *   4. transfers: `transfers` rounds, each one bulk transfer of every size (sizes
 *      interleaved), each on a fresh circuit and stream → TTFB, TTLB, goodput between
 *      0.5 and 1 MiB, and relay CPU around the transfer (bench-cpu.ts).
 * Nothing failed is dropped: every failed or timed-out build attempt (the client's own
 * counters), stream open, echo and transfer is counted, and the error codes tallied.
 *
 * Not here: the phases (bench-run.ts), the network set-up (bench-network.ts), the server
 * (bench-server.ts), output (bench-command.ts, bench-report.ts).
 */
import { loadCryptoProvider } from '../src/crypto/load.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { ChiveError, isChiveError } from '../src/errors.js';
import type { RelayCpu, RelayCpuMethod } from './bench-cpu.js';
import { openBenchNetwork, type BenchMode, type BenchNetwork } from './bench-network.js';
import { BenchRun, checkAborted, type BenchSamples, type FailureDetail } from './bench-run.js';
import { machineInfo, round3, summarize, type MachineInfo, type Summary, type SummaryHolder } from './bench-stats.js';

export type { BenchMode } from './bench-network.js';
export type { BenchSamples, FailureDetail } from './bench-run.js';

export const DEFAULT_SIZES: readonly number[] = [50 * 1024, 1024 * 1024, 5 * 1024 * 1024];

export interface BenchOptions {
  readonly mode?: BenchMode;
  readonly authorities?: number;
  readonly relays?: number;
  readonly exits?: number;
  /** Consensus period of a network the bench starts (default 2000 ms). */
  readonly votingIntervalMs?: number;
  /** mode "network": the network file. */
  readonly networkFile?: string;
  /** mode "processes": the testnet folder (default: a temp folder, removed afterwards). */
  readonly dir?: string;
  /** A bench server the exits allow (default: one the bench starts on 127.0.0.1). */
  readonly target?: { host: string; port: number };
  readonly warmup?: number;
  readonly circuits?: number;
  readonly rttSamples?: number;
  readonly rttCircuits?: number;
  /** Transfer sizes in bytes (default 50 KiB, 1 MiB, 5 MiB). */
  readonly sizes?: readonly number[];
  /** Transfers per size. */
  readonly transfers?: number;
  /** Time allowed to each stream open, echo and transfer (ms). */
  readonly timeoutMs?: number;
  readonly provider?: CryptoProvider;
  readonly onProgress?: (p: BenchProgress) => void;
  /** Aborting stops the run (BENCH_INTERRUPTED) and closes the network. */
  readonly signal?: AbortSignal;
}

export type BenchPhase = 'setup' | 'warmup' | 'circuits' | 'rtt' | 'transfers';
export interface BenchProgress {
  readonly phase: BenchPhase;
  readonly done: number;
  readonly total: number;
  /** A line for people: "building circuits 7/20…". */
  readonly message: string;
}


export interface BenchCounts {
  readonly circuitsRequested: number;
  readonly circuitsMeasured: number;
  readonly rttRequested: number;
  readonly rttMeasured: number;
  readonly transfersRequested: Record<string, number>;
  readonly transfersCompleted: Record<string, number>;
}


export interface BenchResult extends SummaryHolder {
  readonly tool: 'chive bench';
  readonly version: 1;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly mode: BenchMode;
  readonly machine: MachineInfo;
  readonly options: ResolvedOptions;
  readonly network: BenchNetwork['description'] & { setupMs: number; bootstrapMs: number; deadNodes: readonly string[] };
  readonly circuitBuildMs: Summary;
  readonly perHopMs: Summary[];
  readonly streamConnectMs: Summary;
  readonly rttMs: Summary;
  readonly ttfbMs: Record<string, Summary>;
  readonly ttlbMs: Record<string, Summary>;
  readonly goodputMBps: Summary;
  readonly failures: number;
  readonly timeouts: number;
  readonly failureDetail: FailureDetail;
  /** What was asked for and what was measured: every gap is a failure or timeout counted above. */
  readonly counts: BenchCounts;
  /**
   * The client's learned build timeout for 3 hops (Tor's method, about the 80th percentile
   * of recent builds) before and after the run: builds slower than it are abandoned and
   * counted as timeouts, so circuitBuildMs describes the builds that completed.
   */
  readonly buildTimeoutMs: { readonly atStart: number; readonly atEnd: number };
  /** Error codes of every failure above, counted. */
  readonly errorCodes: Record<string, number>;
  readonly relayCpuMsPerMB: RelayCpu;
  readonly relayCpuMsPerMBMethod: RelayCpuMethod;
  /** Every sample, for CDF plots and `--compare` (ms, MB/s). */
  readonly samples: BenchSamples;
}

export interface ResolvedOptions {
  readonly mode: BenchMode;
  readonly authorities: number;
  readonly relays: number;
  readonly exits: number;
  readonly votingIntervalMs: number;
  readonly target: string | null;
  readonly warmup: number;
  readonly circuits: number;
  readonly rttSamples: number;
  readonly rttCircuits: number;
  readonly sizes: number[];
  readonly transfers: number;
  readonly timeoutMs: number;
  readonly crypto: string;
}

function count(value: number | undefined, fallback: number, min: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) throw new ChiveError('INVALID_ARGUMENT', `${what} must be a whole number ≥ ${min}, got ${v}`);
  return v;
}

export function resolveBenchOptions(o: BenchOptions, provider: CryptoProvider): ResolvedOptions {
  const sizes = [...(o.sizes ?? DEFAULT_SIZES)];
  if (sizes.some((s) => !Number.isSafeInteger(s) || s < 1) || new Set(sizes).size !== sizes.length) {
    throw new ChiveError('INVALID_ARGUMENT', 'sizes must be distinct whole numbers of bytes ≥ 1');
  }
  const relays = count(o.relays, 6, 3, 'relays');
  return {
    mode: o.mode ?? 'in-process',
    authorities: count(o.authorities, 3, 1, 'authorities'),
    relays,
    exits: Math.min(count(o.exits, 2, 1, 'exits'), relays),
    votingIntervalMs: count(o.votingIntervalMs, 2_000, 1_000, 'votingIntervalMs'),
    target: o.target ? `${o.target.host}:${o.target.port}` : null,
    warmup: count(o.warmup, 10, 0, 'warmup'),
    circuits: count(o.circuits, 20, 0, 'circuits'),
    rttSamples: count(o.rttSamples, 200, 0, 'rttSamples'),
    rttCircuits: count(o.rttCircuits, 4, 1, 'rttCircuits'),
    sizes: sizes.sort((a, b) => a - b),
    transfers: count(o.transfers, 10, 0, 'transfers'),
    timeoutMs: count(o.timeoutMs, 30_000, 1, 'timeoutMs'),
    crypto: provider.name,
  };
}

export async function runBench(options: BenchOptions = {}): Promise<BenchResult> {
  const provider = options.provider ?? loadCryptoProvider();
  const opts = resolveBenchOptions(options, provider);
  const startedAt = new Date();
  const machine = machineInfo();
  const t0 = performance.now();
  const say = (phase: BenchPhase, done: number, total: number, message: string): void =>
    options.onProgress?.({ phase, done, total, message });
  const errorCodes: Record<string, number> = {};
  const tallyCode = (code: string): void => {
    errorCodes[code] = (errorCodes[code] ?? 0) + 1;
  };
  const tally = (e: unknown): void => tallyCode(isChiveError(e) ? e.code : 'UNKNOWN');
  checkAborted(options.signal);
  let counting = false; // the bootstrap's builds are not the bench's
  const net = await openBenchNetwork({
    mode: opts.mode, authorities: opts.authorities, relays: opts.relays, exits: opts.exits,
    votingIntervalMs: opts.votingIntervalMs, networkFile: options.networkFile, dir: options.dir,
    target: options.target, provider,
    // The client reports each failed build attempt here (its counters only count them).
    log: (_level, message, fields) => {
      if (counting && message === 'circuit build failed') tallyCode(typeof fields?.code === 'string' ? fields.code : 'UNKNOWN');
    },
    progress: (message) => say('setup', 0, 1, message),
    signal: options.signal,
  });
  try {
    counting = true;
    const run = new BenchRun(net, opts, say, tally, options.signal);
    const timeoutAtStart = net.client.timeouts.timeoutMsForHops(3);
    await run.all();
    const stats = net.client.stats;
    const d = run.detail;
    d.buildAttempts = stats.builds - run.statsAtStart.builds;
    d.buildTimeouts = stats.buildTimeouts - run.statsAtStart.buildTimeouts;
    d.buildFailures = stats.buildFailures - run.statsAtStart.buildFailures - d.buildTimeouts;
    const s = run.samples;
    const perSize = (m: Record<string, number[]>): Record<string, Summary> =>
      Object.fromEntries(opts.sizes.map((size) => [String(size), summarize(m[String(size)] ?? [])]));
    const roundAll = (xs: number[]): number[] => xs.map(round3);
    const roundSizes = (m: Record<string, number[]>): Record<string, number[]> =>
      Object.fromEntries(Object.entries(m).map(([k, v]) => [k, roundAll(v)]));
    return {
      tool: 'chive bench',
      version: 1,
      startedAt: startedAt.toISOString(),
      durationMs: round3(performance.now() - t0),
      mode: opts.mode,
      machine,
      options: opts,
      network: { ...net.description, setupMs: round3(net.setupMs), bootstrapMs: round3(net.bootstrapMs), deadNodes: [...net.deadNodes()] },
      circuitBuildMs: summarize(s.circuitBuildMs),
      perHopMs: s.perHopMs.map(summarize),
      streamConnectMs: summarize(s.streamConnectMs),
      rttMs: summarize(s.rttMs),
      ttfbMs: perSize(s.ttfbMs),
      ttlbMs: perSize(s.ttlbMs),
      goodputMBps: summarize(s.goodputMBps),
      failures: d.pathFailures + d.buildFailures + d.streamFailures + d.echoFailures + d.transferFailures,
      timeouts: d.buildTimeouts + d.streamTimeouts + d.echoTimeouts + d.transferTimeouts,
      failureDetail: d,
      counts: {
        circuitsRequested: opts.circuits,
        circuitsMeasured: s.circuitBuildMs.length,
        rttRequested: opts.rttSamples,
        rttMeasured: s.rttMs.length,
        transfersRequested: Object.fromEntries(opts.sizes.map((size) => [String(size), opts.transfers])),
        transfersCompleted: Object.fromEntries(opts.sizes.map((size) => [String(size), s.ttlbMs[String(size)]?.length ?? 0])),
      },
      buildTimeoutMs: { atStart: round3(timeoutAtStart), atEnd: round3(net.client.timeouts.timeoutMsForHops(3)) },
      errorCodes,
      relayCpuMsPerMB: net.meter.result(),
      relayCpuMsPerMBMethod: net.meter.method,
      samples: {
        circuitBuildMs: roundAll(s.circuitBuildMs),
        perHopMs: s.perHopMs.map(roundAll),
        streamConnectMs: roundAll(s.streamConnectMs),
        rttMs: roundAll(s.rttMs),
        ttfbMs: roundSizes(s.ttfbMs),
        ttlbMs: roundSizes(s.ttlbMs),
        goodputMBps: roundAll(s.goodputMBps),
      },
    };
  } finally {
    await net.close();
  }
}
