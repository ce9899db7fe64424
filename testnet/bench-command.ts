/**
 * `chive bench`: OnionPerf-shaped measurements of a chive network (docs/CLI.md).
 *
 *   chive bench                          an in-process network (every node in this process)
 *   chive bench --processes              one OS process per node (chive testnet's launcher)
 *   chive bench --network net.json       an existing network whose exits allow the target
 *   chive bench --json > run.json        the result as JSON on stdout (only that)
 *   chive bench --report out/ --compare run.json    HTML page with CDF plots, old run dashed
 *   chive bench --serve 127.0.0.1:9999   only the bench server, for --target elsewhere
 *
 * Progress goes to stderr (one overwritten line on a terminal, a line per step otherwise,
 * or nothing with --quiet). Exit codes: 0 when the run finished (failures and timeouts are
 * figures, not errors), 1 when it could not run (printed with its stable code), 2 on bad
 * usage, 130 after Ctrl-C.
 *
 * Not here: measuring (bench.ts), the page (bench-report.ts).
 */
import { basename } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type ProviderPreference, loadCryptoProvider } from '../src/crypto/load.js';
import { ChiveError, isChiveError } from '../src/errors.js';
import { DEFAULT_SIZES, runBench, type BenchMode, type BenchProgress, type BenchResult } from './bench.js';
import { compareRows, loadBenchResult } from './bench-compare.js';
import { writeBenchReport } from './bench-report.js';
import { parseHostPort, startBenchServer } from './bench-server.js';
import { describeMachine, figuresOf, formatChange, formatNumber, parseByteSize } from './bench-stats.js';

export interface BenchCommandIo {
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  /** Whether stderr is a terminal (progress overwrites one line); default process.stderr.isTTY. */
  readonly stderrIsTTY?: boolean;
  /** Stops the run like Ctrl-C. */
  readonly signal?: AbortSignal;
}

interface Flags {
  processes?: boolean;
  network?: string;
  target?: { host: string; port: number };
  dir?: string;
  authorities: number;
  relays: number;
  exits: number;
  votingInterval: number;
  warmup: number;
  circuits: number;
  rttSamples: number;
  rttCircuits: number;
  sizes: number[];
  transfers: number;
  timeout: number;
  json?: boolean;
  report?: string;
  compare?: string;
  quiet?: boolean;
  crypto: ProviderPreference;
  serve?: { host: string; port: number };
}

function whole(min: number): (text: string) => number {
  return (text) => {
    if (!/^[0-9]{1,9}$/.test(text) || Number(text) < min) throw new InvalidArgumentError(`a whole number ≥ ${min}`);
    return Number(text);
  };
}

function hostPort(text: string, allowAnyPort = false): { host: string; port: number } {
  try {
    return parseHostPort(text, { allowAnyPort });
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function serveAddress(text: string): { host: string; port: number } {
  return /^[0-9]{1,5}$/.test(text) && Number(text) <= 65535 ? { host: '127.0.0.1', port: Number(text) } : hostPort(text, true);
}

function sizeList(text: string): number[] {
  try {
    const sizes = text.split(',').filter((s) => s.trim() !== '').map(parseByteSize);
    if (sizes.length === 0) throw new ChiveError('INVALID_ARGUMENT', 'no sizes');
    return [...new Set(sizes)];
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function program(out: (s: string) => void, err: (s: string) => void): Command {
  return new Command('chive bench')
    .description('measure a chive network as OnionPerf measures Tor: circuit build and per-hop times, RTT, time to first / last byte, goodput, failures, relay CPU')
    .addOption(new Option('--processes', 'start one OS process per node (as chive testnet) instead of an in-process network').conflicts('network'))
    .option('--network <file>', 'measure an existing network (its network.json); its exits must allow the target')
    .option('--target <host:port>', 'a bench server reachable from the exits (default: one started on 127.0.0.1; see --serve)', (t: string) => hostPort(t))
    .option('--dir <dir>', 'with --processes: the testnet folder (default: a temp folder, removed afterwards)')
    .option('--authorities <n>', 'authorities of the network the bench starts', whole(1), 3)
    .option('--relays <n>', 'relays of the network the bench starts', whole(3), 6)
    .option('--exits <n>', 'how many of those relays are exits', whole(1), 2)
    .option('--voting-interval <ms>', 'consensus period of the network the bench starts', whole(1000), 2000)
    .option('--warmup <n>', 'circuits built first and not measured (they open the links)', whole(0), 10)
    .option('--circuits <n>', 'fresh 3-hop circuits whose build time is measured', whole(0), 20)
    .option('--rtt-samples <n>', '64-byte round trips to time', whole(0), 200)
    .option('--rtt-circuits <n>', 'circuits the round trips are spread over', whole(1), 4)
    .addOption(new Option('--sizes <list>', 'transfer sizes, comma-separated (B, KiB, MiB, KB, MB)').argParser(sizeList).default([...DEFAULT_SIZES], '50KiB,1MiB,5MiB'))
    .option('--transfers <n>', 'transfers of each size, each on a fresh circuit', whole(0), 10)
    .option('--timeout <ms>', 'time allowed to each stream open, echo and transfer', whole(1), 30_000)
    .option('--json', 'print the result as JSON on stdout (progress still on stderr)')
    .option('--report <dir>', 'also write <dir>/index.html (CDF plots) and <dir>/bench.json')
    .option('--compare <old.json>', 'compare with an earlier result (--json output or a report’s bench.json)')
    .option('--quiet', 'no progress on stderr')
    .addOption(new Option('--crypto <provider>', 'crypto provider').choices(['auto', 'sodium', 'noble']).default('auto'))
    .option('--serve <[host:]port>', 'run only the bench server (echo and bulk) until Ctrl-C, for --target', serveAddress)
    .addHelpText('after', '\nThe default run (6 relays, 20 circuits, 200 round trips, 10 transfers of 50 KiB, 1 MiB and 5 MiB)\n'
      + 'takes well under a minute on 2 cores (--processes adds ~15 s of start-up). Failures and timeouts\n'
      + 'are counted in the result, never dropped. See docs/CLI.md for what each figure means.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s), writeErr: (s) => err(s) });
}

/** The table for people: one line per figure, then failures and relay CPU. */
export function formatBenchTable(r: BenchResult): string {
  const header = ['figure', 'unit', 'p50', 'p95', 'min', 'max', 'n'];
  const rows = figuresOf(r).map((f) => {
    const s = f.get(r);
    return [f.label, f.unit, ...[s?.p50, s?.p95, s?.min, s?.max].map(formatNumber), String(s?.n ?? 0)];
  });
  const net = r.network;
  const lines = [
    `chive bench — ${r.mode}${net.relays !== null ? `, ${net.authorities} authorities, ${net.relays} relays (${net.exits} exits)` : `, ${net.networkFile}`}, ${(r.durationMs / 1000).toFixed(1)} s`,
    `machine: ${describeMachine(r.machine)}`,
    '',
    ...alignRows([header, ...rows]),
    '',
    `failures: ${r.failures}, timeouts: ${r.timeouts}` + (Object.keys(r.errorCodes).length ? ` (${Object.entries(r.errorCodes).map(([k, v]) => `${k} ×${v}`).join(', ')})` : ''),
    `client build timeout (learned): ${formatNumber(r.buildTimeoutMs.atStart)} ms at the start, ${formatNumber(r.buildTimeoutMs.atEnd)} ms at the end`,
    `relay CPU: ${formatNumber(r.relayCpuMsPerMB.mean)} ms per MB relayed (${r.relayCpuMsPerMBMethod})`
      + (r.relayCpuMsPerMB.relays.length ? ': ' + r.relayCpuMsPerMB.relays.map((x) => `${x.relay} ${formatNumber(x.msPerMB)}`).join(', ') : ''),
  ];
  return lines.join('\n') + '\n';
}

/** Both runs' p50 and p95, figure by figure. */
export function formatCompareTable(now: BenchResult, old: BenchResult, oldLabel: string): string {
  const header = ['figure', 'unit', `p50 old`, 'p50 new', 'change', 'p95 old', 'p95 new', 'change'];
  const rows = compareRows(now, old).map(({ figure, old: o, now: n }) => [
    figure.label, figure.unit, formatNumber(o?.p50), formatNumber(n?.p50), formatChange(o?.p50, n?.p50),
    formatNumber(o?.p95), formatNumber(n?.p95), formatChange(o?.p95, n?.p95),
  ]);
  return [`compared with ${oldLabel} (${old.startedAt ?? '?'})`, '', ...alignRows([header, ...rows])].join('\n') + '\n';
}

function alignRows(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
}

function progressPrinter(err: (s: string) => void, tty: boolean): { show: (p: BenchProgress) => void; clear: () => void } {
  let lastPhase = '';
  let lastAt = 0;
  let dirty = false;
  return {
    show(p) {
      if (tty) {
        err(`\r\x1b[K${p.message}`);
        dirty = true;
        return;
      }
      const now = Date.now();
      if (p.phase !== lastPhase || p.phase === 'setup' || p.done === p.total || now - lastAt >= 1000) {
        err(`${p.message}\n`);
        lastPhase = p.phase;
        lastAt = now;
      }
    },
    clear() {
      if (dirty) err('\r\x1b[K');
      dirty = false;
    },
  };
}

/** Runs `chive bench` with `argv` (the arguments after `bench`); resolves with the exit code. */
export async function runBenchCommand(argv: readonly string[], io: BenchCommandIo = {}): Promise<number> {
  if (argv[0] === 'load') return (await import('./load-command.js')).runLoadCommand(argv.slice(1));
  const out = io.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => void process.stderr.write(s));
  let flags: Flags;
  try {
    const cmd = program(out, err);
    cmd.parse([...argv], { from: 'user' });
    flags = cmd.opts<Flags>();
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals += 1;
    if (signals > 1) process.exit(130); // a second Ctrl-C: the launcher's exit hook kills its children
    err('\nstopping…\n');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  io.signal?.addEventListener('abort', () => stop.abort(), { once: true });
  try {
    if (flags.serve) return await serveOnly(flags.serve, out, stop.signal);
    const old = flags.compare ? loadBenchResult(flags.compare) : undefined;
    const mode: BenchMode = flags.processes ? 'processes' : flags.network ? 'network' : 'in-process';
    const printer = progressPrinter(err, io.stderrIsTTY ?? process.stderr.isTTY === true);
    const provider = loadCryptoProvider(flags.crypto, (line) => err(`${line}\n`));
    const result = await runBench({
      mode, networkFile: flags.network, target: flags.target, dir: flags.dir,
      authorities: flags.authorities, relays: flags.relays, exits: flags.exits, votingIntervalMs: flags.votingInterval,
      warmup: flags.warmup, circuits: flags.circuits, rttSamples: flags.rttSamples, rttCircuits: flags.rttCircuits,
      sizes: flags.sizes, transfers: flags.transfers, timeoutMs: flags.timeout, provider,
      onProgress: flags.quiet ? undefined : printer.show, signal: stop.signal,
    });
    printer.clear();
    const oldLabel = flags.compare ? basename(flags.compare) : '';
    if (flags.json) out(JSON.stringify(result, null, 2) + '\n');
    else out(formatBenchTable(result));
    if (old) (flags.json ? err : out)('\n' + formatCompareTable(result, old, oldLabel));
    if (flags.report) {
      const paths = writeBenchReport(flags.report, result, old ? { result: old, label: oldLabel } : undefined);
      err(`report: ${paths.html} (result: ${paths.json})\n`);
    }
    return 0;
  } catch (e) {
    if (isChiveError(e, 'BENCH_INTERRUPTED') || stop.signal.aborted) {
      err('chive bench: stopped\n');
      return 130;
    }
    err(`chive bench: ${e instanceof Error ? e.message : String(e)}${isChiveError(e) ? ` (${e.code})` : ''}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function serveOnly(address: { host: string; port: number }, out: (s: string) => void, signal: AbortSignal): Promise<number> {
  const server = await startBenchServer(address);
  out(JSON.stringify({ event: 'listening', host: server.host, port: server.port }) + '\n');
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  return 0;
}
