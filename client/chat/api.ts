/**
 * The public shape of the chat client: what the headless JSON mode, the ink UI and the
 * load generator see. Views are plain data (copies), events are typed; nothing here
 * exposes circuits, keys or protocol internals.
 *
 * Not the implementation (client/chat/chat-client.ts) and not the wire.
 */
import type { BootstrapStage } from '../client.js';

/** A contact's relation to us. */
export type ContactState =
  /** We added them; no message has reached them yet. */
  | 'added'
  /** They introduced themselves to us; waiting for our accept / reject. */
  | 'request'
  /** Chatting. */
  | 'accepted'
  /** Their requests and messages are refused. */
  | 'rejected'
  | 'blocked';

export interface ContactView {
  readonly address: string;
  /** Our name for them (or the name they sent in their hello; else a short address). */
  readonly name: string;
  readonly state: ContactState;
  /** A spliced rendezvous circuit with them is open now. */
  readonly online: boolean;
  /** Messages received since the conversation was last marked read. */
  readonly unread: number;
  /** ms since the epoch of the last message either way (0 if none). */
  readonly lastActivityAt: number;
}

/** Where an outgoing message stands: queued → sent → delivered, or failed. Incoming: 'received'. */
export type DeliveryState = 'queued' | 'sent' | 'delivered' | 'failed' | 'received';

export interface HistoryEntry {
  readonly id: string;
  readonly direction: 'in' | 'out';
  readonly text: string;
  /** Per-conversation, per-direction sequence number (assigned when queued). */
  readonly seq: number;
  /** ms since the epoch: when written (out) or received (in). */
  readonly at: number;
  readonly state: DeliveryState;
  /** For 'failed': a stable error code (e.g. PEER_UNREACHABLE). */
  readonly errorCode?: string;
}

export interface CircuitHopView {
  readonly nickname: string;
  /** The hop's CREATE2 / EXTEND2 round trip, ms. */
  readonly ms: number;
}

export interface CircuitView {
  /** What the circuit is for. */
  readonly purpose: 'intro' | 'rendezvous' | 'hsdir' | 'general';
  /** The contact it reaches (rendezvous circuits only). */
  readonly contact?: string;
  readonly hops: readonly CircuitHopView[];
  readonly buildMs: number;
  /** Last measured end-to-end round trip (rendezvous only), ms. */
  readonly rttMs?: number;
}

export interface ChatStatus {
  readonly stage: BootstrapStage;
  /** ms the bootstrap took (or has taken so far). */
  readonly bootstrapMs: number;
  /** Introduction points currently established / wanted. */
  readonly introPoints: { readonly up: number; readonly wanted: number };
  /** When the descriptor was last published (ms since the epoch), 0 if never. */
  readonly publishedAt: number;
  /** Median end-to-end RTT over open conversations, ms (undefined before any). */
  readonly rttMs?: number;
}

/** Events, each with its payload; the JSON lines of headless mode mirror these. */
export interface ChatEvents {
  progress: { stage: BootstrapStage; elapsedMs: number };
  ready: { bootstrapMs: number };
  request: { from: string; name?: string };
  message: { from: string; id: string; seq: number; text: string; sentAt: number };
  sent: { id: string; to: string };
  delivered: { id: string; to: string };
  failed: { id: string; to: string; code: string; message: string };
  contact: ContactView;
  status: ChatStatus;
  error: { code: string; message: string };
}
export type ChatEventName = keyof ChatEvents;
export type ChatListener<K extends ChatEventName> = (payload: ChatEvents[K]) => void;

/** What every front end (headless, ink UI, load generator) calls. */
export interface ChatApi {
  /** Our own address (chive1…). */
  readonly address: string;
  on<K extends ChatEventName>(event: K, listener: ChatListener<K>): () => void;
  /** Bootstraps, establishes intro points, publishes, reconnects the outbox. */
  start(): Promise<{ bootstrapMs: number }>;
  /** Adds (or renames) a contact; BAD_ADDRESS for a malformed address. Starts contacting them. */
  addContact(address: string, name?: string): ContactView;
  accept(address: string): ContactView;
  reject(address: string): ContactView;
  block(address: string): ContactView;
  rename(address: string, name: string): ContactView;
  /** Queues a message (persisted before this returns); NOT_A_CONTACT, MESSAGE_TOO_LONG. */
  send(to: string, text: string): { id: string; seq: number };
  /** Re-queues a failed message. */
  retry(id: string): void;
  contacts(): ContactView[];
  history(address: string, limit?: number): HistoryEntry[];
  markRead(address: string): void;
  circuits(): CircuitView[];
  /** Tears down the conversation circuits and builds new ones (messages are kept and resent). */
  newCircuits(): Promise<void>;
  status(): ChatStatus;
  close(): Promise<void>;
}
