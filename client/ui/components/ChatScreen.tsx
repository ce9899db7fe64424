/**
 * The whole screen from one UiState value: contact list (or, when narrow, tabs in the
 * pane header) and conversation pane, or an overlay in their place; then the notice
 * line, the status bar and the input line. Sized by `state.size` (the App keeps it equal
 * to the terminal's), one row short of the terminal: see ScreenLayout.height.
 *
 * Pure rendering: no hooks, no ChatApi. App.tsx owns the state and the I/O.
 */
import { Box } from 'ink';
import { screenLayout } from '../layout.js';
import { contactRtt } from '../status-model.js';
import type { UiState } from '../ui-state.js';
import { conversationOf, currentContact, listedContacts } from '../ui-state.js';
import { AddressOverlay } from './AddressOverlay.js';
import { CircuitOverlay } from './CircuitOverlay.js';
import { ContactList } from './ContactList.js';
import { ConversationPane } from './ConversationPane.js';
import { HelpOverlay } from './HelpOverlay.js';
import { InputLine } from './InputLine.js';
import { NoticeLine } from './NoticeLine.js';
import { StatusBar } from './StatusBar.js';

function Main({ state }: { readonly state: UiState }) {
  const layout = screenLayout(state.size);
  const { overlay } = state;
  if (overlay?.kind === 'help') return <HelpOverlay width={layout.columns} height={layout.mainRows} />;
  if (overlay?.kind === 'address') return <AddressOverlay address={state.self} width={layout.columns} height={layout.mainRows} />;
  if (overlay?.kind === 'circuits') {
    return <CircuitOverlay circuits={overlay.circuits} contacts={state.contacts} width={layout.columns} height={layout.mainRows} />;
  }
  const listed = listedContacts(state);
  const contact = currentContact(state);
  const conversation = state.current === undefined ? conversationOf(state, '') : conversationOf(state, state.current);
  const folded = layout.contactListWidth === 0;
  return (
    <Box flexDirection="row" height={layout.mainRows}>
      {folded ? null : <ContactList contacts={listed} current={state.current} width={layout.contactListWidth} height={layout.mainRows} />}
      <ConversationPane
        contact={contact}
        conversation={conversation}
        width={layout.paneWidth}
        height={layout.mainRows}
        utcOffsetMinutes={state.utcOffsetMinutes}
        rttMs={contactRtt(state.status.circuitViews, state.current)}
        tabs={folded ? { contacts: listed, current: state.current } : undefined}
      />
    </Box>
  );
}

export function ChatScreen({ state }: { readonly state: UiState }) {
  const layout = screenLayout(state.size);
  const contact = currentContact(state);
  return (
    <Box flexDirection="column" width={layout.columns} height={layout.height} overflow="hidden">
      <Main state={state} />
      <NoticeLine notice={state.notice} width={layout.columns} />
      <StatusBar status={state.status} contact={contact} width={layout.columns} />
      <InputLine line={state.input} target={contact?.name} width={layout.columns} />
    </Box>
  );
}
