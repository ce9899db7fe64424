/**
 * The help overlay (/help): every command with its usage, the keys, and what the
 * delivery marks mean, from the same tables the parser and key bindings use
 * (COMMANDS, KEY_HELP, DELIVERY_GLYPH). Fits 80x24 exactly; on smaller terminals the
 * tail is cut and the last row says so.
 *
 * Display only; Esc or the next command closes it.
 */
import { Box, Text } from 'ink';
import { COMMANDS } from '../commands.js';
import { DELIVERY_GLYPH, fit } from '../format.js';
import { KEY_HELP } from '../key-bindings.js';
import type { DisplayLine } from '../layout.js';
import { SegmentsLine } from './Segments.js';

/** The overlay's lines at `width` columns (before cutting to the height). */
export function helpLines(width: number): DisplayLine[] {
  const column = Math.min(22, Math.max(12, Math.floor(width / 3)));
  const lines: DisplayLine[] = [[{ text: 'chive: commands and keys (Esc closes)', bold: true }]];
  for (const c of COMMANDS) lines.push([{ text: fit(c.usage, column), color: 'cyan' }, { text: ` ${c.summary}` }]);
  for (const [keys, what] of KEY_HELP) lines.push([{ text: fit(keys, column), color: 'green' }, { text: ` ${what}` }]);
  lines.push([
    { text: 'marks: ' },
    { text: DELIVERY_GLYPH.queued, color: 'yellow' },
    { text: ' queued  ' },
    { text: DELIVERY_GLYPH.sent, color: 'gray' },
    { text: ' sent  ' },
    { text: DELIVERY_GLYPH.delivered, color: 'green' },
    { text: ' delivered  ' },
    { text: DELIVERY_GLYPH.failed, color: 'red' },
    { text: ' failed (/retry)' },
  ]);
  return lines;
}

export function HelpOverlay({ width, height }: { readonly width: number; readonly height: number }) {
  const all = helpLines(width);
  const shown = all.length > height ? [...all.slice(0, height - 1), [{ text: '… (a taller terminal shows the rest; /help <command> for one)', dim: true }]] : all;
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      {shown.map((line, i) => (
        <SegmentsLine key={i} line={line} />
      ))}
    </Box>
  );
}
