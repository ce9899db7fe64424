/**
 * Small pure formatters for the chat UI: clock and day stamps, durations, short addresses
 * and ids, delivery-state glyphs, display width of text, and the sanitising of text that
 * came from the network before it reaches the terminal.
 *
 * Text from peers (messages, the names they send in their hello) may contain escape
 * sequences, other control characters or bidi overrides that would repaint, hide or
 * reorder what the user sees; `sanitizeText` turns every one of them into a visible
 * replacement character. Everything shown from the network goes through it.
 *
 * Not layout (layout.ts) and not rendering (components/).
 */
import type { DeliveryState } from '../chat/api.js';

/** One glyph (≤ 2 columns) per delivery state, as in the conversation pane. */
export const DELIVERY_GLYPH: Readonly<Record<DeliveryState, string>> = {
  queued: '…',
  sent: '✓',
  delivered: '✓✓',
  failed: '✗',
  received: '',
};

/** What each glyph means, for the help overlay and the README. */
export const DELIVERY_MEANING: Readonly<Record<Exclude<DeliveryState, 'received'>, string>> = {
  queued: 'queued: stored locally, waiting for a circuit to them',
  sent: 'sent: handed to the rendezvous circuit, not yet acknowledged',
  delivered: 'delivered: their client acknowledged it',
  failed: 'failed: not delivered; /retry sends it again',
};

function twoDigits(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `HH:MM` of `atMs` at the given offset from UTC (minutes east, e.g. +60 for CET). */
export function formatClock(atMs: number, utcOffsetMinutes: number): string {
  const d = new Date(atMs + utcOffsetMinutes * 60_000);
  return `${twoDigits(d.getUTCHours())}:${twoDigits(d.getUTCMinutes())}`;
}

/** `YYYY-MM-DD` of `atMs` at the given offset from UTC. */
export function formatDay(atMs: number, utcOffsetMinutes: number): string {
  const d = new Date(atMs + utcOffsetMinutes * 60_000);
  return `${d.getUTCFullYear()}-${twoDigits(d.getUTCMonth() + 1)}-${twoDigits(d.getUTCDate())}`;
}

/** A duration for people: `850 ms`, `2.3 s`, `4 min`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** `chive1abcd…wxyz`: enough to recognise an address, never to copy one. */
export function shortAddress(address: string): string {
  return address.length <= 16 ? address : `${address.slice(0, 10)}…${address.slice(-4)}`;
}

/** The short id shown in retry hints; `/retry` accepts any unique prefix. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

// C0 and C1 controls, DEL, bidi embeddings / overrides / isolates, line and paragraph separators.
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]/g;

/**
 * Text from the network made safe to print: tabs become spaces, newlines stay (the
 * layout splits on them) unless `singleLine`, every other control or bidi character
 * becomes U+FFFD.
 */
export function sanitizeText(text: string, singleLine = false): string {
  let out = text.replace(/\r\n?/g, '\n').replace(/\t/g, '    ').replace(UNSAFE, '\uFFFD');
  if (singleLine) out = out.replace(/\n/g, ' ');
  return out;
}

/** Columns a code point takes: 0 for combining marks, 2 for wide East Asian and emoji. */
export function codePointWidth(cp: number): number {
  if (cp === 0x200d || (cp >= 0x300 && cp <= 0x36f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** Columns `text` takes on a terminal (no escape sequences expected: sanitise first). */
export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += codePointWidth(ch.codePointAt(0)!);
  return w;
}

/** `text` cut to at most `width` columns, with `…` when cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (displayWidth(text) <= width) return text;
  let out = '';
  let w = 0;
  for (const ch of text) {
    const cw = codePointWidth(ch.codePointAt(0)!);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

/** `text` cut or padded with spaces to exactly `width` columns. */
export function fit(text: string, width: number): string {
  const cut = truncate(text, width);
  return cut + ' '.repeat(Math.max(0, width - displayWidth(cut)));
}
