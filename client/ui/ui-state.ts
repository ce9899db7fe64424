/**
 * The chat UI's state and the actions that change it: plain immutable data, so every
 * pane can be rendered from a value and every transition tested without a terminal.
 *
 * What lives here: contacts (in list order) with presence and the UI's own unread counts,
 * per-conversation history with delivery state and a scrollback offset, the status bar
 * model, the notice line, an overlay (help, circuits, our address), the input line with
 * its history, and the terminal size. What does not: anything about circuits or keys
 * beyond the read-only views ChatApi hands out, and any I/O (App.tsx does that).
 *
 * The reducer is reducer.ts; the conversation part of it is conversation-state.ts.
 */
import type { BootstrapStage } from '../client.js';
import type {
  ChatEventName, ChatEvents, ChatStatus, CircuitView, ContactView, DeliveryState, HistoryEntry,
} from '../chat/api.js';
import type { InputState } from './input-state.js';
import { emptyInput } from './input-state.js';
import type { LineEdit } from './line-editor.js';

/** One ChatApi event with its name, as the App receives it. */
export type ChatEvent = { [K in ChatEventName]: { readonly name: K; readonly payload: ChatEvents[K] } }[ChatEventName];

/** One message in a conversation, as the UI shows it: a history entry and, when it failed, the client's explanation. */
export interface MessageEntry extends HistoryEntry {
  readonly errorMessage?: string;
}

export interface Conversation {
  readonly entries: readonly MessageEntry[];
  /** The stored history has been loaded (ChatApi.history). */
  readonly loaded: boolean;
  /** Scrollback: display lines hidden below the bottom of the pane (0 = following). */
  readonly scroll: number;
}

/** Rendezvous / intro / other circuits, summarised for the status bar. */
export interface CircuitSummary {
  readonly count: number;
  readonly medianBuildMs: number;
}

export interface StatusModel {
  /** The last bootstrap stage reached (undefined: none yet). */
  readonly stage?: BootstrapStage;
  /** ms the bootstrap took, or had taken at the last progress report. */
  readonly bootstrapMs: number;
  readonly introPoints: { readonly up: number; readonly wanted: number };
  readonly publishedAt: number;
  readonly rttMs?: number;
  readonly circuits?: CircuitSummary;
  /** The last circuits() snapshot (per-contact RTT comes from here). */
  readonly circuitViews: readonly CircuitView[];
}

export interface Notice {
  readonly level: 'info' | 'error';
  readonly text: string;
  /** A stable error code, shown before the text. */
  readonly code?: string;
}

export type Overlay =
  | { readonly kind: 'help' }
  | { readonly kind: 'address' }
  | { readonly kind: 'circuits'; readonly circuits: readonly CircuitView[] };

export interface TerminalSize {
  readonly columns: number;
  readonly rows: number;
}

/** A delivery event that arrived before the message it is about (kept until it does). */
export interface EarlyDelivery {
  readonly state: DeliveryState;
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

export interface UiState {
  /** Our own address. */
  readonly self: string;
  /** Every contact we know of, in the order they became known. */
  readonly contacts: readonly ContactView[];
  readonly conversations: ReadonlyMap<string, Conversation>;
  /** The address of the conversation on screen. */
  readonly current?: string;
  readonly status: StatusModel;
  readonly notice?: Notice;
  readonly overlay?: Overlay;
  readonly input: InputState;
  readonly size: TerminalSize;
  /** For timestamps: minutes east of UTC. */
  readonly utcOffsetMinutes: number;
  readonly earlyDeliveries: ReadonlyMap<string, EarlyDelivery>;
}

/** Everything that changes UiState. */
export type UiAction =
  /** A ChatApi event, stamped with the local time it arrived. */
  | { readonly type: 'event'; readonly event: ChatEvent; readonly at: number }
  | { readonly type: 'contacts-loaded'; readonly contacts: readonly ContactView[] }
  | { readonly type: 'history-loaded'; readonly address: string; readonly entries: readonly HistoryEntry[] }
  | { readonly type: 'status-loaded'; readonly status: ChatStatus }
  /** The App's own clock while bootstrapping, so the time shown keeps moving between stages. */
  | { readonly type: 'bootstrap-tick'; readonly elapsedMs: number }
  /** A circuits() snapshot; `show` opens the /circuit overlay with it. */
  | { readonly type: 'circuits-loaded'; readonly circuits: readonly CircuitView[]; readonly show: boolean }
  /** A contact returned by addContact / accept / reject / block / rename; `select` switches to it. */
  | { readonly type: 'contact-changed'; readonly contact: ContactView; readonly select: boolean }
  /** ChatApi.send accepted a message. */
  | {
      readonly type: 'message-queued';
      readonly to: string;
      readonly id: string;
      readonly seq: number;
      readonly text: string;
      readonly at: number;
    }
  /** ChatApi.retry re-queued a failed message. */
  | { readonly type: 'message-retried'; readonly id: string }
  | { readonly type: 'select'; readonly address: string }
  /** Alt-1…9 / Alt-0: the index-th conversation in list order (0-based). */
  | { readonly type: 'switch-to'; readonly index: number }
  /** Alt-A: the next conversation with unread messages or a pending request. */
  | { readonly type: 'next-activity' }
  /** Ctrl-N / Ctrl-P: the next / previous conversation in list order. */
  | { readonly type: 'cycle'; readonly step: 1 | -1 }
  /** PageUp (+1) / PageDown (-1): scroll the current conversation by pages. */
  | { readonly type: 'scroll'; readonly pages: number }
  /** Up ('older') / Down ('newer'): walk the input history. */
  | { readonly type: 'history-nav'; readonly direction: 'older' | 'newer' }
  | { readonly type: 'edit'; readonly edit: LineEdit }
  /** Enter: the line leaves the input (into the history); the overlay and info notices close. */
  | { readonly type: 'input-submitted' }
  | { readonly type: 'notice'; readonly notice: Notice | undefined }
  | { readonly type: 'overlay'; readonly overlay: Overlay | undefined }
  /** Escape: close the overlay, else clear the notice. */
  | { readonly type: 'dismiss' }
  | { readonly type: 'resize'; readonly columns: number; readonly rows: number };

export interface InitialUiOptions {
  readonly self: string;
  readonly size?: TerminalSize;
  readonly utcOffsetMinutes?: number;
}

export function initialUiState(options: InitialUiOptions): UiState {
  return {
    self: options.self,
    contacts: [],
    conversations: new Map(),
    status: {
      bootstrapMs: 0,
      introPoints: { up: 0, wanted: 0 },
      publishedAt: 0,
      circuitViews: [],
    },
    input: emptyInput(),
    size: options.size ?? { columns: 80, rows: 24 },
    utcOffsetMinutes: options.utcOffsetMinutes ?? 0,
    earlyDeliveries: new Map(),
  };
}

/** Contacts shown in the list, in list order: conversations first, then pending requests. */
export function listedContacts(state: UiState): ContactView[] {
  const talking = state.contacts.filter((c) => c.state === 'accepted' || c.state === 'added');
  const requests = state.contacts.filter((c) => c.state === 'request');
  return [...talking, ...requests];
}

/** The contact on screen, if any. */
export function currentContact(state: UiState): ContactView | undefined {
  return state.current === undefined ? undefined : state.contacts.find((c) => c.address === state.current);
}

export function conversationOf(state: UiState, address: string): Conversation {
  return state.conversations.get(address) ?? { entries: [], loaded: false, scroll: 0 };
}

/** Pending contact requests, oldest first. */
export function pendingRequests(state: UiState): ContactView[] {
  return state.contacts.filter((c) => c.state === 'request');
}
