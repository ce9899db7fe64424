/**
 * A pure single-line editor: a text and a cursor (in code points), and the edits the
 * input line supports (emacs-style, as readline users expect). Also the window of the
 * line that fits the screen when it is longer than the input area.
 *
 * Not key decoding (key-bindings.ts) and not the input history (input-state.ts).
 */
import { codePointWidth } from './format.js';

export interface Line {
  readonly text: string;
  /** Cursor position in code points, 0 … length. */
  readonly cursor: number;
}

export type LineEdit =
  | { readonly kind: 'insert'; readonly text: string }
  /** Backspace (and the Delete key: terminals send both as the same byte). */
  | { readonly kind: 'backspace' }
  | { readonly kind: 'left' }
  | { readonly kind: 'right' }
  | { readonly kind: 'home' }
  | { readonly kind: 'end' }
  /** Ctrl-U: the whole line. */
  | { readonly kind: 'kill-line' }
  /** Ctrl-K: from the cursor to the end. */
  | { readonly kind: 'kill-to-end' }
  /** Ctrl-W: the word before the cursor. */
  | { readonly kind: 'kill-word' };

/** Pasted or typed text made fit for one line: newlines become spaces, controls go. */
function insertable(text: string): string {
  return text.replace(/\r\n?|\n/g, ' ').replace(/\t/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
}

export function applyEdit(line: Line, edit: LineEdit): Line {
  const chars = [...line.text];
  const cursor = Math.max(0, Math.min(line.cursor, chars.length));
  switch (edit.kind) {
    case 'insert': {
      const added = [...insertable(edit.text)];
      if (added.length === 0) return line;
      chars.splice(cursor, 0, ...added);
      return { text: chars.join(''), cursor: cursor + added.length };
    }
    case 'backspace':
      if (cursor === 0) return line;
      chars.splice(cursor - 1, 1);
      return { text: chars.join(''), cursor: cursor - 1 };
    case 'left':
      return { text: line.text, cursor: Math.max(0, cursor - 1) };
    case 'right':
      return { text: line.text, cursor: Math.min(chars.length, cursor + 1) };
    case 'home':
      return { text: line.text, cursor: 0 };
    case 'end':
      return { text: line.text, cursor: chars.length };
    case 'kill-line':
      return { text: '', cursor: 0 };
    case 'kill-to-end':
      return { text: chars.slice(0, cursor).join(''), cursor };
    case 'kill-word': {
      let start = cursor;
      while (start > 0 && chars[start - 1] === ' ') start--;
      while (start > 0 && chars[start - 1] !== ' ') start--;
      chars.splice(start, cursor - start);
      return { text: chars.join(''), cursor: start };
    }
  }
}

/** The part of a line shown in `width` columns: the cursor always visible, one cell kept for it at the end. */
export interface LineWindow {
  readonly before: string;
  /** The character under the cursor (a space at the end of the line). */
  readonly atCursor: string;
  readonly after: string;
  /** Text is hidden to the left. */
  readonly clippedLeft: boolean;
}

export function lineWindow(line: Line, width: number): LineWindow {
  const chars = [...line.text];
  const cursor = Math.max(0, Math.min(line.cursor, chars.length));
  const w = Math.max(3, width);
  const widthAt = (i: number): number => codePointWidth(chars[i]!.codePointAt(0)!);
  const atCursor = chars[cursor] ?? ' ';
  const cursorCell = cursor < chars.length ? widthAt(cursor) : 1;
  let total = cursor < chars.length ? 0 : 1;
  for (let i = 0; i < chars.length; i++) total += widthAt(i);
  let start = 0;
  let used = cursorCell;
  if (total <= w) {
    for (let i = 0; i < cursor; i++) used += widthAt(i);
  } else {
    // Keep the cursor near the right edge, a '…' marking what is hidden on the left.
    start = cursor;
    used = cursorCell + 1;
    while (start > 0 && used + widthAt(start - 1) <= w) {
      used += widthAt(start - 1);
      start--;
    }
    if (start === 0) used -= 1;
  }
  let end = cursor + 1;
  while (end < chars.length && used + widthAt(end) <= w) {
    used += widthAt(end);
    end++;
  }
  const clippedLeft = start > 0;
  return {
    before: (clippedLeft ? '…' : '') + chars.slice(start, cursor).join(''),
    atCursor,
    after: chars.slice(cursor + 1, Math.max(cursor + 1, end)).join(''),
    clippedLeft,
  };
}
