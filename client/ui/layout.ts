/**
 * Pure layout for the chat UI: how the terminal is divided (contact list, conversation
 * pane, notice line, status bar, input line) at a given size, word wrapping, and the
 * display lines of a conversation with the scrollback window over them.
 *
 * The conversation is laid out here rather than left to ink's own wrapping so that
 * scrolling counts real display lines and the output is the same in every terminal:
 *
 *     12:31 ✓✓ me    hello there, this line is long enough
 *                    to wrap under itself
 *     12:31    alice hi!
 *     12:32 ✗  me    are you there?
 *                    ✗ not delivered (PEER_UNREACHABLE) — /retry
 *
 * Not rendering (components/) and not state (reducer.ts).
 */
import { DELIVERY_GLYPH, codePointWidth, displayWidth, fit, formatClock, formatDay, sanitizeText, shortId } from './format.js';
import type { MessageEntry, TerminalSize } from './ui-state.js';

/** Below this many columns the contact list folds into a one-line tab bar. */
export const CONTACT_LIST_MIN_COLUMNS = 60;
/** Smallest size laid out; smaller terminals get this and are clipped. */
export const MIN_COLUMNS = 24;
export const MIN_ROWS = 8;

export interface ScreenLayout {
  readonly columns: number;
  /**
   * Rows drawn: one less than the terminal, so ink redraws in place instead of clearing
   * the whole screen on every update (it clears when the output fills the terminal).
   */
  readonly height: number;
  /** Columns of the contact list including its separator; 0 when folded. */
  readonly contactListWidth: number;
  readonly paneWidth: number;
  /** Rows of the contact list and conversation pane (everything above the notice line). */
  readonly mainRows: number;
  /** Rows for messages: the pane minus its header line. */
  readonly messageRows: number;
}

export function screenLayout(size: TerminalSize): ScreenLayout {
  const columns = Math.max(MIN_COLUMNS, Math.floor(size.columns));
  const height = Math.max(MIN_ROWS, Math.floor(size.rows)) - 1;
  const contactListWidth =
    columns >= CONTACT_LIST_MIN_COLUMNS ? Math.min(28, Math.max(18, Math.round(columns / 4))) : 0;
  const mainRows = height - 3;
  return {
    columns,
    height,
    contactListWidth,
    paneWidth: columns - contactListWidth,
    mainRows,
    messageRows: mainRows - 1,
  };
}

/** One run of styled text. */
export interface Segment {
  readonly text: string;
  readonly color?: string;
  readonly dim?: boolean;
  readonly bold?: boolean;
}
export type DisplayLine = readonly Segment[];

/** Word-wraps one paragraph to `width` columns; words longer than a line are split. */
export function wrapText(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const lines: string[] = [];
  let line = '';
  let lineWidth = 0;
  const flush = (): void => {
    lines.push(line.replace(/ +$/, ''));
    line = '';
    lineWidth = 0;
  };
  for (const word of text.split(/(?<= )/)) {
    const ww = displayWidth(word.replace(/ +$/, ''));
    if (lineWidth > 0 && lineWidth + ww > w) flush();
    if (ww <= w) {
      line += word;
      lineWidth += displayWidth(word);
      continue;
    }
    for (const ch of word) {
      const cw = codePointWidth(ch.codePointAt(0)!);
      if (lineWidth + cw > w && lineWidth > 0) flush();
      line += ch;
      lineWidth += cw;
    }
  }
  if (line !== '' || lines.length === 0) flush();
  return lines;
}

export interface ConversationLayoutOptions {
  readonly width: number;
  /** Their name, for incoming messages. */
  readonly contactName: string;
  /** Our name, for outgoing messages. */
  readonly selfName?: string;
  readonly utcOffsetMinutes: number;
  /** The message `/retry` without an id would resend (its hint says just `/retry`). */
  readonly lastFailedId?: string;
}

const GLYPH_COLOR: Readonly<Record<string, string>> = {
  queued: 'yellow',
  sent: 'gray',
  delivered: 'green',
  failed: 'red',
};

/** Every display line of a conversation, oldest first, with a day line where the date changes. */
export function conversationLines(entries: readonly MessageEntry[], options: ConversationLayoutOptions): DisplayLine[] {
  const selfName = options.selfName ?? 'me';
  const width = Math.max(MIN_COLUMNS, options.width);
  const wanted = Math.max(displayWidth(options.contactName), displayWidth(selfName));
  // HH:MM + space + 2-column glyph + space = 9, then the name column and a space.
  const nameWidth = Math.max(2, Math.min(wanted, width < 50 ? 6 : 10, width - 9 - 1 - 12));
  const indent = 9 + nameWidth + 1;
  const textWidth = width - indent;
  const pad = ' '.repeat(indent);
  const lines: DisplayLine[] = [];
  let day = '';
  for (const entry of entries) {
    const entryDay = formatDay(entry.at, options.utcOffsetMinutes);
    if (entryDay !== day) {
      day = entryDay;
      const label = ` ${entryDay} `;
      const side = Math.max(1, Math.floor((width - label.length) / 2));
      lines.push([{ text: `${'─'.repeat(side)}${label}${'─'.repeat(Math.max(1, width - side - label.length))}`, dim: true }]);
    }
    const out = entry.direction === 'out';
    const head: Segment[] = [
      { text: `${formatClock(entry.at, options.utcOffsetMinutes)} `, dim: true },
      out
        ? { text: fit(DELIVERY_GLYPH[entry.state], 2), color: GLYPH_COLOR[entry.state] ?? 'gray' }
        : { text: '  ' },
      { text: ' ' },
      { text: fit(out ? selfName : options.contactName, nameWidth), color: out ? 'cyan' : 'magenta', bold: !out },
      { text: ' ' },
    ];
    const body = sanitizeText(entry.text)
      .split('\n')
      .flatMap((paragraph) => wrapText(paragraph, textWidth));
    body.forEach((text, i) => {
      lines.push(i === 0 ? [...head, { text }] : [{ text: pad }, { text }]);
    });
    if (entry.state === 'failed') {
      const retry = entry.id === options.lastFailedId ? '/retry' : `/retry ${shortId(entry.id)}`;
      const why = entry.errorCode ?? 'FAILED';
      for (const text of wrapText(`✗ not delivered (${why}) — ${retry} to send again`, textWidth)) {
        lines.push([{ text: pad }, { text, color: 'red' }]);
      }
    }
  }
  return lines;
}

export interface ScrollWindow {
  readonly lines: readonly DisplayLine[];
  /** The offset actually applied (clamped). */
  readonly scroll: number;
  readonly hiddenAbove: number;
  readonly hiddenBelow: number;
}

/** The `rows` lines shown when `scroll` lines are hidden below the bottom. */
export function scrollWindow(lines: readonly DisplayLine[], rows: number, scroll: number): ScrollWindow {
  const visible = Math.max(1, rows);
  const maxScroll = Math.max(0, lines.length - visible);
  const s = Math.max(0, Math.min(Math.floor(scroll), maxScroll));
  const end = lines.length - s;
  const start = Math.max(0, end - visible);
  return { lines: lines.slice(start, end), scroll: s, hiddenAbove: start, hiddenBelow: s };
}

/** The furthest a conversation of `lineCount` lines can scroll back in `rows` rows. */
export function maxScroll(lineCount: number, rows: number): number {
  return Math.max(0, lineCount - Math.max(1, rows));
}

/** The last failed outgoing message of a conversation (what `/retry` resends). */
export function lastFailed(entries: readonly MessageEntry[]): MessageEntry | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    if (entries[i]!.direction === 'out' && entries[i]!.state === 'failed') return entries[i];
  }
  return undefined;
}
