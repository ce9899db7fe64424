/**
 * The chat load generator behind `chive bench load` / `npm run bench:load`: a process
 * testnet (or an existing network file), M headless chat clients spread over W worker
 * processes (testnet/load-worker.ts), pairs exchanging messages at a rate for a duration.
 * Live: one progress line per second. At the end: delivered / sent, duplicates,
 * out-of-order, message RTT p50 / p95 / p99, circuit builds and failures, and per-process
 * CPU and memory of the network's nodes — as a report and as JSON. Soak mode samples
 * every node's RSS and open handles each `sampleMs` and fails when memory grows without
 * bound after the warm-up (testnet/growth-check.ts).
 *
 * Not the clients (client/chat/) and not the network launcher (testnet/launcher.ts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { machineInfo, summarize, type MachineInfo, type Summary } from './bench-stats.js';
import { launchTestnet, type Testnet } from './launcher.js';
import { waitForRelaysToHoldConsensus } from './bench-network.js';
import { CHIVE_BIN } from './node-process.js';
import { detectUnboundedGrowth, ResourceSampler, type GrowthVerdict, type ResourceSample, type SampledProcess } from './resource-sampler.js';
import type { LoadStats } from './load-worker.js';

export interface LoadOptions {
  readonly dir: string;
  /** Use this network file instead of launching a testnet. */
  readonly networkFile?: string;
  readonly relays: number;
  readonly relaysPerProcess?: number | 'auto';
  readonly clients: number;
  readonly workers: number;
  /** Messages per second sent by each client. */
  readonly rate: number;
  readonly durationMs: number;
  /** Soak: sample node resources every sampleMs and judge growth after warmupMs. */
  readonly soak?: { readonly sampleMs: number; readonly warmupMs: number; readonly maxGrowth: number };
  readonly onProgress?: (line: string) => void;
  /** Stops the run early (Ctrl-C): the workers finish their report, the testnet stops. */
  readonly signal?: AbortSignal;
}

export interface LoadResult {
  readonly machine: MachineInfo;
  readonly options: Omit<LoadOptions, 'onProgress'>;
  readonly clientsReady: number;
  readonly sent: number;
  readonly delivered: number;
  readonly deliveredRatio: number;
  readonly received: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly failed: number;
  readonly startFailures: number;
  readonly circuitBuilds: number;
  readonly circuitBuildFailures: number;
  readonly rttMs: Summary & { readonly p99: number | null };
  /** Per node process: CPU used during the run (ms per s of wall time) and RSS at the end / max. */
  readonly nodes: { readonly name: string; readonly role: string; readonly members: number; readonly cpuMsPerS: number; readonly rssMb: number; readonly maxRssMb: number }[];
  readonly growth?: GrowthVerdict;
  readonly ok: boolean;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const say = options.onProgress ?? (() => undefined);
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  let net: Testnet | null = null;
  const workers: ChildProcessWithoutNullStreams[] = [];
  try {
    let networkFile = options.networkFile;
    let targets: SampledProcess[] = [];
    if (!networkFile) {
      say(`starting a testnet: 3 authorities, ${options.relays} relays…`);
      net = await launchTestnet({
        dir: join(options.dir, 'net'), authorities: 3, relays: options.relays, exits: 1,
        relaysPerProcess: options.relaysPerProcess ?? 'auto', onProgress: (l) => say(l), signal: options.signal,
      });
      say(`testnet ready in ${Math.round(net.readyMs)} ms`);
      await waitForRelaysToHoldConsensus(net.relays, say);
      networkFile = net.networkFile;
      targets = net.processes.map((p) => ({ name: p.name, pid: p.pid, role: p.role, members: p.members }));
    }
    const sampler = new ResourceSampler({ targets, intervalMs: options.soak?.sampleMs ?? 5_000 });
    sampler.start();

    const perWorker = splitEven(options.clients, options.workers);
    const latest = new Map<number, LoadStats>();
    const rtts: number[] = [];
    const done = new Set<number>();
    let first = 0;
    const exits: Promise<void>[] = [];
    for (const count of perWorker) {
      if (count === 0) continue;
      const worker = spawn(process.execPath, [
        CHIVE_BIN, 'load-worker', '--network', networkFile, '--dir', join(options.dir, 'clients'),
        '--clients', String(count), '--first', String(first), '--rate', String(options.rate),
        '--duration-ms', String(options.durationMs), '--start-concurrency', '3',
      ], { stdio: ['pipe', 'pipe', 'pipe'] });
      const id = first;
      workers.push(worker);
      createInterface({ input: worker.stdout }).on('line', (line) => {
        try {
          const s = JSON.parse(line) as LoadStats;
          rtts.push(...s.rtts);
          latest.set(id, s);
          if (s.type === 'done') {
            done.add(id);
            // Its report is in: a worker that lingers after this is stopped.
            setTimeout(() => worker.exitCode === null && worker.kill('SIGKILL'), 10_000).unref();
          }
        } catch {
          say(`worker ${id}: ${line}`);
        }
      });
      createInterface({ input: worker.stderr }).on('line', (line) => say(line));
      exits.push(new Promise((resolve) => worker.on('exit', () => resolve())));
      first += count;
    }
    const stopWorkers = () => {
      for (const w of workers) if (w.exitCode === null) w.stdin.write('stop\n');
    };
    options.signal?.addEventListener('abort', stopWorkers, { once: true });
    const t0 = performance.now();
    const cpuAtStart = new Map(sampler.samples().filter((s) => s.t > 0).map((s) => [s.name, s.cpuMs]));
    const ticker = setInterval(() => say(progressLine(totals(latest), performance.now() - t0, rtts)), 1000);
    await Promise.all(exits);
    clearInterval(ticker);
    sampler.sampleOnce();
    sampler.stop();
    const wallS = (performance.now() - t0) / 1000;
    const total = totals(latest);
    const samples = sampler.samples();
    const nodes = summarizeNodes(samples, cpuAtStart, wallS);
    const growth = options.soak
      ? detectUnboundedGrowth(samples.map((s) => ({ name: s.name, t: s.t, rssBytes: s.rssBytes, openFds: s.openFds })), {
        warmupMs: options.soak.warmupMs, maxGrowth: options.soak.maxGrowth, startedAt: Date.now() - wallS * 1000,
      })
      : undefined;
    const sortedRtts = [...rtts].sort((a, b) => a - b);
    const result: LoadResult = {
      machine: machineInfo(),
      options: { ...options, onProgress: undefined } as Omit<LoadOptions, 'onProgress'>,
      clientsReady: total.ready,
      sent: total.sent,
      delivered: total.delivered,
      deliveredRatio: total.sent === 0 ? 0 : total.delivered / total.sent,
      received: total.received,
      duplicates: total.duplicates,
      outOfOrder: total.outOfOrder,
      failed: total.failed,
      startFailures: total.startFailures,
      circuitBuilds: total.builds,
      circuitBuildFailures: total.buildFailures,
      rttMs: { ...summarize(rtts), p99: sortedRtts.length ? Math.round(sortedRtts[Math.floor(0.99 * (sortedRtts.length - 1))]! * 1000) / 1000 : null },
      nodes,
      growth,
      ok: total.sent > 0 && total.delivered === total.sent && total.received === total.sent && total.duplicates === 0
        && total.outOfOrder === 0 && (growth?.ok ?? true) && done.size === workers.length,
    };
    return result;
  } finally {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGTERM');
    await net?.stop();
  }
}

function splitEven(n: number, parts: number): number[] {
  // Keep pairs inside one worker: split in units of two clients.
  const pairs = Math.floor(n / 2);
  const out = Array.from({ length: parts }, (_, i) => 2 * (Math.floor(pairs / parts) + (i < pairs % parts ? 1 : 0)));
  return out;
}

function totals(latest: Map<number, LoadStats>): Omit<LoadStats, 'type' | 'worker' | 'rtts'> {
  const t = { ready: 0, sessions: 0, sent: 0, delivered: 0, received: 0, duplicates: 0, outOfOrder: 0, failed: 0, buildFailures: 0, builds: 0, startFailures: 0 };
  for (const s of latest.values()) for (const k of Object.keys(t) as (keyof typeof t)[]) t[k] += s[k];
  return t;
}

function progressLine(t: ReturnType<typeof totals>, elapsedMs: number, rtts: number[]): string {
  const recent = rtts.slice(-500).sort((a, b) => a - b);
  const p50 = recent.length ? recent[Math.floor(recent.length / 2)]!.toFixed(1) : '–';
  return `[${(elapsedMs / 1000).toFixed(0)} s] clients ${t.ready} · sessions ${t.sessions / 2} · sent ${t.sent} · delivered ${t.delivered} · received ${t.received} · dup ${t.duplicates} · ooo ${t.outOfOrder} · rtt p50 ${p50} ms · builds ${t.builds} (${t.buildFailures} failed)`;
}

function summarizeNodes(samples: readonly ResourceSample[], cpuAtStart: Map<string, number>, wallS: number): LoadResult['nodes'] {
  const byName = new Map<string, ResourceSample[]>();
  for (const s of samples) {
    const list = byName.get(s.name) ?? [];
    list.push(s);
    byName.set(s.name, list);
  }
  return [...byName.entries()].map(([name, list]) => {
    const last = list.at(-1)!;
    const cpu0 = cpuAtStart.get(name) ?? list[0]!.cpuMs;
    return {
      name,
      role: last.role,
      members: last.members.length,
      cpuMsPerS: Math.round((last.cpuMs - cpu0) / Math.max(wallS, 0.001)),
      rssMb: Math.round(last.rssBytes / 1e5) / 10,
      maxRssMb: Math.round(Math.max(...list.map((s) => s.rssBytes)) / 1e5) / 10,
    };
  });
}
