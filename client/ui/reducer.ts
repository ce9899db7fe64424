/**
 * The chat UI's reducer: (UiState, UiAction) → UiState, pure. ChatApi events arrive
 * wrapped in an 'event' action with the local time; the App's own results (a contact
 * returned by accept(), a message id returned by send()) and key presses arrive as local
 * actions. See ui-state.ts for the shapes.
 *
 * Unread counts are the UI's own: seeded from ContactView.unread when the contacts load,
 * then +1 per message received outside the conversation on screen and 0 when it is
 * opened. A 'contact' event updates name, state, presence and activity but not the count,
 * so the UI is right whether or not the client emits one per message.
 *
 * Not I/O: marking read, loading history and every ChatApi call happen in App.tsx.
 */
import type { ChatStatus, CircuitView, ContactView } from '../chat/api.js';
import {
  appendEntry, deliveryUpdate, lineCount, mergeHistory, requeue, withScroll,
} from './conversation-state.js';
import { sanitizeText, shortAddress } from './format.js';
import { editInput, submitInput, walkHistory } from './input-state.js';
import { maxScroll, screenLayout } from './layout.js';
import type { ChatEvent, CircuitSummary, StatusModel, UiAction, UiState } from './ui-state.js';
import { conversationOf, listedContacts } from './ui-state.js';

export function reduce(state: UiState, action: UiAction): UiState {
  switch (action.type) {
    case 'event':
      return reduceEvent(state, action.event, action.at);
    case 'contacts-loaded': {
      let next = state;
      for (const c of action.contacts) next = upsertContact(next, c, true);
      return autoSelect(next);
    }
    case 'history-loaded': {
      const conversations = new Map(state.conversations);
      conversations.set(action.address, mergeHistory(conversationOf(state, action.address), action.entries));
      return { ...state, conversations };
    }
    case 'status-loaded':
      return { ...state, status: withChatStatus(state.status, action.status) };
    case 'bootstrap-tick':
      if (state.status.stage === 'ready' || action.elapsedMs <= state.status.bootstrapMs) return state;
      return { ...state, status: { ...state.status, bootstrapMs: action.elapsedMs } };
    case 'circuits-loaded':
      return {
        ...state,
        status: { ...state.status, circuitViews: action.circuits, circuits: summarise(action.circuits) },
        overlay: action.show ? { kind: 'circuits', circuits: action.circuits } : state.overlay,
      };
    case 'contact-changed': {
      const next = upsertContact(state, action.contact, false);
      return action.select ? select(next, action.contact.address) : autoSelect(next);
    }
    case 'message-queued': {
      const next = appendEntry(state, action.to, {
        id: action.id,
        direction: 'out',
        text: action.text,
        seq: action.seq,
        at: action.at,
        state: 'queued',
      });
      return withScroll(touch(next, action.to, action.at), action.to, 0);
    }
    case 'message-retried':
      return requeue(state, action.id);
    case 'select':
      return select(state, action.address);
    case 'switch-to': {
      const target = listedContacts(state)[action.index];
      if (target === undefined) {
        return { ...state, notice: { level: 'info', text: `no conversation ${action.index + 1}` } };
      }
      return select(state, target.address);
    }
    case 'next-activity':
      return nextActivity(state);
    case 'cycle': {
      const listed = listedContacts(state);
      if (listed.length === 0) return state;
      const at = listed.findIndex((c) => c.address === state.current);
      const index = at < 0 ? 0 : (at + action.step + listed.length) % listed.length;
      return select(state, listed[index]!.address);
    }
    case 'scroll':
      return scroll(state, action.pages);
    case 'history-nav':
      return { ...state, input: walkHistory(state.input, action.direction) };
    case 'edit':
      return { ...state, input: editInput(state.input, action.edit) };
    case 'input-submitted':
      return { ...state, input: submitInput(state.input), overlay: undefined, notice: undefined };
    case 'notice':
      return { ...state, notice: action.notice };
    case 'overlay':
      return { ...state, overlay: action.overlay };
    case 'dismiss':
      return state.overlay !== undefined ? { ...state, overlay: undefined } : { ...state, notice: undefined };
    case 'resize':
      if (state.size.columns === action.columns && state.size.rows === action.rows) return state;
      return { ...state, size: { columns: action.columns, rows: action.rows } };
  }
}

function reduceEvent(state: UiState, event: ChatEvent, at: number): UiState {
  switch (event.name) {
    case 'progress':
      return { ...state, status: { ...state.status, stage: event.payload.stage, bootstrapMs: event.payload.elapsedMs } };
    case 'ready':
      return { ...state, status: { ...state.status, stage: 'ready', bootstrapMs: event.payload.bootstrapMs } };
    case 'request': {
      const { from } = event.payload;
      const known = state.contacts.find((c) => c.address === from);
      if (known !== undefined && known.state !== 'request') return state;
      const name = event.payload.name === undefined ? known?.name ?? shortAddress(from) : event.payload.name;
      const next = upsertContact(
        state,
        { address: from, name, state: 'request', online: false, unread: known?.unread ?? 0, lastActivityAt: at },
        false,
      );
      const shown = next.contacts.find((c) => c.address === from)!.name;
      return autoSelect({
        ...next,
        notice: { level: 'info', text: `${shown} wants to chat: /accept or /reject (Alt-A goes there)` },
      });
    }
    case 'message': {
      const { from, id, seq, text } = event.payload;
      let next = state;
      if (!next.contacts.some((c) => c.address === from)) {
        next = upsertContact(
          next,
          { address: from, name: shortAddress(from), state: 'request', online: true, unread: 0, lastActivityAt: at },
          false,
        );
      }
      const before = next;
      next = appendEntry(next, from, { id, direction: 'in', text, seq, at, state: 'received' });
      if (next === before) return state; // a duplicate
      next = touch(next, from, at);
      if (from !== next.current) next = bumpUnread(next, from);
      return autoSelect(next);
    }
    case 'sent':
      return deliveryUpdate(state, event.payload.to, event.payload.id, { state: 'sent' });
    case 'delivered':
      return deliveryUpdate(state, event.payload.to, event.payload.id, { state: 'delivered' });
    case 'failed':
      return deliveryUpdate(state, event.payload.to, event.payload.id, {
        state: 'failed',
        errorCode: event.payload.code,
        errorMessage: event.payload.message,
      });
    case 'contact':
      return autoSelect(upsertContact(state, event.payload, false));
    case 'status':
      return { ...state, status: withChatStatus(state.status, event.payload) };
    case 'error':
      return { ...state, notice: { level: 'error', code: event.payload.code, text: event.payload.message } };
  }
}

/**
 * Adds or updates a contact (names from the network are sanitised). The UI's unread
 * count is kept unless `takeUnread` (the initial load); the conversation on screen has none.
 */
function upsertContact(state: UiState, contact: ContactView, takeUnread: boolean): UiState {
  const index = state.contacts.findIndex((c) => c.address === contact.address);
  const known = index < 0 ? undefined : state.contacts[index]!;
  const unread =
    contact.address === state.current ? 0 : takeUnread || known === undefined ? contact.unread : known.unread;
  const updated: ContactView = {
    ...contact,
    name: sanitizeText(contact.name, true).trim() || shortAddress(contact.address),
    unread,
    lastActivityAt: Math.max(contact.lastActivityAt, known?.lastActivityAt ?? 0),
  };
  const contacts = state.contacts.slice();
  if (index < 0) contacts.push(updated);
  else contacts[index] = updated;
  return { ...state, contacts };
}

function mapContact(state: UiState, address: string, f: (c: ContactView) => ContactView): UiState {
  const index = state.contacts.findIndex((c) => c.address === address);
  if (index < 0) return state;
  const contacts = state.contacts.slice();
  contacts[index] = f(contacts[index]!);
  return { ...state, contacts };
}

function touch(state: UiState, address: string, at: number): UiState {
  return mapContact(state, address, (c) => ({ ...c, lastActivityAt: Math.max(c.lastActivityAt, at) }));
}

function bumpUnread(state: UiState, address: string): UiState {
  return mapContact(state, address, (c) => ({ ...c, unread: c.unread + 1 }));
}

/** Opens a conversation: its unread count clears and any overlay closes. */
function select(state: UiState, address: string): UiState {
  const next = mapContact(state, address, (c) => (c.unread === 0 ? c : { ...c, unread: 0 }));
  return { ...next, current: address, overlay: undefined };
}

/** With nothing on screen yet, the first listed conversation. */
function autoSelect(state: UiState): UiState {
  if (state.current !== undefined) return state;
  const first = listedContacts(state)[0];
  return first === undefined ? state : select(state, first.address);
}

/** weechat / irssi Alt-A: the next conversation after this one with unread messages or a request. */
function nextActivity(state: UiState): UiState {
  const listed = listedContacts(state);
  const at = listed.findIndex((c) => c.address === state.current);
  for (let step = 1; step <= listed.length; step++) {
    const c = listed[(at + step + listed.length) % listed.length]!;
    if (c.address !== state.current && (c.unread > 0 || c.state === 'request')) return select(state, c.address);
  }
  return { ...state, notice: { level: 'info', text: 'no other conversation has activity' } };
}

/** PageUp / PageDown: whole pages less one line of overlap, clamped to the conversation. */
function scroll(state: UiState, pages: number): UiState {
  if (state.current === undefined) return state;
  const layout = screenLayout(state.size);
  const page = Math.max(1, layout.messageRows - 1);
  const conversation = conversationOf(state, state.current);
  const limit = maxScroll(lineCount(state, state.current, conversation.entries), layout.messageRows);
  const target = Math.max(0, Math.min(limit, conversation.scroll + pages * page));
  return withScroll(state, state.current, target);
}

function withChatStatus(status: StatusModel, s: ChatStatus): StatusModel {
  const next: StatusModel = {
    ...status,
    stage: s.stage,
    bootstrapMs: s.bootstrapMs,
    introPoints: { up: s.introPoints.up, wanted: s.introPoints.wanted },
    publishedAt: s.publishedAt,
  };
  if (s.rttMs === undefined) {
    const { rttMs: _old, ...rest } = next;
    return rest;
  }
  return { ...next, rttMs: s.rttMs };
}

export function summarise(circuits: readonly CircuitView[]): CircuitSummary {
  const builds = circuits.map((c) => c.buildMs).sort((a, b) => a - b);
  const mid = builds.length >> 1;
  const median = builds.length === 0 ? 0 : builds.length % 2 === 1 ? builds[mid]! : (builds[mid - 1]! + builds[mid]!) / 2;
  return { count: circuits.length, medianBuildMs: median };
}
