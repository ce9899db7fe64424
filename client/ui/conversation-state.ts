/**
 * The conversation part of the UI state, pure: appending messages (each id once), merging
 * stored history, delivery-state transitions, and keeping a scrolled-back view still while
 * new lines arrive below it.
 *
 * Delivery states only move forward: queued → sent → delivered, with failed reachable from
 * queued or sent and left by a retry (back to queued) or by the client resending on its
 * own (sent / delivered). Events may arrive out of order (a 'sent' after its 'delivered',
 * or before the UI has recorded the message at all); neither moves a message backwards,
 * and a delivery event for a message not yet recorded is kept and applied when it is.
 *
 * Not the reducer's dispatch (reducer.ts) and not layout (layout.ts), whose line counts
 * this uses.
 */
import type { DeliveryState, HistoryEntry } from '../chat/api.js';
import { conversationLines, screenLayout } from './layout.js';
import type { Conversation, EarlyDelivery, MessageEntry, UiState } from './ui-state.js';
import { conversationOf } from './ui-state.js';

/** Whether a message in state `from` may move to `to` on a delivery event. */
export function canMoveDelivery(from: DeliveryState, to: DeliveryState): boolean {
  switch (from) {
    case 'queued':
      return to === 'sent' || to === 'delivered' || to === 'failed';
    case 'sent':
      return to === 'delivered' || to === 'failed';
    case 'failed':
      return to === 'sent' || to === 'delivered';
    case 'delivered':
    case 'received':
      return false;
  }
}

export function applyDelivery(entry: MessageEntry, update: EarlyDelivery): MessageEntry {
  if (!canMoveDelivery(entry.state, update.state)) return entry;
  if (update.state === 'failed') {
    return { ...entry, state: 'failed', errorCode: update.errorCode, errorMessage: update.errorMessage };
  }
  const { errorCode: _code, errorMessage: _message, ...rest } = entry;
  return { ...rest, state: update.state };
}

function fromHistory(h: HistoryEntry): MessageEntry {
  return {
    id: h.id,
    direction: h.direction,
    text: h.text,
    seq: h.seq,
    at: h.at,
    state: h.state,
    ...(h.errorCode === undefined ? {} : { errorCode: h.errorCode }),
  };
}

/** Stored history merged with what arrived before it loaded: each id once, in time order. */
export function mergeHistory(conversation: Conversation, loaded: readonly HistoryEntry[]): Conversation {
  const byId = new Map<string, MessageEntry>();
  for (const h of loaded) byId.set(h.id, fromHistory(h));
  for (const e of conversation.entries) {
    const stored = byId.get(e.id);
    // The live entry may be further along than the stored copy (or the reverse).
    if (stored === undefined) byId.set(e.id, e);
    else if (canMoveDelivery(stored.state, e.state)) byId.set(e.id, { ...stored, ...e });
  }
  const entries = [...byId.values()].sort((a, b) => a.at - b.at);
  return { ...conversation, entries, loaded: true };
}

/** Display lines of a conversation at the current width (for scroll arithmetic). */
export function lineCount(state: UiState, address: string, entries: readonly MessageEntry[]): number {
  const layout = screenLayout(state.size);
  const contact = state.contacts.find((c) => c.address === address);
  return conversationLines(entries, {
    width: layout.paneWidth,
    contactName: contact?.name ?? address,
    utcOffsetMinutes: state.utcOffsetMinutes,
  }).length;
}

/**
 * Replaces a conversation's entries; when it is scrolled back, the offset grows by the
 * lines added so the lines on screen stay where they are.
 */
export function withEntries(state: UiState, address: string, entries: readonly MessageEntry[]): UiState {
  const before = conversationOf(state, address);
  let scroll = before.scroll;
  if (scroll > 0) {
    scroll += Math.max(0, lineCount(state, address, entries) - lineCount(state, address, before.entries));
  }
  const conversations = new Map(state.conversations);
  conversations.set(address, { ...before, entries, scroll });
  return { ...state, conversations };
}

/** Appends a message unless its id is already there. */
export function appendEntry(state: UiState, address: string, entry: MessageEntry): UiState {
  const conversation = conversationOf(state, address);
  if (conversation.entries.some((e) => e.id === entry.id)) return state;
  let added = entry;
  const early = state.earlyDeliveries.get(entry.id);
  let earlyDeliveries = state.earlyDeliveries;
  if (early !== undefined) {
    added = applyDelivery(entry, early);
    const rest = new Map(earlyDeliveries);
    rest.delete(entry.id);
    earlyDeliveries = rest;
  }
  return withEntries({ ...state, earlyDeliveries }, address, [...conversation.entries, added]);
}

/** A delivery event for message `id` sent to `address` (kept for later if the message is unknown). */
export function deliveryUpdate(state: UiState, address: string, id: string, update: EarlyDelivery): UiState {
  const conversation = conversationOf(state, address);
  const index = conversation.entries.findIndex((e) => e.id === id);
  if (index < 0) {
    const held = state.earlyDeliveries.get(id);
    if (held !== undefined && !canMoveDelivery(held.state, update.state)) return state;
    const earlyDeliveries = new Map(state.earlyDeliveries);
    earlyDeliveries.set(id, update);
    return { ...state, earlyDeliveries };
  }
  const entry = conversation.entries[index]!;
  const moved = applyDelivery(entry, update);
  if (moved === entry) return state;
  const entries = conversation.entries.slice();
  entries[index] = moved;
  return withEntries(state, address, entries);
}

/** Retry: a failed message goes back to queued (the only backward move, made by us). */
export function requeue(state: UiState, id: string): UiState {
  for (const [address, conversation] of state.conversations) {
    const index = conversation.entries.findIndex((e) => e.id === id);
    if (index < 0) continue;
    const entry = conversation.entries[index]!;
    if (entry.state !== 'failed') return state;
    const { errorCode: _code, errorMessage: _message, ...rest } = entry;
    const entries = conversation.entries.slice();
    entries[index] = { ...rest, state: 'queued' };
    return withEntries(state, address, entries);
  }
  return state;
}

/** Sets a conversation's scroll offset (already clamped by the caller). */
export function withScroll(state: UiState, address: string, scroll: number): UiState {
  const conversation = conversationOf(state, address);
  if (conversation.scroll === scroll && state.conversations.has(address)) return state;
  const conversations = new Map(state.conversations);
  conversations.set(address, { ...conversation, scroll });
  return { ...state, conversations };
}
