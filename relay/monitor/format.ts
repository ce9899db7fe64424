/**
 * Text for the monitor: styled lines (segments of text with a style, turned into blessed
 * tags only by the screen), fitting them to a width, and the numbers people read: bytes
 * and rates in B/KB/MB (powers of 1024, as the relay's configuration), counts, spans of
 * time, bars. Untrusted text (log lines) is cleaned of control characters here.
 *
 * Pure; no blessed. Not the layout of any panel (panels.ts).
 */
import { formatApproxDuration } from '../config-units.js';

export type Style = 'bold' | 'dim' | 'red' | 'yellow' | 'green' | 'cyan' | 'inverse';

export interface Segment {
  readonly text: string;
  readonly style?: Style;
}

/** One screen line. */
export type Line = readonly Segment[];

export const seg = (text: string, style?: Style): Segment => (style === undefined ? { text } : { text, style });
export const line = (...parts: (Segment | string)[]): Line => parts.map((p) => (typeof p === 'string' ? { text: p } : p));

/** The text of a line without styles. */
export function plain(l: Line): string {
  return l.map((s) => s.text).join('');
}

/** Cuts a line to `width` columns (every character one column: the monitor draws no wide ones). */
export function fitLine(l: Line, width: number): Line {
  const out: Segment[] = [];
  let left = width;
  for (const s of l) {
    if (left <= 0) break;
    const chars = [...s.text];
    const text = chars.length <= left ? s.text : chars.slice(0, left).join('');
    out.push(s.style === undefined ? { text } : { text, style: s.style });
    left -= Math.min(chars.length, left);
  }
  return out;
}

/** Pads (or cuts) plain text to exactly `width` columns. */
export function pad(text: string, width: number): string {
  const chars = [...text];
  return chars.length >= width ? chars.slice(0, width).join('') : text + ' '.repeat(width - chars.length);
}

/** Removes control characters and escape sequences from text that came from elsewhere. */
export function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/** "0 B", "512 B", "1.5 KB", "12 MB", "3.2 GB" (1 KB = 1024 bytes). */
export function formatSize(bytes: number): string {
  let v = Math.max(0, bytes);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u += 1;
  }
  const digits = u === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2;
  const text = digits === 0 ? v.toFixed(0) : v.toFixed(digits).replace(/0+$/, '').replace(/\.$/, '');
  return `${text} ${UNITS[u]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatSize(bytesPerSecond)}/s`;
}

/** "0.5", "950", "9500", "12k", "4.1M". */
export function formatCount(n: number): string {
  const v = Math.max(0, n);
  if (v < 10_000) return v < 10 && !Number.isInteger(v) ? v.toFixed(1) : String(Math.round(v));
  if (v < 1e6) return `${(v / 1e3).toFixed(0)}k`;
  return `${(v / 1e6).toFixed(v < 1e7 ? 1 : 0)}M`;
}

/** "in 6 days 4 h", "3 min ago". */
export function formatUntil(at: number, now: number): string {
  return at >= now ? `in ${formatApproxDuration(at - now)}` : `${formatApproxDuration(now - at)} ago`;
}

export { formatApproxDuration };

/** A bar of `width` cells, `fraction` of it filled: "███████░░░". */
export function bar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return '█'.repeat(full) + '░'.repeat(Math.max(0, width - full));
}

/** The first and last 4 bytes of a hex key: "9f3c1a2b…77e0aa01". */
export function shortHex(hex: string): string {
  return hex.length <= 16 ? hex : `${hex.slice(0, 8)}…${hex.slice(-8)}`;
}
