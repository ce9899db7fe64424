/**
 * One display line (layout.ts `DisplayLine`) as ink text, cut to the width it is given,
 * never wrapped: the layout has already decided where lines break.
 *
 * Not layout; only the mapping of styled segments to <Text>.
 */
import { Text } from 'ink';
import type { DisplayLine } from '../layout.js';

export function SegmentsLine({ line }: { readonly line: DisplayLine }) {
  return (
    <Text wrap="truncate-end">
      {line.map((s, i) => (
        <Text key={i} color={s.color} dimColor={s.dim} bold={s.bold}>
          {s.text}
        </Text>
      ))}
    </Text>
  );
}
