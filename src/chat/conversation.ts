/**
 * One conversation with one contact, both directions, as a pure state machine: what makes
 * "never lose a message" true end to end (docs/PROTOCOL.md, chat messages).
 *
 * Outgoing: `queue` numbers each message (seq 1, 2, … per direction) and keeps it until the
 * peer acknowledges it. `nextFrames` hands out MSG fragments not yet sent on the current
 * session, in seq order, with at most CHAT_SEND_WINDOW unacknowledged messages in flight.
 * A session is one spliced circuit: `onSessionStart(peerReceivedUpTo)` (the peer's HELLO)
 * counts messages ≤ peerReceivedUpTo as delivered and resends everything else from the
 * start; `onSessionLost` stops sending until the next session.
 *
 * Incoming: `onFrame` reassembles fragments, buffers out-of-order messages (at most
 * CHAT_SEND_WINDOW ahead of what was delivered), drops duplicates and anything already
 * delivered, and emits each message exactly once, in seq order. `ackToSend` gives the
 * cumulative ACK once something new arrived (or a duplicate shows the peer missed an ACK).
 *
 * The driver's duty (the store makes it cheap): persist `snapshot()` together with the
 * history entry BEFORE sending the ACK of a received message, and after `queue` before
 * reporting a message as queued. Then a crash at any point loses nothing and duplicates
 * nothing: what was not persisted was not acknowledged, so the peer resends it.
 *
 * Not here: I/O, timers, crypto, the wire encoding (chat-frame.ts), PING / PONG (session
 * liveness, the driver's), contact requests, history (client/chat/message-store.ts).
 */
import { concatBytes, decodeUtf8, fromHex, toHex, utf8 } from '../bytes.js';
import { ChiveError } from '../errors.js';
import {
  CHAT_MAX_FRAGMENT_LEN, CHAT_MAX_MESSAGE_BYTES, CHAT_MAX_NAME_BYTES, CHAT_MSG_ID_LEN, CHAT_SEND_WINDOW,
} from '../wire/constants.js';
import { checkFrame, fragmentCountFor, type AckFrame, type ChatFrame, type HelloFrame, type MsgFrame } from './chat-frame.js';

export type ConversationEvent =
  /** A message from the peer, complete, each seq once and in order. */
  | { readonly type: 'message'; readonly seq: number; readonly id: Uint8Array; readonly text: string; readonly sentAt: number; readonly receivedAt: number }
  /** The peer has received our message `seq` (each once, in order). */
  | { readonly type: 'delivered'; readonly seq: number; readonly id: Uint8Array }
  /** The peer's HELLO (a new session has started; `delivered` events for it come first). */
  | { readonly type: 'hello'; readonly name: string; readonly receivedUpTo: number };

/** A conversation's durable state: what `restore` needs. Plain JSON. */
export interface ConversationSnapshot {
  readonly v: 1;
  /** The seq the next queued message gets. */
  readonly nextSeq: number;
  /** Every outgoing message with seq ≤ this is delivered. */
  readonly ackedUpTo: number;
  /** Every incoming message with seq ≤ this was received (and handed out). */
  readonly receivedUpTo: number;
  /** Unacknowledged outgoing messages, seq ackedUpTo + 1 … nextSeq − 1 in order; id in hex. */
  readonly outbox: readonly { readonly seq: number; readonly id: string; readonly text: string; readonly sentAt: number }[];
}

interface Outgoing {
  readonly seq: number;
  readonly id: Uint8Array;
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly fragCount: number;
  readonly sentAt: number;
}

/** An incoming message being reassembled (or complete, waiting for an earlier seq). */
interface Reassembly {
  readonly id: Uint8Array;
  readonly fragCount: number;
  readonly sentAt: number;
  readonly fragments: (Uint8Array | undefined)[];
  have: number;
  /** Set once every fragment is in (and the bytes are valid UTF-8). */
  text?: string;
}

const MAX_SEQ = 0xffff_ffff;

export class Conversation {
  private nextSeqValue = 1;
  private ackedUpToValue = 0;
  private receivedUpToValue = 0;
  /** Unacknowledged outgoing messages: outbox[i].seq = ackedUpTo + 1 + i. */
  private readonly outbox: Outgoing[] = [];
  /** Incoming messages not yet complete or not yet in order, by seq. */
  private readonly incoming = new Map<number, Reassembly>();
  private ackPending = false;
  private session = false;
  /** The next fragment to send on this session: message seq, fragment index. */
  private cursorSeq = 1;
  private cursorFrag = 0;

  get nextSeq(): number { return this.nextSeqValue; }
  get ackedUpTo(): number { return this.ackedUpToValue; }
  get receivedUpTo(): number { return this.receivedUpToValue; }
  /** A session is open: frames may be sent. */
  get sessionOpen(): boolean { return this.session; }

  /** The unacknowledged outgoing messages, in seq order. */
  pending(): { seq: number; id: Uint8Array }[] {
    return this.outbox.map((m) => ({ seq: m.seq, id: m.id.slice() }));
  }

  // -------------------------------------------------------------------------------------
  // Outgoing
  // -------------------------------------------------------------------------------------

  /**
   * Queues `text` (1..CHAT_MAX_MESSAGE_BYTES bytes of UTF-8, else MESSAGE_TOO_LONG /
   * INVALID_ARGUMENT) under `id` (CHAT_MSG_ID_LEN random bytes), written at `nowMs`.
   */
  queue(text: string, id: Uint8Array, nowMs: number): { seq: number } {
    const bytes = utf8(text);
    if (bytes.length > CHAT_MAX_MESSAGE_BYTES) {
      throw new ChiveError('MESSAGE_TOO_LONG', `a message is at most ${CHAT_MAX_MESSAGE_BYTES} bytes of UTF-8, this one is ${bytes.length}`);
    }
    if (bytes.length === 0) throw new ChiveError('INVALID_ARGUMENT', 'an empty message cannot be sent');
    if (!(id instanceof Uint8Array) || id.length !== CHAT_MSG_ID_LEN) {
      throw new ChiveError('INVALID_ARGUMENT', `a message id is ${CHAT_MSG_ID_LEN} bytes`);
    }
    if (!Number.isSafeInteger(nowMs) || nowMs < 0) throw new ChiveError('INVALID_ARGUMENT', `bad time ${nowMs}`);
    if (this.nextSeqValue > MAX_SEQ) throw new ChiveError('INVALID_ARGUMENT', 'sequence numbers exhausted');
    const seq = this.nextSeqValue++;
    this.outbox.push({ seq, id: id.slice(), text: decodeUtf8(bytes, 'message'), bytes, fragCount: fragmentCountFor(bytes.length), sentAt: nowMs });
    return { seq };
  }

  /**
   * Up to `maxFrames` MSG fragments not yet sent on this session, in seq order, of messages
   * within the window (seq ≤ ackedUpTo + CHAT_SEND_WINDOW). None without a session.
   */
  nextFrames(maxFrames: number): MsgFrame[] {
    const out: MsgFrame[] = [];
    if (!this.session) return out;
    const windowEnd = this.ackedUpToValue + CHAT_SEND_WINDOW;
    while (out.length < maxFrames && this.cursorSeq <= windowEnd) {
      const m = this.outbox[this.cursorSeq - this.ackedUpToValue - 1];
      if (m === undefined) break;
      const start = this.cursorFrag * CHAT_MAX_FRAGMENT_LEN;
      out.push({
        kind: 'MSG', msgId: m.id, seq: m.seq, fragIndex: this.cursorFrag, fragCount: m.fragCount, sentAt: m.sentAt,
        fragment: m.bytes.subarray(start, start + CHAT_MAX_FRAGMENT_LEN),
      });
      if (++this.cursorFrag === m.fragCount) {
        this.cursorSeq++;
        this.cursorFrag = 0;
      }
    }
    return out;
  }

  /**
   * A new session (the peer's HELLO said `peerReceivedUpTo`): messages up to there are
   * delivered; everything else is resent from the start. A value below what the peer already
   * acknowledged is stale: it delivers nothing (sending still starts over). One at or above
   * nextSeq is refused (BAD_CHAT_FRAME). Incoming buffers are kept (a seq's content never changes).
   */
  onSessionStart(peerReceivedUpTo: number): ConversationEvent[] {
    const events = this.acknowledge(peerReceivedUpTo, 'HELLO receivedUpTo');
    this.session = true;
    this.cursorSeq = this.ackedUpToValue + 1;
    this.cursorFrag = 0;
    return events;
  }

  /** The session's circuit is gone: nothing is sent until the next session. */
  onSessionLost(): void {
    this.session = false;
  }

  // -------------------------------------------------------------------------------------
  // Incoming
  // -------------------------------------------------------------------------------------

  /**
   * Handles a HELLO, MSG or ACK from the peer (PING / PONG are the driver's: INVALID_ARGUMENT).
   * BAD_CHAT_FRAME for a frame that breaks the conversation; the state is then unchanged.
   */
  onFrame(frame: ChatFrame, nowMs: number): ConversationEvent[] {
    checkFrame(frame, 'BAD_CHAT_FRAME');
    switch (frame.kind) {
      case 'HELLO': {
        const events = this.onSessionStart(frame.receivedUpTo);
        events.push({ type: 'hello', name: frame.name, receivedUpTo: frame.receivedUpTo });
        return events;
      }
      case 'ACK':
        return this.acknowledge(frame.seq, 'ACK');
      case 'MSG':
        return this.receive(frame, nowMs);
      default:
        throw new ChiveError('INVALID_ARGUMENT', `a conversation does not handle ${frame.kind} frames`);
    }
  }

  /** The cumulative ACK to send, once, when something new arrived since the last one; else null. */
  ackToSend(): AckFrame | null {
    if (!this.ackPending) return null;
    this.ackPending = false;
    return { kind: 'ACK', seq: this.receivedUpToValue };
  }

  /** Our HELLO for a new session: what we have received, and our name (≤ CHAT_MAX_NAME_BYTES). */
  hello(name: string): HelloFrame {
    if (utf8(name).length > CHAT_MAX_NAME_BYTES) {
      throw new ChiveError('INVALID_ARGUMENT', `a name is at most ${CHAT_MAX_NAME_BYTES} bytes of UTF-8`);
    }
    return { kind: 'HELLO', receivedUpTo: this.receivedUpToValue, name };
  }

  private acknowledge(upTo: number, what: string): ConversationEvent[] {
    if (upTo >= this.nextSeqValue) {
      throw new ChiveError('BAD_CHAT_FRAME', `${what} ${upTo}: only ${this.nextSeqValue - 1} messages were ever sent`);
    }
    const events: ConversationEvent[] = [];
    while (this.ackedUpToValue < upTo) {
      const m = this.outbox.shift()!;
      this.ackedUpToValue = m.seq;
      events.push({ type: 'delivered', seq: m.seq, id: m.id.slice() });
    }
    if (this.cursorSeq <= this.ackedUpToValue) {
      this.cursorSeq = this.ackedUpToValue + 1;
      this.cursorFrag = 0;
    }
    return events;
  }

  private receive(frame: MsgFrame, nowMs: number): ConversationEvent[] {
    const { seq } = frame;
    if (seq <= this.receivedUpToValue) {
      // Already handed out: the peer resends because it missed our ACK.
      this.ackPending = true;
      return [];
    }
    if (seq > this.receivedUpToValue + CHAT_SEND_WINDOW) {
      throw new ChiveError('BAD_CHAT_FRAME', `chat MSG seq ${seq} is beyond the window (received up to ${this.receivedUpToValue})`);
    }
    const known = this.incoming.get(seq);
    if (known !== undefined && (known.fragCount !== frame.fragCount || known.sentAt !== frame.sentAt || !sameBytes(known.id, frame.msgId))) {
      throw new ChiveError('BAD_CHAT_FRAME', `chat MSG seq ${seq}: fragments disagree on id, fragment count or time`);
    }
    const r: Reassembly = known ?? { id: frame.msgId.slice(), fragCount: frame.fragCount, sentAt: frame.sentAt, fragments: new Array(frame.fragCount), have: 0 };
    if (r.fragments[frame.fragIndex] !== undefined) return []; // a duplicate fragment
    const fragments = r.fragments.slice();
    fragments[frame.fragIndex] = frame.fragment.slice();
    if (r.have + 1 === r.fragCount) {
      // Complete: check it before changing any state, so a bad message changes nothing.
      const bytes = concatBytes(...(fragments as Uint8Array[]));
      try {
        r.text = decodeUtf8(bytes, `chat message ${seq}`);
      } catch (e) {
        throw new ChiveError('BAD_CHAT_FRAME', `chat message ${seq} is not valid UTF-8`, { cause: e });
      }
    }
    r.fragments[frame.fragIndex] = fragments[frame.fragIndex];
    r.have++;
    this.incoming.set(seq, r);
    return this.deliverInOrder(nowMs);
  }

  /** Hands out every complete message that is next in order. */
  private deliverInOrder(nowMs: number): ConversationEvent[] {
    const events: ConversationEvent[] = [];
    for (;;) {
      const seq = this.receivedUpToValue + 1;
      const r = this.incoming.get(seq);
      if (r?.text === undefined) return events;
      this.incoming.delete(seq);
      this.receivedUpToValue = seq;
      this.ackPending = true;
      events.push({ type: 'message', seq, id: r.id.slice(), text: r.text, sentAt: r.sentAt, receivedAt: nowMs });
    }
  }

  // -------------------------------------------------------------------------------------
  // Persistence
  // -------------------------------------------------------------------------------------

  snapshot(): ConversationSnapshot {
    return {
      v: 1,
      nextSeq: this.nextSeqValue,
      ackedUpTo: this.ackedUpToValue,
      receivedUpTo: this.receivedUpToValue,
      outbox: this.outbox.map((m) => ({ seq: m.seq, id: toHex(m.id), text: m.text, sentAt: m.sentAt })),
    };
  }

  /** A conversation from `snapshot` (no session open); CHAT_STORE_CORRUPT if it breaks its invariants. */
  static restore(snapshot: ConversationSnapshot): Conversation {
    const bad = (why: string): never => {
      throw new ChiveError('CHAT_STORE_CORRUPT', `conversation snapshot: ${why}`);
    };
    const s = snapshot as Partial<ConversationSnapshot> | null;
    if (typeof s !== 'object' || s === null || s.v !== 1) bad('not a version 1 snapshot');
    const { nextSeq, ackedUpTo, receivedUpTo, outbox } = s as ConversationSnapshot;
    if (!isCount(nextSeq) || nextSeq < 1 || nextSeq > MAX_SEQ + 1) bad(`nextSeq ${nextSeq}`);
    if (!isCount(ackedUpTo) || ackedUpTo >= nextSeq) bad(`ackedUpTo ${ackedUpTo}`);
    if (!isCount(receivedUpTo) || receivedUpTo > MAX_SEQ) bad(`receivedUpTo ${receivedUpTo}`);
    if (!Array.isArray(outbox) || outbox.length !== nextSeq - 1 - ackedUpTo) bad('outbox does not hold exactly the unacknowledged messages');
    const c = new Conversation();
    c.ackedUpToValue = ackedUpTo;
    c.receivedUpToValue = receivedUpTo;
    c.nextSeqValue = ackedUpTo + 1;
    for (const m of outbox) {
      if (typeof m !== 'object' || m === null || m.seq !== c.nextSeqValue || typeof m.text !== 'string' || typeof m.id !== 'string') {
        bad(`outbox entry for seq ${c.nextSeqValue} is malformed or out of order`);
      }
      try {
        c.queue(m.text, fromHex(m.id), m.sentAt);
      } catch (e) {
        throw new ChiveError('CHAT_STORE_CORRUPT', `conversation snapshot: outbox seq ${m.seq}: ${(e as Error).message}`, { cause: e });
      }
    }
    c.nextSeqValue = nextSeq;
    c.cursorSeq = ackedUpTo + 1;
    return c;
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
