/**
 * The status bar: bootstrap stage and timing, network health, introduction points,
 * round trip, circuits (the words come from status-model.ts), on a full-width bar.
 *
 * Display only.
 */
import { Box, Text } from 'ink';
import type { ContactView } from '../../chat/api.js';
import { displayWidth } from '../format.js';
import { statusLine } from '../status-model.js';
import type { StatusModel } from '../ui-state.js';

export interface StatusBarProps {
  readonly status: StatusModel;
  /** The contact on screen (for its round trip). */
  readonly contact?: ContactView;
  readonly width: number;
}

export function StatusBar({ status, contact, width }: StatusBarProps) {
  const line = statusLine(status, contact, width);
  const used = line.reduce((w, s) => w + displayWidth(s.text), 0);
  return (
    <Box width={width} height={1} overflow="hidden">
      <Text inverse wrap="truncate-end">
        {line.map((s, i) => (
          <Text key={i} color={s.color} bold={s.bold}>
            {s.text}
          </Text>
        ))}
        {' '.repeat(Math.max(0, width - used))}
      </Text>
    </Box>
  );
}
