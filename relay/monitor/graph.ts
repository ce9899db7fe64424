/**
 * The bandwidth graph: one column per second (the newest at the right), bars drawn with the
 * eight block characters ▁▂▃▄▅▆▇█ so each row has eight steps, and the configured rate
 * drawn as a dotted line ┈ through the empty cells of its row. The scale is the larger of
 * the peak shown and the burst (or rate), plus a tenth, so a relay at its cap sits just
 * under the top and the line shows where the cap is.
 *
 * Pure: numbers in, styled lines out. Not the fetching of rates (model.ts).
 */
import { type Line, type Segment, type Style, fitLine, formatRate, line, seg } from './format.js';

const BLOCKS = ['', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;
export const RATE_MARK = '┈';

export interface GraphOptions {
  /** Title, e.g. "in". */
  readonly label: string;
  /** Columns (= seconds shown) and rows of bars. */
  readonly width: number;
  readonly height: number;
  /** The configured rate and burst in bytes per second (0 = unlimited). */
  readonly rate: number;
  readonly burst: number;
  readonly style: Style;
}

/** The top of the scale for these values and limits (bytes per second). */
export function graphScale(values: readonly number[], rate: number, burst: number): number {
  const peak = values.reduce((m, v) => Math.max(m, v), 0);
  const limit = Math.max(rate, burst);
  return Math.max(peak, limit, 1024) * 1.1;
}

/** The character for a column whose bar is `eighths` high, in row `row` (0 = bottom). */
function cell(eighths: number, row: number): string {
  const inRow = eighths - row * 8;
  if (inRow >= 8) return '█';
  if (inRow <= 0) return ' ';
  return BLOCKS[inRow]!;
}

/** Title line then `height` rows; `values` are bytes per second, oldest first. */
export function renderGraph(values: readonly number[], o: GraphOptions): Line[] {
  const shown = values.slice(-o.width);
  const scale = graphScale(shown, o.rate, o.burst);
  const current = shown.length > 0 ? shown[shown.length - 1]! : 0;
  const avg = shown.length > 0 ? shown.reduce((a, b) => a + b, 0) / shown.length : 0;
  const peak = shown.reduce((m, v) => Math.max(m, v), 0);
  const limits = o.rate > 0 ? `  cap ${formatRate(o.rate)}${o.burst > o.rate ? ` burst ${formatRate(o.burst)}` : ''}` : '  no cap';
  const title = line(
    seg(`${o.label} `, 'bold'),
    seg(formatRate(current), o.style),
    `${limits}  avg ${formatRate(avg)}  peak ${formatRate(peak)}`,
    seg(`  ↑${formatRate(scale)}`, 'dim'),
  );
  const heights = shown.map((v) => Math.round((Math.max(0, v) / scale) * o.height * 8));
  const rateRow = o.rate > 0 ? Math.min(o.height - 1, Math.floor((o.rate / scale) * o.height)) : -1;
  const lead = o.width - shown.length;
  const rows: Line[] = [];
  for (let row = o.height - 1; row >= 0; row--) {
    const parts: Segment[] = [];
    let run = '';
    let runStyle: Style | undefined;
    const put = (ch: string, style: Style | undefined): void => {
      if (style !== runStyle && run !== '') {
        parts.push(seg(run, runStyle));
        run = '';
      }
      runStyle = style;
      run += ch;
    };
    for (let c = 0; c < o.width; c++) {
      const h = c < lead ? 0 : heights[c - lead]!;
      const ch = cell(h, row);
      if (ch === ' ' && row === rateRow) put(RATE_MARK, 'yellow');
      else put(ch, ch === ' ' ? undefined : o.style);
    }
    if (run !== '') parts.push(seg(run, runStyle));
    rows.push(parts);
  }
  return [fitLine(title, o.width), ...rows];
}
