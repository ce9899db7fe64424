/**
 * The conversation pane: a header (who, presence, a short address, how far scrolled
 * back) or, on narrow terminals, the folded contact tabs; then the messages with
 * timestamps and a delivery state on each outgoing one (… queued, ✓ sent, ✓✓ delivered,
 * ✗ failed with the /retry that resends it). With no conversation open it shows how to
 * start one; for a contact request, how to answer it.
 *
 * Renders given data; the lines come from layout.ts (`conversationLines`, `scrollWindow`).
 */
import { Box, Text } from 'ink';
import type { ContactView } from '../../chat/api.js';
import { formatMs, shortAddress } from '../format.js';
import type { DisplayLine, Segment } from '../layout.js';
import { conversationLines, lastFailed, scrollWindow, wrapText } from '../layout.js';
import type { Conversation } from '../ui-state.js';
import { ContactTabs } from './ContactList.js';
import { SegmentsLine } from './Segments.js';

export interface ConversationPaneProps {
  readonly contact?: ContactView;
  readonly conversation: Conversation;
  readonly width: number;
  /** Rows including the header line. */
  readonly height: number;
  readonly utcOffsetMinutes: number;
  /** Round trip to this contact, when a rendezvous circuit to them has measured one. */
  readonly rttMs?: number;
  /** Set on narrow terminals: the header becomes these tabs. */
  readonly tabs?: { readonly contacts: readonly ContactView[]; readonly current?: string };
}

const WELCOME: readonly DisplayLine[] = [
  [{ text: 'Welcome to chive: onion-routed chat, three hops on each side.', bold: true }],
  [{ text: '' }],
  [{ text: '/add <address> [name]', color: 'cyan' }, { text: '  start a conversation' }],
  [{ text: '/address', color: 'cyan' }, { text: '  show yours, to give to a friend' }],
  [{ text: '/help', color: 'cyan' }, { text: '  every command and key' }],
];

/** How to answer a request; their address alone on its line, so it can be copied. */
function requestLines(contact: ContactView, width: number): DisplayLine[] {
  const wrapped = (text: string, style: Omit<Segment, 'text'> = {}): DisplayLine[] =>
    wrapText(text, width).map((t) => [{ ...style, text: t }]);
  return [
    ...wrapped(`${contact.name} wants to chat with you. Their address:`, { bold: true, color: 'yellow' }),
    ...wrapText(contact.address, width).map((t): DisplayLine => [{ text: t }]),
    ...wrapped('/accept to talk, /reject to refuse, /block to refuse for good.', { color: 'cyan' }),
    [{ text: '' }],
  ];
}

function Header({ contact, width, rttMs, hiddenBelow }: { contact?: ContactView; width: number; rttMs?: number; hiddenBelow: number }) {
  if (contact === undefined) return <Text dimColor>no conversation open</Text>;
  const presence =
    contact.state === 'request' ? { text: 'request', color: 'yellow' }
    : contact.state === 'blocked' || contact.state === 'rejected' ? { text: contact.state, color: 'red' }
    : contact.online ? { text: '● online', color: 'green' }
    : contact.state === 'added' ? { text: '○ not reached yet', color: 'gray' }
    : { text: '○ offline', color: 'gray' };
  return (
    <Box width={width} height={1}>
      <Box flexGrow={1} overflow="hidden">
        <Text wrap="truncate-end">
          <Text bold>{contact.name}</Text>
          <Text> </Text>
          <Text color={presence.color}>{presence.text}</Text>
          <Text dimColor>{`  ${shortAddress(contact.address)}`}</Text>
          {rttMs === undefined ? null : <Text dimColor>{`  rtt ${formatMs(rttMs)}`}</Text>}
        </Text>
      </Box>
      {hiddenBelow > 0 ? <Text color="yellow">{` ↓ ${hiddenBelow} more (PgDn)`}</Text> : null}
    </Box>
  );
}

export function ConversationPane(props: ConversationPaneProps) {
  const { contact, conversation, width, height, utcOffsetMinutes, rttMs, tabs } = props;
  const rows = Math.max(1, height - 1);
  let lines: DisplayLine[];
  if (contact === undefined) {
    lines = [...WELCOME];
  } else {
    lines = conversationLines(conversation.entries, {
      width,
      contactName: contact.name,
      utcOffsetMinutes,
      lastFailedId: lastFailed(conversation.entries)?.id,
    });
    if (contact.state === 'request') lines = [...requestLines(contact, width), ...lines];
    else if (lines.length === 0) lines = [[{ text: `No messages yet. Write below and press Enter.`, dim: true }]];
  }
  // Narrow terminals have no header to say "more below": the last row says it instead.
  const marker = tabs !== undefined && conversation.scroll > 0;
  const window = scrollWindow(lines, marker ? rows - 1 : rows, conversation.scroll);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      {tabs === undefined ? (
        <Header contact={contact} width={width} rttMs={rttMs} hiddenBelow={window.hiddenBelow} />
      ) : (
        <ContactTabs contacts={tabs.contacts} current={tabs.current} width={width} />
      )}
      {window.lines.map((line, i) => (
        <SegmentsLine key={i} line={line} />
      ))}
      {marker && window.hiddenBelow > 0 ? <Text color="yellow">{`↓ ${window.hiddenBelow} more (PgDn)`}</Text> : null}
    </Box>
  );
}
