/**
 * The contact list: conversations (numbered for Alt-1…9, Alt-0), with presence and
 * unread counts, then pending contact requests. The conversation on screen is shown in
 * inverse. On terminals narrower than CONTACT_LIST_MIN_COLUMNS the list folds into
 * `ContactTabs`, one line of `1:alice 2:bob(3)` as in weechat's buffer bar.
 *
 * Renders given data only; which contacts are listed, and in what order, is
 * `listedContacts` (ui-state.ts).
 */
import { Box, Text } from 'ink';
import type { ReactElement } from 'react';
import type { ContactView } from '../../chat/api.js';
import { fit, truncate } from '../format.js';

/** What the list shows before a contact's name. */
export function presenceGlyph(c: ContactView): { glyph: string; color: string } {
  if (c.state === 'request') return { glyph: '?', color: 'yellow' };
  if (c.state === 'blocked' || c.state === 'rejected') return { glyph: '×', color: 'red' };
  return c.online ? { glyph: '●', color: 'green' } : { glyph: '○', color: 'gray' };
}

/** The Alt-key digit of the i-th (0-based) listed contact, or a space past the tenth. */
export function switchDigit(index: number): string {
  return index < 9 ? String(index + 1) : index === 9 ? '0' : ' ';
}

export interface ContactListProps {
  /** Listed contacts in list order (listedContacts). */
  readonly contacts: readonly ContactView[];
  readonly current?: string;
  /** Columns including the separator on the right. */
  readonly width: number;
  readonly height: number;
}

export function ContactList({ contacts, current, width, height }: ContactListProps) {
  const inner = Math.max(4, width - 2);
  const rows: ReactElement[] = [];
  const firstRequest = contacts.findIndex((c) => c.state === 'request');
  rows.push(
    <Text key="title" bold wrap="truncate-end">
      {fit(`Contacts (${firstRequest < 0 ? contacts.length : firstRequest})`, inner)}
    </Text>,
  );
  if (contacts.length === 0) {
    rows.push(<Text key="none" dimColor wrap="truncate-end">{fit('none yet: /add', inner)}</Text>);
  }
  contacts.forEach((c, i) => {
    if (i === firstRequest) {
      rows.push(<Text key="requests" bold color="yellow" wrap="truncate-end">{fit('Requests', inner)}</Text>);
    }
    const { glyph, color } = presenceGlyph(c);
    const count = c.unread > 0 ? ` ${c.unread > 99 ? '99+' : c.unread}` : '';
    const nameWidth = Math.max(1, inner - 4 - count.length);
    const selected = c.address === current;
    rows.push(
      <Text key={c.address} inverse={selected} wrap="truncate-end">
        <Text dimColor>{switchDigit(i)} </Text>
        <Text color={color}>{glyph}</Text>
        <Text> </Text>
        <Text bold={c.unread > 0} dimColor={c.state === 'added'}>{fit(c.name, nameWidth)}</Text>
        <Text bold color="cyan">{count}</Text>
      </Text>,
    );
  });
  const visible =
    rows.length > height
      ? [...rows.slice(0, height - 1), <Text key="more" dimColor>{truncate(`+${rows.length - height + 1} more`, inner)}</Text>]
      : rows;
  return (
    <Box
      flexDirection="column"
      width={width}
      height={height}
      borderStyle="single"
      borderTop={false}
      borderBottom={false}
      borderLeft={false}
      borderDimColor
      overflow="hidden"
    >
      {visible}
    </Box>
  );
}

export interface ContactTabsProps {
  readonly contacts: readonly ContactView[];
  readonly current?: string;
  readonly width: number;
}

/** The folded list: one line, the current conversation in inverse, unread counts in brackets. */
export function ContactTabs({ contacts, current, width }: ContactTabsProps) {
  if (contacts.length === 0) return <Text dimColor wrap="truncate-end">{'no conversations yet: /add <address> [name]'}</Text>;
  return (
    <Box width={width} height={1} overflow="hidden">
      <Text wrap="truncate-end">
        {contacts.map((c, i) => {
          const { glyph, color } = presenceGlyph(c);
          const selected = c.address === current;
          return (
            <Text key={c.address}>
              <Text inverse={selected}>
                <Text dimColor={!selected}>{switchDigit(i).trim() || '·'}:</Text>
                <Text color={color}>{glyph}</Text>
                <Text bold={c.unread > 0}>{truncate(c.name, 12)}</Text>
                {c.unread > 0 ? <Text bold color="cyan">({c.unread})</Text> : null}
              </Text>
              <Text> </Text>
            </Text>
          );
        })}
      </Text>
    </Box>
  );
}
