/**
 * A CDF plot as an inline SVG string, drawn by hand for the `chive bench` HTML report: for
 * each series, the fraction of samples ≤ x as a step line; earlier runs dashed. The x axis
 * is linear from 0, or logarithmic when the samples span more than LOG_SPAN_RATIO between
 * the median and the maximum (a long tail would flatten a linear plot into one corner).
 * Dotted guides mark the 50th and 95th percentiles.
 *
 * No scripts and no external resources: the SVG stands alone. Every text is escaped.
 * Not here: the page around the plots (bench-report.ts).
 */
import { formatNumber } from './bench-stats.js';

export interface CdfSeries {
  readonly label: string;
  readonly values: readonly number[];
  readonly color: string;
  readonly dashed?: boolean;
}

export interface CdfPlot {
  readonly title: string;
  readonly xLabel: string;
  readonly series: readonly CdfSeries[];
}

export const PALETTE: readonly string[] = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const LOG_SPAN_RATIO = 20;
const W = 800;
const H = 320;
/** Margins; the legend sits in the right one. */
const M = { left: 56, right: 200, top: 34, bottom: 46 };

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** 1, 2 or 5 × 10^k at or above x. */
function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x * (1 - 1e-12)) return m * p;
  return 10 * p;
}

function linearTicks(max: number): number[] {
  const step = niceCeil(max / 6);
  const ticks: number[] = [];
  for (let t = 0; t <= max * (1 + 1e-9); t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** e;
      if (t >= min * (1 - 1e-9) && t <= max * (1 + 1e-9)) ticks.push(Number(t.toPrecision(12)));
    }
  }
  return ticks;
}

function median(sorted: readonly number[]): number {
  return sorted[Math.round((sorted.length - 1) / 2)]!;
}

/** Renders one CDF plot; a plot with no samples at all says so instead. */
export function renderCdfSvg(plot: CdfPlot): string {
  const series = plot.series.map((s) => ({ ...s, sorted: s.values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b) }));
  const all = series.flatMap((s) => s.sorted);
  const head = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeXml(plot.title)}" font-family="system-ui, Helvetica, Arial, sans-serif">`;
  if (all.length === 0) {
    return `${head}<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(plot.title)}</text>`
      + `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#777">no samples</text></svg>`;
  }
  const lo = Math.min(...all.map((v) => v));
  const hi = Math.max(...all.map((v) => v));
  const withData = series.filter((s) => s.sorted.length > 0);
  const useLog = lo > 0 && withData.some((s) => s.sorted[s.sorted.length - 1]! / median(s.sorted) > LOG_SPAN_RATIO);
  const x0 = useLog ? 10 ** Math.floor(Math.log10(lo)) : 0;
  const x1 = useLog ? 10 ** Math.ceil(Math.log10(hi)) : niceCeil(hi);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const fx = (v: number): number =>
    M.left + pw * (useLog ? (Math.log10(v) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (v - x0) / (x1 - x0 || 1));
  const fy = (f: number): number => M.top + ph * (1 - f);
  const n2 = (v: number): string => v.toFixed(1);
  const parts: string[] = [head];
  const title = `<text x="${M.left + pw / 2}" y="20" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(plot.title)}</text>`;
  parts.push(title);

  // axes, grid and ticks
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const y = n2(fy(f));
    parts.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y}" dy="4" text-anchor="end" font-size="11">${f}</text>`);
  }
  for (const f of [0.5, 0.95]) {
    const y = n2(fy(f));
    parts.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#bbb" stroke-dasharray="1 3"/>`);
    parts.push(`<text x="${M.left + pw - 4}" y="${y}" dy="-3" text-anchor="end" font-size="10" fill="#888">p${f * 100}</text>`);
  }
  for (const t of useLog ? logTicks(x0, x1) : linearTicks(x1)) {
    const x = n2(fx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${M.top}" y2="${M.top + ph}" stroke="#f2f2f2"/>`);
    parts.push(`<text x="${x}" y="${M.top + ph + 15}" text-anchor="middle" font-size="11">${String(Number(t.toPrecision(6)))}</text>`);
  }
  parts.push(`<text x="${M.left + pw / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${escapeXml(plot.xLabel)}${useLog ? ' (log scale)' : ''}</text>`);
  parts.push(`<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">fraction ≤ x</text>`);

  // the step lines
  for (const s of withData) {
    const n = s.sorted.length;
    let d = `M${n2(fx(s.sorted[0]!))} ${n2(fy(0))}`;
    s.sorted.forEach((v, i) => {
      d += `H${n2(fx(v))}V${n2(fy((i + 1) / n))}`;
    });
    const dash = s.dashed ? ' stroke-dasharray="6 4" stroke-opacity="0.8"' : '';
    const tip = `${s.label}: n=${n}, p50=${formatNumber(s.sorted[Math.round(0.5 * (n - 1))])}, p95=${formatNumber(s.sorted[Math.round(0.95 * (n - 1))])}`;
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${dash}><title>${escapeXml(tip)}</title></path>`);
  }

  // legend, right of the plot
  series.forEach((s, i) => {
    const y = M.top + 8 + i * 18;
    const x = M.left + pw + 14;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<line x1="${x}" x2="${x + 24}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${x + 30}" y="${y}" dy="4" font-size="11">${escapeXml(s.label)} (n=${s.sorted.length})</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
