/**
 * The input line's state: the line being edited and the history of submitted lines,
 * walked with Up / Down as in a shell (the line being typed is kept as a draft and comes
 * back after the newest entry). Pure.
 *
 * Not the editing itself (line-editor.ts) and not what a submitted line means (commands.ts).
 */
import type { Line, LineEdit } from './line-editor.js';
import { applyEdit } from './line-editor.js';

/** Submitted lines kept for Up / Down. */
export const INPUT_HISTORY_LIMIT = 200;

export interface InputState extends Line {
  /** Submitted lines, oldest first; no empty lines, no two equal neighbours. */
  readonly history: readonly string[];
  /** Which history entry is on the line (undefined: the draft). */
  readonly historyIndex?: number;
  /** What was being typed before walking into the history. */
  readonly draft: string;
}

export function emptyInput(): InputState {
  return { text: '', cursor: 0, history: [], draft: '' };
}

/** An edit to the line; editing a recalled entry makes it the new draft. */
export function editInput(input: InputState, edit: LineEdit): InputState {
  const line = applyEdit(input, edit);
  if (line.text === input.text && line.cursor === input.cursor) return input;
  return { text: line.text, cursor: line.cursor, history: input.history, draft: line.text };
}

/** Enter: the line joins the history and the input empties. */
export function submitInput(input: InputState): InputState {
  const text = input.text;
  let history = input.history;
  if (text.trim() !== '' && history[history.length - 1] !== text) {
    history = [...history, text].slice(-INPUT_HISTORY_LIMIT);
  }
  return { text: '', cursor: 0, history, draft: '' };
}

/** Up ('older') / Down ('newer'). */
export function walkHistory(input: InputState, direction: 'older' | 'newer'): InputState {
  const { history } = input;
  if (history.length === 0) return input;
  const draft = input.historyIndex === undefined ? input.text : input.draft;
  let index: number | undefined;
  if (direction === 'older') {
    index = input.historyIndex === undefined ? history.length - 1 : Math.max(0, input.historyIndex - 1);
  } else {
    if (input.historyIndex === undefined) return input;
    index = input.historyIndex + 1 >= history.length ? undefined : input.historyIndex + 1;
  }
  const text = index === undefined ? draft : history[index]!;
  return { text, cursor: [...text].length, history, historyIndex: index, draft };
}
