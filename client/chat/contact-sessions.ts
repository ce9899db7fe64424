/**
 * The sessions of a chat client's contacts: turning a spliced circuit into the contact's
 * one session (two at once: the one introduced by the lower address survives, on both
 * ends), the HELLO exchange, moving CHAT frames between the session and the contact's
 * Conversation (what arrives is stored before it is acknowledged), sending what the
 * conversation lets through, and PING / PONG round trips.
 *
 * Not the decisions about contacts, connecting or the API (chat-client.ts), nor the
 * delivery rules themselves (src/chat/conversation.ts).
 */
import { toHex } from '../../src/bytes.js';
import { decodeChatFrame, encodeChatFrame, type ChatFrame } from '../../src/chat/chat-frame.js';
import type { Conversation, ConversationEvent } from '../../src/chat/conversation.js';
import type { E2eKeys } from '../../src/chat/e2e-handshake.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { ChiveError, isChiveError } from '../../src/errors.js';
import type { ClientCircuit } from '../circuit.js';
import type { ChatEventName, ChatEvents } from './api.js';
import type { ChatLog } from './chat-context.js';
import type { MessageStore, StoredContact } from './message-store.js';
import type { Retrier } from './retrier.js';
import { ChatSession } from './session.js';

/** A contact as the chat client holds it at run time. */
export interface Contact {
  record: StoredContact;
  readonly identity: Uint8Array;
  conversation: Conversation;
  session: ChatSession | null;
  helloReceived: boolean;
  readonly retrier: Retrier;
  /** Received since last marked read, and the time of the last message either way. */
  unread: number;
  lastActivityAt: number;
}

/** What the sessions need of the chat client. */
export interface SessionHost {
  readonly store: MessageStore;
  readonly provider: CryptoProvider;
  /** Our name, sent in HELLO. */
  readonly name: string;
  isClosed(): boolean;
  emit<K extends ChatEventName>(event: K, payload: ChatEvents[K]): void;
  readonly log: ChatLog;
  /** The contact's view changed (online, name). */
  changed(c: Contact): void;
  /** The peer told us its name and we have none for it. */
  rename(c: Contact, name: string): void;
  /** The session is gone: connect again if something waits. */
  reconnect(c: Contact): void;
}

const FRAMES_PER_PUMP = 64;

export class ContactSessions {
  private readonly pings = new WeakMap<ChatSession, { nonce: string; at: number }>();

  constructor(private readonly host: SessionHost) {}

  /** Makes a session of a spliced circuit; the sender's HELLO goes at once, the receiver's after RENDEZVOUS1. */
  adopt(c: Contact, circuit: ClientCircuit, keys: E2eKeys, role: 'sender' | 'receiver', initiator: string, helloNow: boolean): ChatSession {
    const session = new ChatSession(circuit, keys, role, c.record.address, initiator, (s, frame) => this.onSessionFrame(c, s, frame));
    const current = c.session;
    if (current?.open) {
      // Both ends apply the same rule, so both keep the same circuit; a reconnection by the same side replaces the old one.
      const keepCurrent = current.initiator < initiator;
      if (keepCurrent) {
        session.close();
        return session;
      }
      current.close();
    }
    c.session = session;
    c.helloReceived = false;
    session.onClose(() => this.onSessionClosed(c, session));
    c.retrier.succeeded();
    if (helloNow) this.sendHello(c, session);
    this.host.changed(c);
    return session;
  }

  sendHello(c: Contact, session: ChatSession): void {
    if (!session.open || c.session !== session) return;
    this.sendFrame(session, c.conversation.hello(this.host.name));
    this.ping(session);
  }

  private onSessionClosed(c: Contact, session: ChatSession): void {
    if (c.session !== session) return;
    c.session = null;
    c.helloReceived = false;
    c.conversation.onSessionLost();
    this.host.changed(c);
    if (!this.host.isClosed()) this.host.reconnect(c);
  }

  // --- frames ----------------------------------------------------------------------------

  private onSessionFrame(c: Contact, session: ChatSession, bytes: Uint8Array): void {
    let frame: ChatFrame;
    try {
      frame = decodeChatFrame(bytes);
      if (frame.kind === 'PING') return this.sendFrame(session, { kind: 'PONG', nonce: frame.nonce });
      if (frame.kind === 'PONG') return this.onPong(session, frame.nonce);
      if (c.session !== session) return; // a session that lost the tie-break: its frames are resent on the winner
      const events = c.conversation.onFrame(frame, Date.now());
      for (const event of events) this.onConversationEvent(c, event);
      // The snapshot goes to disk before the ACK that lets the peer forget what it holds.
      if (events.length > 0) this.host.store.saveConversation(c.record.address, c.conversation.snapshot());
      const ack = c.conversation.ackToSend();
      if (ack) this.sendFrame(session, ack);
      this.pump(c);
    } catch (e) {
      this.host.log('warn', 'bad frame from a contact; closing the session', { code: codeOf(e) });
      session.close();
    }
  }

  private onConversationEvent(c: Contact, event: ConversationEvent): void {
    const address = c.record.address;
    switch (event.type) {
      case 'hello':
        c.helloReceived = true;
        if (!c.record.name && event.name) this.host.rename(c, event.name.slice(0, 32));
        return;
      case 'message': {
        const id = toHex(event.id);
        const fresh = this.host.store.appendHistory(address, { id, direction: 'in', text: event.text, seq: event.seq, at: event.receivedAt, state: 'received' });
        if (!fresh) return; // stored before a crash that came before its ACK: the peer resent it
        c.unread += 1;
        c.lastActivityAt = event.receivedAt;
        this.host.emit('message', { from: address, id, seq: event.seq, text: event.text, sentAt: event.sentAt });
        return;
      }
      case 'delivered': {
        const id = toHex(event.id);
        this.host.store.updateHistory(address, id, { state: 'delivered' });
        this.host.emit('delivered', { id, to: address });
        return;
      }
    }
  }

  /** Sends what the conversation lets through on the open session, or starts connecting. */
  pump(c: Contact): void {
    const session = c.session;
    if (!session?.open) {
      this.host.reconnect(c);
      return;
    }
    if (!c.helloReceived) return;
    const frames = c.conversation.nextFrames(FRAMES_PER_PUMP);
    if (frames.length === 0) return;
    for (const frame of frames) {
      this.sendFrame(session, frame);
      if (frame.fragIndex === frame.fragCount - 1) this.markSent(c, toHex(frame.msgId));
    }
    session.circuit.flush();
  }

  private markSent(c: Contact, id: string): void {
    const entry = this.host.store.entry(c.record.address, id);
    if (!entry || (entry.state !== 'queued' && entry.state !== 'failed')) return;
    this.host.store.updateHistory(c.record.address, id, { state: 'sent', errorCode: undefined });
    this.host.emit('sent', { id, to: c.record.address });
  }

  private sendFrame(session: ChatSession, frame: ChatFrame): void {
    if (!session.open) return;
    try {
      session.send(encodeChatFrame(frame));
    } catch (e) {
      if (!isChiveError(e, 'CIRCUIT_CLOSED')) throw e;
    }
  }

  private ping(session: ChatSession): void {
    const nonce = this.host.provider.randomBytes(8);
    this.pings.set(session, { nonce: toHex(nonce), at: performance.now() });
    this.sendFrame(session, { kind: 'PING', nonce });
    session.circuit.flush();
  }

  private onPong(session: ChatSession, nonce: Uint8Array): void {
    const p = this.pings.get(session);
    if (!p || p.nonce !== toHex(nonce)) return;
    this.pings.delete(session);
    session.rttMs = performance.now() - p.at;
  }

  /** Measures the end-to-end round trip with `c` now (PEER_UNREACHABLE without a session). */
  async measureRtt(c: Contact, timeoutMs: number): Promise<number> {
    const session = c.session;
    if (!session?.open) throw new ChiveError('PEER_UNREACHABLE', 'no open session with this contact');
    const before = session.rttMs;
    session.rttMs = undefined;
    this.ping(session);
    const t0 = performance.now();
    while (session.rttMs === undefined) {
      if (!session.open || performance.now() - t0 > timeoutMs) {
        session.rttMs = before;
        throw new ChiveError('PEER_UNREACHABLE', 'no PONG');
      }
      await new Promise((r) => setImmediate(r));
    }
    return session.rttMs;
  }
}

function codeOf(e: unknown): string {
  return isChiveError(e) ? e.code : 'INTERNAL';
}
