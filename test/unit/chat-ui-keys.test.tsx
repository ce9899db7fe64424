/**
 * The chat UI's key bindings (client/ui/key-bindings.ts), line editor (line-editor.ts)
 * and input history (input-state.ts), tested directly; then once through ink's own key
 * decoding (ink-testing-library stdin), to pin down that ink reports the bytes a terminal
 * sends for Alt-1, Alt-A, PageUp, Up, Backspace and Ctrl-C the way the bindings expect.
 */
import fc from 'fast-check';
import { Text, useInput } from 'ink';
import { render } from 'ink-testing-library';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import { displayWidth } from '../../client/ui/format.js';
import { editInput, emptyInput, submitInput, walkHistory } from '../../client/ui/input-state.js';
import type { KeyIntent } from '../../client/ui/key-bindings.js';
import { bindInput, bindKey, keyPress } from '../../client/ui/key-bindings.js';
import { applyEdit, lineWindow } from '../../client/ui/line-editor.js';
import { waitFor } from '../support/wait.js';

describe('bindKey', () => {
  it.each([
    ['Alt-1', '1', { meta: true }, { type: 'switch-to', index: 0 }],
    ['Alt-9', '9', { meta: true }, { type: 'switch-to', index: 8 }],
    ['Alt-0 (the tenth)', '0', { meta: true }, { type: 'switch-to', index: 9 }],
    ['Alt-A', 'a', { meta: true }, { type: 'next-activity' }],
    ['Alt-Shift-A', 'A', { meta: true, shift: true }, { type: 'next-activity' }],
    ['Ctrl-N', 'n', { ctrl: true }, { type: 'cycle', step: 1 }],
    ['Ctrl-P', 'p', { ctrl: true }, { type: 'cycle', step: -1 }],
    ['PageUp', '', { pageUp: true }, { type: 'scroll', pages: 1 }],
    ['PageDown', '', { pageDown: true }, { type: 'scroll', pages: -1 }],
    ['Up', '', { upArrow: true }, { type: 'history-nav', direction: 'older' }],
    ['Down', '', { downArrow: true }, { type: 'history-nav', direction: 'newer' }],
    ['Ctrl-C', 'c', { ctrl: true }, { type: 'quit' }],
    ['Enter', '', { return: true }, { type: 'submit' }],
    ['Esc', '', { escape: true, meta: true }, { type: 'dismiss' }],
    ['Backspace', '', { backspace: true }, { type: 'edit', edit: { kind: 'backspace' } }],
    ['Delete (DEL byte)', '', { delete: true }, { type: 'edit', edit: { kind: 'backspace' } }],
    ['Left', '', { leftArrow: true }, { type: 'edit', edit: { kind: 'left' } }],
    ['Right', '', { rightArrow: true }, { type: 'edit', edit: { kind: 'right' } }],
    ['Home', '', { home: true }, { type: 'edit', edit: { kind: 'home' } }],
    ['End', '', { end: true }, { type: 'edit', edit: { kind: 'end' } }],
    ['Ctrl-A', 'a', { ctrl: true }, { type: 'edit', edit: { kind: 'home' } }],
    ['Ctrl-E', 'e', { ctrl: true }, { type: 'edit', edit: { kind: 'end' } }],
    ['Ctrl-U', 'u', { ctrl: true }, { type: 'edit', edit: { kind: 'kill-line' } }],
    ['Ctrl-K', 'k', { ctrl: true }, { type: 'edit', edit: { kind: 'kill-to-end' } }],
    ['Ctrl-W', 'w', { ctrl: true }, { type: 'edit', edit: { kind: 'kill-word' } }],
    ['a letter', 'x', {}, { type: 'edit', edit: { kind: 'insert', text: 'x' } }],
    ['a paste', 'hello world', {}, { type: 'edit', edit: { kind: 'insert', text: 'hello world' } }],
  ] as const)('%s', (_name, input, flags, expected) => {
    expect(bindKey(input, keyPress(flags))).toEqual(expected);
  });

  it('unbound keys do nothing (Tab, Alt-other, Ctrl-other, empty input)', () => {
    expect(bindKey('', keyPress({ tab: true }))).toBeUndefined();
    expect(bindKey('x', keyPress({ meta: true }))).toBeUndefined();
    expect(bindKey('z', keyPress({ ctrl: true }))).toBeUndefined();
    expect(bindKey('', keyPress())).toBeUndefined();
  });
});

describe('bindInput: a chunk of text with line breaks', () => {
  it('each line break submits the text before it (tmux send-keys text Enter; a pasted block)', () => {
    expect(bindInput('hi there\r', keyPress())).toEqual([
      { type: 'edit', edit: { kind: 'insert', text: 'hi there' } },
      { type: 'submit' },
    ]);
    expect(bindInput('one\r\ntwo\nthree', keyPress())).toEqual([
      { type: 'edit', edit: { kind: 'insert', text: 'one' } },
      { type: 'submit' },
      { type: 'edit', edit: { kind: 'insert', text: 'two' } },
      { type: 'submit' },
      { type: 'edit', edit: { kind: 'insert', text: 'three' } },
    ]);
    expect(bindInput('\n', keyPress())).toEqual([{ type: 'submit' }]);
  });
  it('anything else is the one binding of bindKey', () => {
    expect(bindInput('1', keyPress({ meta: true }))).toEqual([{ type: 'switch-to', index: 0 }]);
    expect(bindInput('', keyPress({ return: true }))).toEqual([{ type: 'submit' }]);
    expect(bindInput('', keyPress({ tab: true }))).toEqual([]);
  });
});

describe('line editor', () => {
  const at = (text: string, cursor = [...text].length) => ({ text, cursor });
  it('inserts at the cursor; pasted newlines become spaces and controls go', () => {
    expect(applyEdit(at('helo', 3), { kind: 'insert', text: 'l' })).toEqual(at('hello', 4));
    expect(applyEdit(at(''), { kind: 'insert', text: 'a\nb\r\nc\u001b[2Jd' })).toEqual(at('a b c[2Jd'));
    expect(applyEdit(at('ab', 1), { kind: 'insert', text: '\u0007' })).toEqual(at('ab', 1));
  });
  it('backspace, cursor moves and kills', () => {
    expect(applyEdit(at('hello'), { kind: 'backspace' })).toEqual(at('hell'));
    expect(applyEdit(at('hello', 0), { kind: 'backspace' })).toEqual(at('hello', 0));
    expect(applyEdit(at('hello', 0), { kind: 'left' })).toEqual(at('hello', 0));
    expect(applyEdit(at('hello'), { kind: 'right' })).toEqual(at('hello'));
    expect(applyEdit(at('hello', 2), { kind: 'home' })).toEqual(at('hello', 0));
    expect(applyEdit(at('hello', 2), { kind: 'end' })).toEqual(at('hello', 5));
    expect(applyEdit(at('hello', 2), { kind: 'kill-line' })).toEqual(at('', 0));
    expect(applyEdit(at('hello', 2), { kind: 'kill-to-end' })).toEqual(at('he', 2));
    expect(applyEdit(at('say hello  '), { kind: 'kill-word' })).toEqual(at('say '));
  });
  it('counts code points, not UTF-16 units', () => {
    expect(applyEdit(at('a😀'), { kind: 'backspace' })).toEqual(at('a'));
    expect(applyEdit(at('😀b', 1), { kind: 'insert', text: 'é' })).toEqual(at('😀éb', 2));
  });
  it('lineWindow fits the width and shows the cursor and the character before it (width ≥ 5)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 120 }), fc.nat(), fc.integer({ min: 5, max: 60 }), (raw, c, width) => {
        const text = raw.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
        const chars = [...text];
        const cursor = c % (chars.length + 1);
        const view = lineWindow({ text, cursor }, width);
        expect(view.atCursor).toBe(chars[cursor] ?? ' ');
        expect(displayWidth(view.before + view.atCursor + view.after)).toBeLessThanOrEqual(width);
        expect(view.before.endsWith(chars.slice(Math.max(0, cursor - 1), cursor).join(''))).toBe(true);
      }),
    );
  });
  it('lineWindow of a long line keeps the cursor near the right edge with … on the left', () => {
    const view = lineWindow({ text: 'abcdefghijklmnopqrstuvwxyz', cursor: 26 }, 10);
    expect(view).toEqual({ before: '…stuvwxyz', atCursor: ' ', after: '', clippedLeft: true });
    expect(lineWindow({ text: 'short', cursor: 2 }, 10)).toEqual({ before: 'sh', atCursor: 'o', after: 'rt', clippedLeft: false });
  });
});

describe('input history', () => {
  const typed = (...lines: string[]) =>
    lines.reduce((input, line) => submitInput(editInput(input, { kind: 'insert', text: line })), emptyInput());

  it('Up walks back, Down forward, and the draft comes back after the newest', () => {
    let input = editInput(typed('one', 'two', 'three'), { kind: 'insert', text: 'dra' });
    input = walkHistory(input, 'older');
    expect(input.text).toBe('three');
    expect(input.cursor).toBe(5);
    input = walkHistory(walkHistory(walkHistory(input, 'older'), 'older'), 'older');
    expect(input.text).toBe('one');
    input = walkHistory(input, 'newer');
    expect(input.text).toBe('two');
    input = walkHistory(walkHistory(input, 'newer'), 'newer');
    expect(input.text).toBe('dra');
    expect(input.historyIndex).toBeUndefined();
  });
  it('keeps no blanks and no repeats in a row, at most 200', () => {
    expect(typed('a', 'a', '  ', 'b', 'a').history).toEqual(['a', 'b', 'a']);
    const many = typed(...Array.from({ length: 250 }, (_, i) => `m${i}`));
    expect(many.history.length).toBe(200);
    expect(many.history[0]).toBe('m50');
  });
  it('editing a recalled line makes it the draft', () => {
    let input = walkHistory(typed('one', 'two'), 'older');
    input = editInput(input, { kind: 'insert', text: '!' });
    expect(input.historyIndex).toBeUndefined();
    input = walkHistory(walkHistory(input, 'older'), 'newer');
    expect(input.text).toBe('two!');
  });
  it('with no history Up does nothing', () => {
    const input = editInput(emptyInput(), { kind: 'insert', text: 'x' });
    expect(walkHistory(input, 'older')).toBe(input);
  });
});

describe('through ink: the bytes a terminal sends reach the bindings as expected', () => {
  function Probe() {
    const [seen, setSeen] = useState<string[]>([]);
    useInput((input, key) => {
      const intents: KeyIntent[] = bindInput(input, key);
      setSeen((s) => [...s, ...intents.map((i) => JSON.stringify(i))]);
    });
    return <Text>{seen.join('\n')}</Text>;
  }

  it.each([
    ['ESC 1 (Alt-1)', '\u001b1', { type: 'switch-to', index: 0 }],
    ['ESC a (Alt-A)', '\u001ba', { type: 'next-activity' }],
    ['CSI 5 ~ (PageUp)', '\u001b[5~', { type: 'scroll', pages: 1 }],
    ['CSI 6 ~ (PageDown)', '\u001b[6~', { type: 'scroll', pages: -1 }],
    ['CSI A (Up)', '\u001b[A', { type: 'history-nav', direction: 'older' }],
    ['DEL (Backspace)', '\u007f', { type: 'edit', edit: { kind: 'backspace' } }],
    ['ETX (Ctrl-C)', '\u0003', { type: 'quit' }],
    ['CR (Enter)', '\r', { type: 'submit' }],
    ['a paste', 'hi there', { type: 'edit', edit: { kind: 'insert', text: 'hi there' } }],
  ] as const)('%s', async (_name, bytes, expected) => {
    const { stdin, lastFrame, unmount } = render(<Probe />);
    try {
      // Let ink attach its stdin listener before writing.
      await new Promise((r) => setTimeout(r, 20));
      stdin.write(bytes);
      await waitFor('the key to be seen', () => (lastFrame() ?? '') !== '', 2000);
      expect(lastFrame()).toBe(JSON.stringify(expected));
    } finally {
      unmount();
    }
  });

  it('text then Enter in one chunk (as tmux send-keys writes it) inserts, then submits', async () => {
    const { stdin, lastFrame, unmount } = render(<Probe />);
    try {
      await new Promise((r) => setTimeout(r, 20));
      stdin.write('hello bot\r');
      await waitFor('two intents', () => (lastFrame() ?? '').includes('submit'), 2000);
      expect(lastFrame()!.split('\n')).toEqual([
        JSON.stringify({ type: 'edit', edit: { kind: 'insert', text: 'hello bot' } }),
        JSON.stringify({ type: 'submit' }),
      ]);
    } finally {
      unmount();
    }
  });
});
