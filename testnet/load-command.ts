/**
 * `chive bench load` (and `npm run bench:load`): the chat load generator's flags, its live
 * progress on stderr and its JSON on stdout. Exit code 0 only when every message was
 * delivered exactly once and in order (and, in a soak, no node's memory kept growing).
 *
 *   chive bench load [--relays 20] [--clients 200] [--workers 4] [--rate 0.2] [--duration 60s]
 *                    [--soak] [--sample 60s] [--warmup 10m] [--network FILE] [--dir DIR] [--json]
 *
 * Not the load itself (testnet/load.ts).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { isChiveError } from '../src/errors.js';
import { lineWriters, parseCommandFlags, parsePositive } from '../src/io/cli-flags.js';
import { describeMachine } from './bench-stats.js';
import { runLoad } from './load.js';

interface Flags {
  relays: number;
  relaysPerProcess?: number;
  clients: number;
  workers: number;
  rate: number;
  duration: number;
  soak?: boolean;
  sample: number;
  warmup: number;
  network?: string;
  dir?: string;
  json?: boolean;
}

/** "90s", "10m", "2h", "1500ms" or plain ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError('a duration such as 90s, 10m or 2h');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

function parseRate(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > 100) throw new InvalidArgumentError('messages per second per client, 0 < rate ≤ 100');
  return n;
}

export async function runLoadCommand(argv: readonly string[], io: { stdout?: (l: string) => void; stderr?: (l: string) => void } = {}): Promise<number> {
  const { out, err } = lineWriters(io);
  const program = new Command('load')
    .description('chat load: many headless chat clients in pairs over a process testnet; delivery, order, RTT, relay CPU and memory')
    .option('--relays <n>', 'relays of the testnet', parsePositive, 20)
    .option('--relays-per-process <n>', 'relays per OS process (default: auto)', parsePositive)
    .option('--clients <n>', 'chat clients (an even number: they chat in pairs)', parsePositive, 200)
    .option('--workers <n>', 'processes hosting the clients', parsePositive, 4)
    .option('--rate <r>', 'messages per second each client sends', parseRate, 0.2)
    .option('--duration <d>', 'how long the clients send (90s, 10m, 2h)', parseDuration, 60_000)
    .option('--soak', 'sample every node\'s RSS and open handles and fail if memory grows without bound')
    .option('--sample <d>', 'soak: sampling interval', parseDuration, 60_000)
    .option('--warmup <d>', 'soak: growth is judged after this', parseDuration, 600_000)
    .option('--network <file>', 'load an existing network instead of launching a testnet (no node sampling)')
    .option('--dir <dir>', 'working directory (default: a fresh temp dir)')
    .option('--json', 'print the result as JSON on stdout')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) });
  const parsed = parseCommandFlags<Flags>(program, argv);
  if ('exitCode' in parsed) return parsed.exitCode;
  const f = parsed.flags;
  // Ctrl-C / SIGTERM: the run stops early but still stops every process it started.
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await runLoad({
      signal: abort.signal,
      dir: f.dir ?? mkdtempSync(join(tmpdir(), 'chive-load-')),
      networkFile: f.network,
      relays: f.relays,
      relaysPerProcess: f.relaysPerProcess ?? 'auto',
      clients: f.clients,
      workers: f.workers,
      rate: f.rate,
      durationMs: f.duration,
      soak: f.soak ? { sampleMs: f.sample, warmupMs: f.warmup, maxGrowth: 0.1 } : undefined,
      onProgress: (line) => err(line),
    });
    if (f.json) out(JSON.stringify(result, null, 2));
    err(`machine: ${describeMachine(result.machine)}`);
    err(`clients ready ${result.clientsReady}/${f.clients}; sent ${result.sent}, delivered ${result.delivered} (${(result.deliveredRatio * 100).toFixed(2)} %), received ${result.received}, duplicates ${result.duplicates}, out of order ${result.outOfOrder}, failed ${result.failed}`);
    err(`message RTT (send → delivery ack): p50 ${result.rttMs.p50} ms, p95 ${result.rttMs.p95} ms, p99 ${result.rttMs.p99} ms (n=${result.rttMs.n})`);
    err(`circuits: ${result.circuitBuilds} built, ${result.circuitBuildFailures} failed`);
    const relays = result.nodes.filter((n) => n.role === 'relay');
    if (relays.length > 0) {
      const cpu = relays.map((n) => Math.round((n.cpuMsPerS / n.members) * 10) / 10).sort((a, b) => a - b);
      const rss = relays.map((n) => Math.round((n.maxRssMb / n.members) * 10) / 10).sort((a, b) => a - b);
      err(`relay CPU per relay: median ${cpu[Math.floor(cpu.length / 2)]} ms/s, max ${cpu.at(-1)} ms/s; relay RSS per relay (max): median ${rss[Math.floor(rss.length / 2)]} MB, max ${rss.at(-1)} MB`);
    }
    if (result.growth) err(`soak: ${result.growth.ok ? 'no unbounded growth' : 'MEMORY GREW'} (${result.growth.series.filter((s) => s.status === 'grew').map((s) => s.name).join(', ') || 'every node within 10 %'})`);
    err(result.ok ? 'OK: every message delivered exactly once, in order' : 'FAILED: see the figures above');
    return result.ok ? 0 : 1;
  } catch (e) {
    err(`chive bench load: ${e instanceof Error ? e.message : String(e)}${isChiveError(e) ? ` (${e.code})` : ''}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
