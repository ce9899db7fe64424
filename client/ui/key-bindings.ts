/**
 * Key bindings, pure: one key press as ink's useInput reports it (the text and the
 * modifier flags) → what the UI should do. Conversation switching follows weechat and
 * irssi (Alt-1…9, Alt-0 for the tenth, Alt-A for the next with activity, Ctrl-N / Ctrl-P);
 * the input line follows readline (Ctrl-A / E / U / K / W, Home / End, Up / Down history).
 *
 * In a terminal Alt-x arrives as ESC x, which ink reports as `x` with `meta` set; a lone
 * Escape also reports `meta` with no text. The Delete key and Backspace arrive as the same
 * byte in most terminals, so both erase the character before the cursor.
 *
 * Not the dispatch (App.tsx) and not the table shown to people (KEY_HELP below is).
 */
import type { UiAction } from './ui-state.js';

/** The parts of ink's `Key` the bindings read (ink's Key satisfies it). */
export interface KeyPress {
  readonly upArrow: boolean;
  readonly downArrow: boolean;
  readonly leftArrow: boolean;
  readonly rightArrow: boolean;
  readonly pageUp: boolean;
  readonly pageDown: boolean;
  readonly home: boolean;
  readonly end: boolean;
  readonly return: boolean;
  readonly escape: boolean;
  readonly ctrl: boolean;
  readonly shift: boolean;
  readonly tab: boolean;
  readonly backspace: boolean;
  readonly delete: boolean;
  readonly meta: boolean;
}

/** A key's effect: a state change, or one of the two that need the App. */
export type KeyIntent = UiAction | { readonly type: 'submit' } | { readonly type: 'quit' };

/** A KeyPress with every flag false, overridden by `flags` (for tests and synthetic keys). */
export function keyPress(flags: Partial<KeyPress> = {}): KeyPress {
  return {
    upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageUp: false, pageDown: false,
    home: false, end: false, return: false, escape: false, ctrl: false, shift: false, tab: false,
    backspace: false, delete: false, meta: false, ...flags,
  };
}

const CTRL_EDITS: Readonly<Record<string, KeyIntent>> = {
  a: { type: 'edit', edit: { kind: 'home' } },
  e: { type: 'edit', edit: { kind: 'end' } },
  b: { type: 'edit', edit: { kind: 'left' } },
  f: { type: 'edit', edit: { kind: 'right' } },
  u: { type: 'edit', edit: { kind: 'kill-line' } },
  k: { type: 'edit', edit: { kind: 'kill-to-end' } },
  w: { type: 'edit', edit: { kind: 'kill-word' } },
  h: { type: 'edit', edit: { kind: 'backspace' } },
  n: { type: 'cycle', step: 1 },
  p: { type: 'cycle', step: -1 },
};

/** What a key press does, or undefined when it does nothing. */
export function bindKey(input: string, key: KeyPress): KeyIntent | undefined {
  if (key.ctrl && input === 'c') return { type: 'quit' };
  if (key.return) return { type: 'submit' };
  if (key.pageUp) return { type: 'scroll', pages: 1 };
  if (key.pageDown) return { type: 'scroll', pages: -1 };
  if (key.upArrow) return { type: 'history-nav', direction: 'older' };
  if (key.downArrow) return { type: 'history-nav', direction: 'newer' };
  if (key.leftArrow) return { type: 'edit', edit: { kind: 'left' } };
  if (key.rightArrow) return { type: 'edit', edit: { kind: 'right' } };
  if (key.home) return { type: 'edit', edit: { kind: 'home' } };
  if (key.end) return { type: 'edit', edit: { kind: 'end' } };
  if (key.backspace || key.delete) return { type: 'edit', edit: { kind: 'backspace' } };
  if (key.tab) return undefined;
  if (key.escape || (key.meta && input === '')) return { type: 'dismiss' };
  if (key.meta && !key.ctrl) {
    if (/^[1-9]$/.test(input)) return { type: 'switch-to', index: Number(input) - 1 };
    if (input === '0') return { type: 'switch-to', index: 9 };
    if (input === 'a' || input === 'A') return { type: 'next-activity' };
    return undefined;
  }
  if (key.ctrl) return CTRL_EDITS[input.toLowerCase()];
  if (input === '') return undefined;
  return { type: 'edit', edit: { kind: 'insert', text: input } };
}

/**
 * What one input event does, as a list: ink hands over a whole chunk of typed or pasted
 * text as one event (`tmux send-keys 'hi' Enter` arrives as "hi\r"), so each line break
 * in it submits the text before it, as if Enter had been pressed there.
 */
export function bindInput(input: string, key: KeyPress): KeyIntent[] {
  if (!key.ctrl && !key.meta && !key.return && /[\r\n]/.test(input)) {
    const intents: KeyIntent[] = [];
    const lines = input.split(/\r\n|\r|\n/);
    lines.forEach((line, i) => {
      if (line !== '') intents.push({ type: 'edit', edit: { kind: 'insert', text: line } });
      if (i < lines.length - 1) intents.push({ type: 'submit' });
    });
    return intents;
  }
  const intent = bindKey(input, key);
  return intent === undefined ? [] : [intent];
}

/** The key table for the help overlay and the README. */
export const KEY_HELP: readonly (readonly [keys: string, what: string])[] = [
  ['Alt-1…9, Alt-0', 'switch to conversation 1…9, 10'],
  ['Alt-A, Ctrl-N/P', 'next with activity; next / previous conversation'],
  ['PageUp / PageDown', 'scroll the conversation back / forward'],
  ['Up / Down', 'previous / next line you typed'],
  ['Ctrl-A E U K W', 'line editing as in readline (Home, End too)'],
  ['Esc', 'close this overlay, or clear the notice'],
  ['Ctrl-C', 'quit'],
];
