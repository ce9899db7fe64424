/**
 * `chive bench --report <dir>`: one self-contained HTML page (inline CSS and SVG, no
 * script, no external resource) showing a run the way OnionPerf's visualize does — CDF
 * plots of circuit build time, per-hop time, RTT, time to first byte, time to last byte by
 * size and goodput — with the figures table, failures, relay CPU, the machine and the
 * options. With an earlier run (`--compare`) its CDFs are overlaid dashed in the same
 * colours and the table shows both runs' p50 / p95 side by side.
 *
 * `writeBenchReport` writes `<dir>/index.html` and the run's JSON as `<dir>/bench.json`
 * (so the run can be compared against later). Not here: measuring, the terminal table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BenchResult } from './bench.js';
import { compareRows, isWorse } from './bench-compare.js';
import { describeMachine, figuresOf, formatByteSize, formatChange, formatNumber, sizeKeys } from './bench-stats.js';
import { escapeXml as esc, PALETTE, renderCdfSvg, type CdfSeries } from './bench-svg.js';

export interface ComparedRun {
  readonly result: BenchResult;
  /** How the page names it (the file name). */
  readonly label: string;
}

const CSS = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1340px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:3px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}
th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}.worse{color:#b00}.better{color:#070}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plots svg{border:1px solid #e4e4e4;background:#fff;width:calc(50% - 8px);min-width:560px;height:auto}
.meta{color:#555}code{background:#f4f4f4;padding:1px 4px;border-radius:3px}`;

type Pick = (r: BenchResult) => readonly number[] | undefined;

/** Series of one plot: this run solid, the earlier run dashed in the same colour. */
function seriesFor(now: BenchResult, old: ComparedRun | undefined, lines: readonly { label: string; pick: Pick }[]): CdfSeries[] {
  const out: CdfSeries[] = [];
  lines.forEach((line, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    out.push({ label: old ? `${line.label} (this run)` : line.label, values: line.pick(now) ?? [], color });
    const oldValues = old ? line.pick(old.result) : undefined;
    if (old && oldValues) out.push({ label: `${line.label} (${old.label})`, values: oldValues, color, dashed: true });
  });
  return out;
}

function plots(now: BenchResult, old: ComparedRun | undefined): string[] {
  const svgs: string[] = [];
  const hops = Math.max(now.samples.perHopMs.length, old?.result.samples?.perHopMs?.length ?? 0);
  svgs.push(renderCdfSvg({
    title: 'Circuit build time', xLabel: 'ms',
    series: seriesFor(now, old, [{ label: '3-hop build', pick: (r) => r.samples?.circuitBuildMs }]),
  }));
  svgs.push(renderCdfSvg({
    title: 'Per-hop time (CREATE2 / EXTEND2 round trip)', xLabel: 'ms',
    series: seriesFor(now, old, Array.from({ length: hops }, (_, h) => ({ label: `hop ${h + 1}`, pick: (r: BenchResult) => r.samples?.perHopMs?.[h] }))),
  }));
  svgs.push(renderCdfSvg({
    title: 'Round-trip time, 64 bytes, established circuit', xLabel: 'ms',
    series: seriesFor(now, old, [{ label: 'RTT', pick: (r) => r.samples?.rttMs }]),
  }));
  const sizes = [...new Set([...sizeKeys(now.samples.ttlbMs), ...sizeKeys(now.ttlbMs), ...(old ? sizeKeys(old.result.ttlbMs) : [])])]
    .sort((a, b) => Number(a) - Number(b));
  svgs.push(renderCdfSvg({
    title: 'Time to first byte', xLabel: 'ms',
    series: seriesFor(now, old, sizes.map((s) => ({ label: formatByteSize(Number(s)), pick: (r: BenchResult) => r.samples?.ttfbMs?.[s] }))),
  }));
  for (const s of sizes) {
    svgs.push(renderCdfSvg({
      title: `Time to last byte, ${formatByteSize(Number(s))}`, xLabel: 'ms',
      series: seriesFor(now, old, [{ label: formatByteSize(Number(s)), pick: (r) => r.samples?.ttlbMs?.[s] }]),
    }));
  }
  svgs.push(renderCdfSvg({
    title: 'Goodput between 0.5 and 1 MiB of a transfer', xLabel: 'MB/s',
    series: seriesFor(now, old, [{ label: 'goodput', pick: (r) => r.samples?.goodputMBps }]),
  }));
  return svgs;
}

function figuresTable(now: BenchResult, old: ComparedRun | undefined): string {
  if (!old) {
    const rows = figuresOf(now).map((f) => {
      const s = f.get(now);
      return `<tr><td>${esc(f.label.trim())}</td><td>${f.unit}</td>${[s?.p50, s?.p95, s?.min, s?.max].map((v) => `<td>${formatNumber(v)}</td>`).join('')}<td>${s?.n ?? 0}</td></tr>`;
    });
    return `<table><tr><th>figure</th><th>unit</th><th>p50</th><th>p95</th><th>min</th><th>max</th><th>n</th></tr>${rows.join('')}</table>`;
  }
  const cell = (row: ReturnType<typeof compareRows>[number], k: 'p50' | 'p95'): string => {
    const o = row.old?.[k];
    const n = row.now?.[k];
    const cls = isWorse(row.figure, o, n) ? 'worse' : isWorse({ ...row.figure, higherIsBetter: !row.figure.higherIsBetter }, o, n) ? 'better' : '';
    return `<td>${formatNumber(o)}</td><td>${formatNumber(n)}</td><td class="${cls}">${formatChange(o, n)}</td>`;
  };
  const rows = compareRows(now, old.result).map((row) =>
    `<tr><td>${esc(row.figure.label.trim())}</td><td>${row.figure.unit}</td>${cell(row, 'p50')}${cell(row, 'p95')}<td>${row.old?.n ?? 0} / ${row.now?.n ?? 0}</td></tr>`);
  return `<table><tr><th>figure</th><th>unit</th><th>p50 ${esc(old.label)}</th><th>p50 this run</th><th>change</th>`
    + `<th>p95 ${esc(old.label)}</th><th>p95 this run</th><th>change</th><th>n old / new</th></tr>${rows.join('')}</table>`
    + '<p class="meta">Red: worse by more than 10 %; green: better by more than 10 % (lower is better for times, higher for goodput).</p>';
}

function failuresTable(r: BenchResult): string {
  const d = r.failureDetail as unknown as Record<string, number>;
  const rows = Object.entries(d).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`).join('');
  const codes = Object.entries(r.errorCodes).map(([k, v]) => `<code>${esc(k)}</code> × ${v}`).join(', ') || 'none';
  const t = r.buildTimeoutMs;
  return `<p><b>failures: ${r.failures}</b>, <b>timeouts: ${r.timeouts}</b> (error codes: ${codes})</p><table>${rows}</table>`
    + `<p class="meta">The client’s learned build timeout (Tor’s method, about the 80th percentile of recent builds) was ${formatNumber(t.atStart)} ms `
    + `at the start and ${formatNumber(t.atEnd)} ms at the end; builds slower than it were abandoned and counted as timeouts, not as build times.</p>`;
}

function cpuSection(r: BenchResult): string {
  const c = r.relayCpuMsPerMB;
  const how = {
    'per-process': 'each relay’s own CPU time (utime + stime from /proc/&lt;pid&gt;/stat) around each transfer through it, per MB it relayed',
    'in-process-estimate': 'the whole process’s CPU time (every node, the client and the server share it) around each transfer, divided by MB × 3 relays: an overestimate',
    unavailable: 'not measurable: the relays are processes of an existing network',
  }[r.relayCpuMsPerMBMethod];
  const rows = c.relays.map((x) => `<tr><td>${esc(x.relay)}</td><td>${x.pid}</td><td>${formatNumber(x.cpuMs)}</td><td>${formatNumber(x.mb)}</td><td>${formatNumber(x.msPerMB)}</td></tr>`).join('');
  return `<p>Relay CPU per MB: <b>${formatNumber(c.mean)} ms/MB</b> (${esc(r.relayCpuMsPerMBMethod)}: ${how}).</p>`
    + (rows ? `<table><tr><th>relay</th><th>pid</th><th>CPU ms</th><th>MB relayed</th><th>ms per MB</th></tr>${rows}</table>` : '');
}

/** The report page as one HTML string. */
export function renderBenchReport(now: BenchResult, old?: ComparedRun): string {
  const o = now.options;
  const net = now.network;
  const where = now.mode === 'network' ? `the network of ${esc(net.networkFile ?? '?')}` : `${net.authorities} authorities, ${net.relays} relays (${net.exits} exits), ${esc(now.mode)}`;
  const meta = [
    `Run ${esc(now.startedAt)}, ${formatNumber(now.durationMs / 1000)} s; ${where}; crypto ${esc(o.crypto)}.`,
    `Machine: ${esc(describeMachine(now.machine))}.`,
    `Options: ${o.warmup} warm-up circuits, ${o.circuits} circuits, ${o.rttSamples} RTT samples on ${o.rttCircuits} circuits, `
      + `${o.transfers} transfers of each of ${o.sizes.map(formatByteSize).join(', ')}, timeout ${o.timeoutMs} ms.`,
    old ? `Compared with ${esc(old.label)} (run ${esc(String(old.result.startedAt ?? '?'))}${old.result.machine ? `, ${esc(describeMachine(old.result.machine))}` : ''}): dashed lines.` : '',
  ].filter(Boolean).map((line) => `<p class="meta">${line}</p>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>chive bench ${esc(now.startedAt)}</title><style>${CSS}</style></head><body>
<h1>chive bench</h1>${meta}
<h2>Figures</h2>${figuresTable(now, old)}
<h2>Distributions (CDF)</h2><div class="plots">${plots(now, old).join('\n')}</div>
<h2>Failures and timeouts</h2>${failuresTable(now)}
<h2>Relay CPU</h2>${cpuSection(now)}
<h2>What the figures mean</h2>
<p class="meta">Circuit build: a fresh 3-hop circuit, first CREATE2 sent to last EXTENDED2 received (link set-up included when a link was new).
Per hop: the round trip of that hop’s CREATE2 / EXTEND2. RTT: 64 bytes to an echo server behind the exit and back, on an open stream.
TTFB / TTLB: from sending the request (after CONNECTED) to the first / last byte of the answer, one fresh circuit per transfer.
Goodput: bytes received between 0.5 MiB and 1 MiB of a transfer over the time between those two moments, in MB/s (10<sup>6</sup> bytes).
p50 / p95: nearest-rank percentiles. See docs/CLI.md, <code>chive bench</code>.</p>
</body></html>
`;
}

/** Writes `<dir>/index.html` and `<dir>/bench.json`; returns their absolute paths. */
export function writeBenchReport(dir: string, now: BenchResult, old?: ComparedRun): { html: string; json: string } {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true });
  const html = join(abs, 'index.html');
  const json = join(abs, 'bench.json');
  writeFileSync(html, renderBenchReport(now, old));
  writeFileSync(json, JSON.stringify(now, null, 2) + '\n');
  return { html, json };
}
