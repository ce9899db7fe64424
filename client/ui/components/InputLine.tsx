/**
 * The input line: a prompt naming the conversation the line goes to, then the text with
 * a block cursor, scrolled sideways when longer than the terminal (a `…` marks text
 * hidden on the left).
 *
 * Display only: keys reach the line editor through key-bindings.ts and the reducer.
 */
import { Box, Text } from 'ink';
import { displayWidth, truncate } from '../format.js';
import type { Line } from '../line-editor.js';
import { lineWindow } from '../line-editor.js';

export interface InputLineProps {
  readonly line: Line;
  /** Who the line goes to (a contact's name), or undefined for commands only. */
  readonly target?: string;
  readonly width: number;
}

export function InputLine({ line, target, width }: InputLineProps) {
  const prompt = `${target === undefined ? '' : `[${truncate(target, Math.max(4, Math.floor(width / 4)))}]`}› `;
  const view = lineWindow(line, width - displayWidth(prompt));
  return (
    <Box width={width} height={1} overflow="hidden">
      <Text wrap="truncate-end">
        <Text color="cyan">{prompt}</Text>
        <Text>{view.before}</Text>
        <Text inverse>{view.atCursor}</Text>
        <Text>{view.after}</Text>
      </Text>
    </Box>
  );
}
