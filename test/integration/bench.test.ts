/**
 * `chive bench` end to end on small in-process networks: runBench's result has every
 * field with sane numbers and consistent counts (through both crypto providers); the HTML
 * report is self-contained and has its plots; `chive bench --json` prints only JSON on
 * stdout with progress on stderr, and --compare / --report overlay an earlier run. Also
 * the pure helpers: sizes, percentiles, the CDF SVG, the result loader, the /proc meter.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import { isChiveError } from '../../src/errors.js';
import { fromHex } from '../../src/bytes.js';
import { runBench, type BenchResult } from '../../testnet/bench.js';
import { runBenchCommand } from '../../testnet/bench-command.js';
import { loadBenchResult } from '../../testnet/bench-compare.js';
import { perProcessCpuMeter } from '../../testnet/bench-cpu.js';
import { writeBenchReport } from '../../testnet/bench-report.js';
import { parseHostPort, startBenchServer } from '../../testnet/bench-server.js';
import { parseByteSize, processCpuMs, summarize, type Summary } from '../../testnet/bench-stats.js';
import { renderCdfSvg } from '../../testnet/bench-svg.js';

const SIZES = [50 * 1024, 1024 * 1024];
const SMALL = { relays: 5, authorities: 3, exits: 2, votingIntervalMs: 1_000, warmup: 2, circuits: 5, rttSamples: 20, rttCircuits: 2, sizes: SIZES, transfers: 2, timeoutMs: 20_000 };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'chive-bench-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A summary of n samples: n as expected; numbers ordered min ≤ p50 ≤ p95 ≤ max, positive, below `ceiling`. */
function expectSane(s: Summary | undefined, n: number, ceiling: number): void {
  expect(s).toBeDefined();
  expect(s!.n).toBe(n);
  if (n === 0) {
    expect([s!.p50, s!.p95, s!.min, s!.max]).toEqual([null, null, null, null]);
    return;
  }
  expect(s!.min!).toBeGreaterThan(0);
  expect(s!.min!).toBeLessThanOrEqual(s!.p50!);
  expect(s!.p50!).toBeLessThanOrEqual(s!.p95!);
  expect(s!.p95!).toBeLessThanOrEqual(s!.max!);
  expect(s!.max!).toBeLessThan(ceiling);
}

function lost(r: BenchResult): number {
  return r.failures + r.timeouts;
}

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('runBench in process (%s)', (_name, provider) => {
  let r: BenchResult;
  const progress: string[] = [];
  beforeAll(async () => {
    r = await runBench({ ...SMALL, provider, onProgress: (p) => progress.push(`${p.phase} ${p.message}`) });
  }, 120_000);

  it('records the run: machine, options, network, method', () => {
    expect(r.tool).toBe('chive bench');
    expect(r.mode).toBe('in-process');
    expect(r.machine.cores).toBeGreaterThanOrEqual(1);
    expect(r.machine.node).toBe(process.version);
    expect(r.machine.cpuModel.length).toBeGreaterThan(0);
    expect(r.options).toMatchObject({ circuits: 5, rttSamples: 20, rttCircuits: 2, transfers: 2, sizes: SIZES, crypto: provider.name });
    expect(r.network).toMatchObject({ authorities: 3, relays: 5, exits: 2, deadNodes: [] });
    expect(r.durationMs).toBeGreaterThan(r.network.setupMs);
    expect(r.relayCpuMsPerMBMethod).toBe('in-process-estimate');
    expect(new Date(r.startedAt).getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('has every figure with sane numbers, and n matches what was measured', () => {
    const c = r.counts;
    expect(c.circuitsRequested).toBe(5);
    expectSane(r.circuitBuildMs, c.circuitsMeasured, 20_000);
    expect(r.perHopMs).toHaveLength(3);
    for (const hop of r.perHopMs) expectSane(hop, c.circuitsMeasured, 20_000);
    expect(c.rttRequested).toBe(20);
    expectSane(r.rttMs, c.rttMeasured, 20_000);
    expect(Object.keys(r.ttfbMs)).toEqual(['51200', '1048576']);
    expect(Object.keys(r.ttlbMs)).toEqual(['51200', '1048576']);
    for (const size of ['51200', '1048576']) {
      expect(c.transfersRequested[size]).toBe(2);
      expectSane(r.ttfbMs[size], c.transfersCompleted[size]!, 20_000);
      expectSane(r.ttlbMs[size], c.transfersCompleted[size]!, 20_000);
    }
    // one goodput sample per completed transfer of ≥ 1 MiB
    expectSane(r.goodputMBps, c.transfersCompleted['1048576']!, 1e6);
    expect(r.streamConnectMs.n).toBeGreaterThanOrEqual(c.transfersCompleted['51200']! + c.transfersCompleted['1048576']!);
  });

  it('loses nothing silently: every gap between asked and measured is a counted failure or timeout', () => {
    const c = r.counts;
    const gaps = (c.circuitsRequested - c.circuitsMeasured)
      + Object.keys(c.transfersRequested).reduce((a, k) => a + c.transfersRequested[k]! - c.transfersCompleted[k]!, 0)
      + (c.rttMeasured < c.rttRequested ? 1 : 0);
    if (gaps > 0) expect(lost(r)).toBeGreaterThan(0);
    const d = r.failureDetail;
    expect(r.failures).toBe(d.pathFailures + d.buildFailures + d.streamFailures + d.echoFailures + d.transferFailures);
    expect(r.timeouts).toBe(d.buildTimeouts + d.streamTimeouts + d.echoTimeouts + d.transferTimeouts);
    // each circuit request (warm-up, builds, ≥ 1 per RTT circuit, one per transfer) made an attempt or found no path
    const requests = SMALL.warmup + SMALL.circuits + SMALL.rttCircuits + SMALL.transfers * SIZES.length;
    expect(d.buildAttempts + d.pathFailures).toBeGreaterThanOrEqual(requests);
    const tallied = Object.values(r.errorCodes).reduce((a, b) => a + b, 0);
    expect(tallied).toBe(lost(r));
  });

  it('keeps the samples behind the summaries: hops add up to at most the build, TTFB ≤ TTLB', () => {
    const s = r.samples;
    expect(s.circuitBuildMs).toHaveLength(r.circuitBuildMs.n);
    s.circuitBuildMs.forEach((build, i) => {
      const hops = s.perHopMs.reduce((a, h) => a + h[i]!, 0);
      expect(hops).toBeLessThanOrEqual(build + 0.01);
    });
    expect(summarize(s.rttMs)).toEqual(r.rttMs);
    for (const size of Object.keys(s.ttlbMs)) {
      s.ttlbMs[size]!.forEach((last, i) => expect(s.ttfbMs[size]![i]!).toBeLessThanOrEqual(last));
    }
  });

  it('measures relay CPU around the transfers, and is plain JSON', () => {
    const completedBytes = SIZES.reduce((a, size) => a + size * r.counts.transfersCompleted[String(size)]!, 0);
    expect(r.relayCpuMsPerMB.mbRelayed).toBeCloseTo((completedBytes * 3) / 1e6, 2);
    if (completedBytes > 0) expect(r.relayCpuMsPerMB.mean!).toBeGreaterThan(0);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('reports progress by phase', () => {
    for (const phase of ['setup', 'warmup', 'circuits', 'rtt', 'transfers']) {
      expect(progress.some((line) => line.startsWith(`${phase} `))).toBe(true);
    }
    expect(progress).toContain('circuits building circuits 5/5…');
  });

  it('writes a self-contained HTML report with CDF plots', () => {
    const out = join(dir, `report-${provider.name}`);
    const paths = writeBenchReport(out, r);
    const html = readFileSync(paths.html, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect((html.match(/<svg /g) ?? []).length).toBe(7); // build, hops, RTT, TTFB, TTLB × 2 sizes, goodput
    for (const title of ['Circuit build time', 'Per-hop time', 'Round-trip time', 'Time to last byte, 50 KiB', 'Time to last byte, 1 MiB']) {
      expect(html).toContain(title);
    }
    expect(html).not.toMatch(/<script|<link|src=|href=|@import|url\(/i);
    expect(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')).not.toMatch(/https?:/);
    expect(loadBenchResult(paths.json)).toEqual(r);
  });
});

describe('chive bench command', () => {
  it('--json prints only the JSON on stdout, progress on stderr; --compare and --report overlay the old run', async () => {
    const small = ['--relays', '4', '--voting-interval', '1000', '--warmup', '1', '--circuits', '3', '--rtt-samples', '6',
      '--rtt-circuits', '1', '--sizes', '50KiB', '--transfers', '2'];
    let stdout = '';
    let stderr = '';
    const io = { stdout: (s: string) => void (stdout += s), stderr: (s: string) => void (stderr += s), stderrIsTTY: false };
    expect(await runBenchCommand([...small, '--json'], io)).toBe(0);
    const first = JSON.parse(stdout) as BenchResult;
    expect(first.counts.circuitsRequested).toBe(3);
    expect(first.circuitBuildMs.n).toBe(first.counts.circuitsMeasured);
    expect(Object.keys(first.ttlbMs)).toEqual(['51200']);
    expect(stderr).toContain('building circuits 1/3…');
    expect(stderr).toMatch(/circuits [0-3]\/3 built\n/);
    expect(stderr).toMatch(/transfers [0-2]\/2 completed\n/);
    const oldFile = join(dir, 'old.json');
    writeFileSync(oldFile, stdout);

    stdout = '';
    stderr = '';
    const report = join(dir, 'compared');
    expect(await runBenchCommand([...small, '--compare', oldFile, '--report', report, '--quiet'], io)).toBe(0);
    expect(stdout).toMatch(/^chive bench — in-process, 3 authorities, 4 relays \(2 exits\)/);
    expect(stdout).toMatch(/circuit build\s+ms/);
    expect(stdout).toContain('compared with old.json');
    expect(stderr).not.toContain('building circuits');
    expect(stderr).toContain(join(report, 'index.html'));
    const html = readFileSync(join(report, 'index.html'), 'utf8');
    expect(html).toContain('stroke-dasharray="6 4"');
    expect(html).toContain('(old.json)');
    expect(html).toContain('p50 old.json');
  }, 120_000);

  it('refuses bad flags with exit code 2, and an unusable --compare file with 1', async () => {
    let stderr = '';
    const io = { stdout: () => {}, stderr: (s: string) => void (stderr += s) };
    expect(await runBenchCommand(['--sizes', '5 parsecs'], io)).toBe(2);
    expect(await runBenchCommand(['--processes', '--network', 'x.json'], io)).toBe(2);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"tool":"something else"}');
    expect(await runBenchCommand(['--compare', bad], io)).toBe(1);
    expect(stderr).toContain('BENCH_RESULT_INVALID');
  });
});

describe('bench helpers', () => {
  it('parses sizes as people write them', () => {
    expect(parseByteSize('50KiB')).toBe(51200);
    expect(parseByteSize('1MiB')).toBe(1048576);
    expect(parseByteSize('5 MiB')).toBe(5242880);
    expect(parseByteSize('2MB')).toBe(2_000_000);
    expect(parseByteSize('1500')).toBe(1500);
    for (const bad of ['', 'MiB', '-1', '0', '1.5 parsec', '1e3']) expect(() => parseByteSize(bad)).toThrow(/not a size|at least 1 byte/);
    expect(parseHostPort('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseHostPort('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(() => parseHostPort('localhost')).toThrow();
  });

  it('summarizes with nearest-rank percentiles, and says n = 0 plainly', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
    expect(summarize(xs)).toEqual({ p50: 51, p95: 95, min: 1, max: 100, n: 100 });
    expect(summarize([7])).toEqual({ p50: 7, p95: 7, min: 7, max: 7, n: 1 });
    expect(summarize([])).toEqual({ p50: null, p95: null, min: null, max: null, n: 0 });
    expect(summarize([1, NaN, 3]).n).toBe(2);
  });

  it('draws a CDF as a step line per series, escaped, log-scaled for long tails', () => {
    const svg = renderCdfSvg({ title: 'RTT <&>', xLabel: 'ms', series: [{ label: 'a"b', values: [1, 2, 3, 4], color: '#123456' }] });
    expect(svg).toContain('RTT &lt;&amp;&gt;');
    expect(svg).toContain('a&quot;b (n=4)');
    expect(svg).toMatch(/<path d="M[0-9.]+ [0-9.]+(H[0-9.]+V[0-9.]+){4}"/);
    expect(svg).not.toContain('log scale');
    const tail = renderCdfSvg({ title: 't', xLabel: 'ms', series: [{ label: 's', values: [1, 1, 1, 1, 500], color: '#000' }] });
    expect(tail).toContain('(log scale)');
    expect(renderCdfSvg({ title: 'empty', xLabel: 'ms', series: [] })).toContain('no samples');
  });

  it('refuses a result file that is not one', () => {
    const cases = ['not json', '[]', '{"tool":"chive bench"}', JSON.stringify({ tool: 'chive bench', circuitBuildMs: { n: 'x' } })];
    cases.forEach((text, i) => {
      const file = join(dir, `bad${i}.json`);
      writeFileSync(file, text);
      let caught: unknown;
      try {
        loadBenchResult(file);
      } catch (e) {
        caught = e;
      }
      expect(isChiveError(caught, 'BENCH_RESULT_INVALID')).toBe(true);
    });
  });

  it('reads a process CPU time from /proc and charges it to the relays of a circuit', () => {
    const identity = 'ab'.repeat(32);
    const meter = perProcessCpuMeter([{ nickname: 'me', identity, pid: process.pid }]);
    const before = meter.before();
    const t0 = processCpuMs(process.pid);
    const until = performance.now() + 80;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    expect(processCpuMs(process.pid)).toBeGreaterThan(t0);
    meter.after(before, { hops: [{ identity: fromHex(identity) }, { identity: new Uint8Array(32) }] }, 2_000_000);
    const result = meter.result();
    expect(result.relays).toHaveLength(1);
    expect(result.relays[0]!.mb).toBe(2);
    expect(result.relays[0]!.cpuMs).toBeGreaterThan(0);
    expect(result.mean).toBe(result.relays[0]!.msPerMB);
    expect(() => processCpuMs(2 ** 30)).toThrow(/cannot read the CPU time/);
  });

  it('the bench server echoes after "echo" and sends exactly n bytes after "<n>"', async () => {
    const server = await startBenchServer();
    const { connect } = await import('node:net');
    const talk = (request: string): Promise<Buffer> => new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = connect(server.port, server.host, () => s.end(request));
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
    });
    expect((await talk('100000\n')).length).toBe(100000);
    expect((await talk('echo\nhello')).toString()).toBe('hello');
    expect((await talk('nonsense\n')).length).toBe(0);
    expect(server.connections()).toBe(3);
    await server.close();
  });
});
