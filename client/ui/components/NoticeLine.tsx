/**
 * The notice line, one row above the status bar: the outcome of the last command or the
 * last error (red, with its stable code: `✗ PEER_UNREACHABLE: …`), or a hint when there
 * is nothing to say. Long notices are cut to the width with `…`.
 *
 * Display only; notices are set by the reducer and cleared by Esc or the next command.
 */
import { Text } from 'ink';
import { sanitizeText } from '../format.js';
import type { Notice } from '../ui-state.js';

export interface NoticeLineProps {
  readonly notice?: Notice;
  readonly width: number;
}

export function NoticeLine({ notice }: NoticeLineProps) {
  if (notice === undefined) return <Text dimColor wrap="truncate-end">/help for commands · Alt-1…9 switch · Ctrl-C quits</Text>;
  const text = sanitizeText(notice.text, true);
  if (notice.level === 'error') {
    return (
      <Text color="red" wrap="truncate-end">
        {`✗ ${notice.code === undefined ? '' : `${notice.code}: `}${text}`}
      </Text>
    );
  }
  return <Text color="yellow" wrap="truncate-end">{`› ${text}`}</Text>;
}
