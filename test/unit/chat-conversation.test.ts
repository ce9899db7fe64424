/**
 * The conversation state machine (src/chat/conversation.ts): sequence numbers, fragmentation
 * and reassembly at the exact boundaries, the send window, cumulative ACKs, sessions and
 * retransmission, duplicates and reordering, refusals, snapshots. Every frame between the two
 * sides goes through the codec (encode → decode), as on the wire. No crypto: no provider loop.
 */
import { describe, expect, it } from 'vitest';
import { decodeChatFrame, encodeChatFrame, type ChatFrame, type MsgFrame } from '../../src/chat/chat-frame.js';
import { Conversation, type ConversationEvent, type ConversationSnapshot } from '../../src/chat/conversation.js';
import { CHAT_FRAME_MAX_LEN, CHAT_MAX_FRAGMENT_LEN, CHAT_MAX_MESSAGE_BYTES, CHAT_SEND_WINDOW } from '../../src/wire/constants.js';
import { expectChiveError, thrownChiveError } from '../vectors/wire/assert.js';

const T0 = 1_700_000_000_000;
let idCounter = 0;
/** A distinct 16-byte id per call. */
function nextId(): Uint8Array {
  const id = new Uint8Array(16);
  new DataView(id.buffer).setUint32(12, ++idCounter);
  return id;
}
/** Through the codec, as on the wire. */
const wire = <F extends ChatFrame>(f: F): F => decodeChatFrame(encodeChatFrame(f)) as F;
const texts = (events: ConversationEvent[]) => events.flatMap((e) => (e.type === 'message' ? [e.text] : []));
const seqsOf = (events: ConversationEvent[], type: ConversationEvent['type']) =>
  events.flatMap((e) => (e.type === type && 'seq' in e ? [e.seq] : []));

/** A sender with an open session (the peer has received nothing). */
function openSender(): Conversation {
  const c = new Conversation();
  c.onSessionStart(0);
  return c;
}

function deliverAll(frames: ChatFrame[], to: Conversation, now = T0): ConversationEvent[] {
  return frames.flatMap((f) => to.onFrame(wire(f), now));
}

describe('Conversation: queueing', () => {
  it('numbers messages 1, 2, 3 … and keeps them pending until acknowledged', () => {
    const c = new Conversation();
    expect(c.queue('a', nextId(), T0)).toEqual({ seq: 1 });
    expect(c.queue('b', nextId(), T0)).toEqual({ seq: 2 });
    expect(c.queue('c', nextId(), T0)).toEqual({ seq: 3 });
    expect(c.nextSeq).toBe(4);
    expect(c.pending().map((p) => p.seq)).toEqual([1, 2, 3]);
  });

  it('takes exactly CHAT_MAX_MESSAGE_BYTES of UTF-8 and refuses one byte more (MESSAGE_TOO_LONG)', () => {
    const c = new Conversation();
    expect(c.queue('a'.repeat(CHAT_MAX_MESSAGE_BYTES), nextId(), T0).seq).toBe(1);
    expectChiveError(() => c.queue('a'.repeat(CHAT_MAX_MESSAGE_BYTES + 1), nextId(), T0), 'MESSAGE_TOO_LONG');
    // 1366 × '€' (3 bytes each) = 4098 bytes although only 1366 characters.
    expectChiveError(() => c.queue('€'.repeat(1366), nextId(), T0), 'MESSAGE_TOO_LONG');
    expect(c.nextSeq).toBe(2);
  });

  it('refuses an empty message, a wrong-sized id and a bad time', () => {
    const c = new Conversation();
    expectChiveError(() => c.queue('', nextId(), T0), 'INVALID_ARGUMENT');
    expectChiveError(() => c.queue('x', new Uint8Array(15), T0), 'INVALID_ARGUMENT');
    expectChiveError(() => c.queue('x', nextId(), -1), 'INVALID_ARGUMENT');
    expect(c.nextSeq).toBe(1);
  });
});

describe('Conversation: fragmentation and reassembly', () => {
  const boundaries: [number, number][] = [
    [1, 1], [CHAT_MAX_FRAGMENT_LEN, 1], [CHAT_MAX_FRAGMENT_LEN + 1, 2], [2 * CHAT_MAX_FRAGMENT_LEN, 2],
    [2 * CHAT_MAX_FRAGMENT_LEN + 1, 3], [CHAT_MAX_MESSAGE_BYTES, 11],
  ];
  it.each(boundaries)('a message of %i bytes goes as %i fragments, each frame within CHAT_FRAME_MAX_LEN', (len, count) => {
    const text = 'x'.repeat(len);
    const a = openSender();
    a.queue(text, nextId(), T0);
    const frames = a.nextFrames(100);
    expect(frames).toHaveLength(count);
    frames.forEach((f, i) => {
      expect(f).toMatchObject({ seq: 1, fragIndex: i, fragCount: count, sentAt: T0 });
      expect(f.fragment.length).toBe(i < count - 1 ? CHAT_MAX_FRAGMENT_LEN : len - (count - 1) * CHAT_MAX_FRAGMENT_LEN);
      expect(encodeChatFrame(f).length).toBeLessThanOrEqual(CHAT_FRAME_MAX_LEN);
    });
    const b = new Conversation();
    expect(texts(deliverAll(frames, b, T0 + 5))).toEqual([text]);
  });

  it('reassembles multi-byte characters split across fragments, whatever order the fragments come in', () => {
    const text = '€'.repeat(700) + 'ü'; // 2102 bytes; a fragment boundary falls inside a '€'
    const a = openSender();
    const id = nextId();
    a.queue(text, id, T0);
    const frames = a.nextFrames(100);
    expect(frames).toHaveLength(6);
    const b = new Conversation();
    const events = deliverAll([...frames].reverse(), b, T0 + 9);
    expect(events).toEqual([{ type: 'message', seq: 1, id, text, sentAt: T0, receivedAt: T0 + 9 }]);
  });

  it('hands out a message only when every fragment is in, and ignores duplicate fragments', () => {
    const a = openSender();
    a.queue('y'.repeat(1000), nextId(), T0);
    const [f0, f1, f2] = a.nextFrames(10) as [MsgFrame, MsgFrame, MsgFrame];
    const b = new Conversation();
    expect(b.onFrame(wire(f0), T0)).toEqual([]);
    expect(b.onFrame(wire(f2), T0)).toEqual([]);
    expect(b.onFrame(wire(f0), T0)).toEqual([]);
    expect(b.ackToSend()).toBeNull();
    expect(texts(b.onFrame(wire(f1), T0))).toEqual(['y'.repeat(1000)]);
    expect(b.ackToSend()).toEqual({ kind: 'ACK', seq: 1 });
  });
});

describe('Conversation: sessions, window and acknowledgements', () => {
  it('sends nothing without a session, and each fragment once per session', () => {
    const a = new Conversation();
    a.queue('hello', nextId(), T0);
    expect(a.nextFrames(10)).toEqual([]);
    a.onSessionStart(0);
    expect(a.nextFrames(10)).toHaveLength(1);
    expect(a.nextFrames(10)).toEqual([]);
    a.onSessionLost();
    a.queue('again', nextId(), T0);
    expect(a.nextFrames(10)).toEqual([]);
    a.onSessionStart(0);
    expect(a.nextFrames(10).map((f) => f.seq)).toEqual([1, 2]);
  });

  it('respects maxFrames and continues where it stopped', () => {
    const a = openSender();
    a.queue('z'.repeat(1000), nextId(), T0); // 3 fragments
    a.queue('w', nextId(), T0);
    const first = a.nextFrames(2);
    const rest = a.nextFrames(10);
    expect(first.map((f) => [f.seq, f.fragIndex])).toEqual([[1, 0], [1, 1]]);
    expect(rest.map((f) => [f.seq, f.fragIndex])).toEqual([[1, 2], [2, 0]]);
  });

  it('keeps at most CHAT_SEND_WINDOW unacknowledged messages in flight; an ACK opens the window', () => {
    const a = openSender();
    for (let i = 1; i <= 40; i++) a.queue(`m${i}`, nextId(), T0);
    const sent = a.nextFrames(1000).map((f) => f.seq);
    expect(sent).toEqual(Array.from({ length: CHAT_SEND_WINDOW }, (_, i) => i + 1));
    expect(a.nextFrames(1000)).toEqual([]);
    expect(seqsOf(a.onFrame(wire({ kind: 'ACK', seq: 5 }), T0), 'delivered')).toEqual([1, 2, 3, 4, 5]);
    expect(a.nextFrames(1000).map((f) => f.seq)).toEqual([33, 34, 35, 36, 37]);
  });

  it('the window counts messages, not fragments', () => {
    const a = openSender();
    for (let i = 0; i < CHAT_SEND_WINDOW + 1; i++) a.queue('q'.repeat(500), nextId(), T0); // 2 fragments each
    const frames = a.nextFrames(10_000);
    expect(frames).toHaveLength(2 * CHAT_SEND_WINDOW);
    expect(Math.max(...frames.map((f) => f.seq))).toBe(CHAT_SEND_WINDOW);
  });

  it('ACKs are cumulative: each message is delivered once, in order; stale ACKs change nothing', () => {
    const a = openSender();
    const ids = [nextId(), nextId(), nextId()];
    ids.forEach((id, i) => a.queue(`t${i}`, id, T0));
    const b = new Conversation();
    deliverAll(a.nextFrames(10), b);
    const ack = b.ackToSend()!;
    expect(ack).toEqual({ kind: 'ACK', seq: 3 });
    expect(b.ackToSend()).toBeNull();
    expect(a.onFrame(wire({ kind: 'ACK', seq: 2 }), T0)).toEqual([
      { type: 'delivered', seq: 1, id: ids[0] }, { type: 'delivered', seq: 2, id: ids[1] },
    ]);
    expect(a.onFrame(wire(ack), T0)).toEqual([{ type: 'delivered', seq: 3, id: ids[2] }]);
    expect(a.onFrame(wire(ack), T0)).toEqual([]);
    expect(a.onFrame(wire({ kind: 'ACK', seq: 1 }), T0)).toEqual([]);
    expect(a.pending()).toEqual([]);
    expect(a.ackedUpTo).toBe(3);
  });

  it('refuses an ACK or HELLO for a seq never queued, and changes nothing', () => {
    const a = openSender();
    a.queue('one', nextId(), T0);
    expectChiveError(() => a.onFrame({ kind: 'ACK', seq: 2 }, T0), 'BAD_CHAT_FRAME');
    expectChiveError(() => a.onSessionStart(2), 'BAD_CHAT_FRAME');
    expectChiveError(() => a.onFrame({ kind: 'HELLO', receivedUpTo: 7, name: '' }, T0), 'BAD_CHAT_FRAME');
    expect(a.ackedUpTo).toBe(0);
    expect(a.pending()).toHaveLength(1);
  });

  it('a new session resends everything unacknowledged; what the HELLO says was received is delivered', () => {
    const a = openSender();
    for (let i = 1; i <= 4; i++) a.queue(`r${i}`, nextId(), T0);
    expect(a.nextFrames(10)).toHaveLength(4);
    a.onSessionLost(); // the circuit died; the peer got 1 and 2
    const events = a.onFrame(wire({ kind: 'HELLO', receivedUpTo: 2, name: 'bob' }), T0);
    expect(events.map((e) => e.type)).toEqual(['delivered', 'delivered', 'hello']);
    expect(events[2]).toEqual({ type: 'hello', name: 'bob', receivedUpTo: 2 });
    expect(a.nextFrames(10).map((f) => f.seq)).toEqual([3, 4]);
    // A stale HELLO (below what was acknowledged) restarts sending but undelivers nothing.
    expect(a.onSessionStart(1)).toEqual([]);
    expect(a.ackedUpTo).toBe(2);
    expect(a.nextFrames(10).map((f) => f.seq)).toEqual([3, 4]);
  });

  it('hello() reports what was received, and refuses a name over CHAT_MAX_NAME_BYTES', () => {
    const a = openSender();
    a.queue('one', nextId(), T0);
    const b = new Conversation();
    deliverAll(a.nextFrames(10), b);
    expect(wire(b.hello('bob'))).toEqual({ kind: 'HELLO', receivedUpTo: 1, name: 'bob' });
    expectChiveError(() => b.hello('n'.repeat(33)), 'INVALID_ARGUMENT');
  });

  it('leaves PING and PONG to the driver', () => {
    const c = new Conversation();
    expectChiveError(() => c.onFrame({ kind: 'PING', nonce: new Uint8Array(8) }, T0), 'INVALID_ARGUMENT');
  });
});

describe('Conversation: incoming order, duplicates and refusals', () => {
  function framesFor(n: number): MsgFrame[] {
    const a = openSender();
    for (let i = 1; i <= n; i++) a.queue(`m${i}`, nextId(), T0);
    return a.nextFrames(1000);
  }

  it('buffers out-of-order messages and hands them out in seq order, each once', () => {
    const frames = framesFor(5);
    const b = new Conversation();
    const order = [4, 2, 0, 3, 1];
    const events = order.flatMap((i) => b.onFrame(wire(frames[i]!), T0));
    expect(texts(events)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(b.receivedUpTo).toBe(5);
  });

  it('drops duplicates and already-delivered seqs, but re-acknowledges them (the peer missed our ACK)', () => {
    const frames = framesFor(2);
    const b = new Conversation();
    deliverAll(frames, b);
    expect(b.ackToSend()).toEqual({ kind: 'ACK', seq: 2 });
    expect(deliverAll(frames, b)).toEqual([]);
    expect(b.ackToSend()).toEqual({ kind: 'ACK', seq: 2 });
    expect(b.ackToSend()).toBeNull();
  });

  it('refuses a seq beyond the window without changing anything', () => {
    const frames = framesFor(CHAT_SEND_WINDOW);
    const b = new Conversation();
    const tooFar: MsgFrame = { ...frames[0]!, msgId: nextId(), seq: CHAT_SEND_WINDOW + 1, fragment: Uint8Array.of(0x21) };
    expectChiveError(() => b.onFrame(tooFar, T0), 'BAD_CHAT_FRAME');
    expect(b.receivedUpTo).toBe(0);
    expect(texts(deliverAll(frames, b))).toHaveLength(CHAT_SEND_WINDOW);
    expect(texts(b.onFrame(tooFar, T0))).toEqual(['!']); // within the window now
  });

  it('refuses fragments of one seq that disagree on fragment count, id or time', () => {
    const a = openSender();
    a.queue('v'.repeat(900), nextId(), T0); // 3 fragments
    const [f0, f1] = a.nextFrames(10) as [MsgFrame, MsgFrame];
    const b = new Conversation();
    b.onFrame(f0, T0);
    const e = thrownChiveError(() => b.onFrame({ ...f1, fragCount: 2, fragment: f1.fragment.subarray(0, 10) }, T0));
    expect(e.code).toBe('BAD_CHAT_FRAME');
    expectChiveError(() => b.onFrame({ ...f1, msgId: nextId() }, T0), 'BAD_CHAT_FRAME');
    expectChiveError(() => b.onFrame({ ...f1, sentAt: T0 + 1 }, T0), 'BAD_CHAT_FRAME');
    expectChiveError(() => b.onFrame({ ...f1, fragIndex: 3 }, T0), 'BAD_CHAT_FRAME');
  });

  it('refuses a message that is not UTF-8 once complete, and stays usable', () => {
    const b = new Conversation();
    const bad: MsgFrame = { kind: 'MSG', msgId: nextId(), seq: 1, fragIndex: 0, fragCount: 1, sentAt: T0, fragment: Uint8Array.of(0xc3, 0x28) };
    expectChiveError(() => b.onFrame(bad, T0), 'BAD_CHAT_FRAME');
    expect(b.receivedUpTo).toBe(0);
    expect(b.ackToSend()).toBeNull();
    const frames = framesFor(1);
    expect(texts(deliverAll(frames, b))).toEqual(['m1']);
  });
});

describe('Conversation: snapshots', () => {
  it('snapshot → JSON → restore keeps seqs, the outbox and what was received; the restored one has no session', () => {
    const a = openSender();
    const ids = [nextId(), nextId(), nextId()];
    ids.forEach((id, i) => a.queue(`s${i}`, id, T0 + i));
    const b = new Conversation();
    deliverAll(a.nextFrames(10), b);
    a.onFrame(wire({ kind: 'ACK', seq: 1 }), T0);
    const restored = Conversation.restore(JSON.parse(JSON.stringify(a.snapshot())) as ConversationSnapshot);
    expect(restored.snapshot()).toEqual(a.snapshot());
    expect(restored.sessionOpen).toBe(false);
    expect(restored.nextFrames(10)).toEqual([]);
    restored.onSessionStart(1);
    const resent = restored.nextFrames(10);
    expect(resent.map((f) => [f.seq, f.sentAt])).toEqual([[2, T0 + 1], [3, T0 + 2]]);
    expect(resent[0]!.msgId).toEqual(ids[1]);
    expect(restored.queue('next', nextId(), T0).seq).toBe(4);
    const rb = Conversation.restore(b.snapshot());
    expect(rb.receivedUpTo).toBe(3);
    expect(rb.hello('')).toEqual({ kind: 'HELLO', receivedUpTo: 3, name: '' });
  });

  it('refuses snapshots that break their invariants (CHAT_STORE_CORRUPT)', () => {
    const good = { v: 1, nextSeq: 3, ackedUpTo: 1, receivedUpTo: 0, outbox: [{ seq: 2, id: '00'.repeat(16), text: 'x', sentAt: T0 }] };
    expect(Conversation.restore(good as ConversationSnapshot).nextSeq).toBe(3);
    const bad: unknown[] = [
      null, { ...good, v: 2 }, { ...good, nextSeq: 0 }, { ...good, ackedUpTo: 3 }, { ...good, receivedUpTo: -1 },
      { ...good, outbox: [] }, { ...good, outbox: [{ ...good.outbox[0], seq: 5 }] },
      { ...good, outbox: [{ ...good.outbox[0], id: 'zz' }] }, { ...good, outbox: [{ ...good.outbox[0], text: '' }] },
    ];
    for (const s of bad) expectChiveError(() => Conversation.restore(s as ConversationSnapshot), 'CHAT_STORE_CORRUPT');
  });
});
