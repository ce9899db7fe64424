/**
 * Model test of "never lose a message" (src/chat/conversation.ts): two conversations, A and B,
 * talk through a network that loses, duplicates and reorders frames, resets sessions (a
 * circuit dies, with or without frames still in flight), and crashes either side (its state
 * comes back from a JSON snapshot, without session or reassembly buffers). Whatever the
 * network did, once it is good again (a fresh session both ways, every frame delivered in
 * order) every message queued on either side has been handed out exactly once, in order, with
 * its id and text, and acknowledged exactly once, in order; along the way no honest frame is
 * ever refused, no ACK precedes the message it acknowledges, and the window is respected.
 * Every frame crosses the codec. No crypto: no provider loop.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/bytes.js';
import { decodeChatFrame, encodeChatFrame, type ChatFrame } from '../../src/chat/chat-frame.js';
import { Conversation, type ConversationEvent, type ConversationSnapshot } from '../../src/chat/conversation.js';
import { CHAT_MAX_MESSAGE_BYTES, CHAT_SEND_WINDOW } from '../../src/wire/constants.js';

type Action =
  | { t: 'queue'; side: 0 | 1; len: number; char: string }
  | { t: 'burst'; side: 0 | 1; count: number }
  | { t: 'pump'; side: 0 | 1; max: number }
  | { t: 'deliver' | 'duplicate' | 'drop'; dir: 0 | 1; pick: number }
  | { t: 'reset'; clear: boolean }
  | { t: 'crash'; side: 0 | 1; clear: boolean };

interface Message { seq: number; id: string; text: string }
interface Side {
  conv: Conversation;
  /** What this side queued, in order. */
  queued: Message[];
  /** What this side handed out from the peer, in order. */
  received: Message[];
  /** Seqs of our messages reported delivered, in order. */
  delivered: number[];
}

const side = fc.constantFrom<0 | 1>(0, 1);
const length = fc.oneof(
  fc.integer({ min: 1, max: 40 }),
  fc.constantFrom(402, 403, 404, 806, 807, CHAT_MAX_MESSAGE_BYTES),
  fc.integer({ min: 1, max: CHAT_MAX_MESSAGE_BYTES }),
);
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('queue' as const), side, len: length, char: fc.constantFrom('a', 'é', '€', '𝄞') }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('burst' as const), side, count: fc.integer({ min: 1, max: 3 * CHAT_SEND_WINDOW }) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('pump' as const), side, max: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('deliver' as const), dir: side, pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('duplicate' as const), dir: side, pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('drop' as const), dir: side, pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reset' as const), clear: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('crash' as const), side, clear: fc.boolean() }) },
);

const encoder = new TextEncoder();
/** `char` repeated to at most `len` bytes of UTF-8 (at least one character). */
function textOf(char: string, len: number): string {
  return char.repeat(Math.max(1, Math.floor(len / encoder.encode(char).length)));
}

class World {
  readonly sides: [Side, Side] = [World.fresh(), World.fresh()];
  /** channels[d]: frames in flight from side d to side 1 − d, encoded. */
  readonly channels: [Uint8Array[], Uint8Array[]] = [[], []];
  private nextId = 0;
  private clock = 1_700_000_000_000;

  constructor() {
    this.reset(true);
  }

  private static fresh(): Side {
    return { conv: new Conversation(), queued: [], received: [], delivered: [] };
  }

  run(a: Action): void {
    this.clock += 7;
    switch (a.t) {
      case 'queue':
        this.queue(a.side, textOf(a.char, a.len));
        return;
      case 'burst': // many short messages at once, beyond the window
        for (let i = 0; i < a.count; i++) this.queue(a.side, `burst ${i}`);
        return;
      case 'pump':
        this.pump(a.side, a.max);
        return;
      case 'deliver':
      case 'duplicate':
      case 'drop': {
        const ch = this.channels[a.dir];
        if (ch.length === 0) return;
        const i = a.pick % ch.length;
        const bytes = ch[i]!;
        if (a.t !== 'duplicate') ch.splice(i, 1);
        if (a.t !== 'drop') this.receive((1 - a.dir) as 0 | 1, decodeChatFrame(bytes));
        return;
      }
      case 'reset':
        this.reset(a.clear);
        return;
      case 'crash': {
        const s = this.sides[a.side];
        s.conv = Conversation.restore(JSON.parse(JSON.stringify(s.conv.snapshot())) as ConversationSnapshot);
        this.reset(a.clear); // the crash took the circuit with it
        return;
      }
    }
  }

  queue(d: 0 | 1, text: string): void {
    const id = new Uint8Array(16);
    new DataView(id.buffer).setUint32(0, ++this.nextId);
    const s = this.sides[d];
    const { seq } = s.conv.queue(text, id, this.clock);
    s.queued.push({ seq, id: toHex(id), text });
  }

  /** Sends what side `d` has to send: its ACK, then up to `max` MSG fragments. */
  pump(d: 0 | 1, max: number): number {
    const c = this.sides[d].conv;
    const frames: ChatFrame[] = [];
    const ack = c.ackToSend();
    if (ack) frames.push(ack);
    const msgs = c.nextFrames(max);
    for (const f of msgs) expect(f.seq).toBeLessThanOrEqual(c.ackedUpTo + CHAT_SEND_WINDOW);
    frames.push(...msgs);
    for (const f of frames) this.channels[d].push(encodeChatFrame(f));
    return frames.length;
  }

  /** A circuit dies and a new one comes up: both sessions end, both HELLOs are sent. */
  reset(clear: boolean): void {
    if (clear) this.channels.forEach((ch) => ch.splice(0));
    for (const d of [0, 1] as const) {
      this.sides[d].conv.onSessionLost();
      this.channels[d].push(encodeChatFrame(this.sides[d].conv.hello(`side${d}`)));
    }
  }

  receive(d: 0 | 1, frame: ChatFrame): void {
    const me = this.sides[d];
    const peer = this.sides[1 - d]!;
    for (const e of me.conv.onFrame(frame, this.clock)) this.record(me, peer, e);
  }

  private record(me: Side, peer: Side, e: ConversationEvent): void {
    if (e.type === 'message') {
      me.received.push({ seq: e.seq, id: toHex(e.id), text: e.text });
    } else if (e.type === 'delivered') {
      expect(peer.received.some((m) => m.seq === e.seq && m.id === toHex(e.id))).toBe(true);
      me.delivered.push(e.seq);
    }
  }

  /** The network is good again: a fresh circuit, HELLOs exchanged, everything delivered in order until quiet. */
  settle(): void {
    this.channels.forEach((ch) => ch.splice(0));
    for (const d of [0, 1] as const) this.sides[d].conv.onSessionLost();
    const hellos = [0, 1].map((d) => this.sides[d]!.conv.hello(`side${d}`));
    this.receive(1, decodeChatFrame(encodeChatFrame(hellos[0]!)));
    this.receive(0, decodeChatFrame(encodeChatFrame(hellos[1]!)));
    for (let round = 0; ; round++) {
      expect(round).toBeLessThan(1000);
      let moved = 0;
      for (const d of [0, 1] as const) {
        moved += this.pump(d, 10_000);
        for (const bytes of this.channels[d].splice(0)) this.receive((1 - d) as 0 | 1, decodeChatFrame(bytes));
      }
      if (moved === 0) return;
    }
  }
}

describe('Conversation under a hostile network (model test)', () => {
  it('every queued message is handed out exactly once, in order, and acknowledged exactly once', () => {
    fc.assert(fc.property(fc.array(action, { maxLength: 200 }), (actions) => {
      const world = new World();
      for (const a of actions) world.run(a);
      world.settle();
      for (const d of [0, 1] as const) {
        const me = world.sides[d];
        const peer = world.sides[1 - d]!;
        expect(peer.received).toEqual(me.queued);
        expect(me.delivered).toEqual(me.queued.map((m) => m.seq));
        expect(me.conv.pending()).toEqual([]);
        expect(peer.conv.receivedUpTo).toBe(me.queued.length);
      }
    }), { numRuns: 300 });
  });

  it('also when every message is queued before anything is sent and the network only reorders', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(length, fc.constantFrom('a', '€')), { minLength: 1, maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 400 }),
      (messages, picks) => {
        const world = new World();
        for (const [len, char] of messages) world.run({ t: 'queue', side: 0, len, char });
        for (const pick of picks) {
          world.run({ t: 'pump', side: 0, max: 3 });
          world.run({ t: 'pump', side: 1, max: 3 });
          world.run({ t: 'deliver', dir: (pick % 2) as 0 | 1, pick: pick >> 1 });
        }
        world.settle();
        expect(world.sides[1].received).toEqual(world.sides[0].queued);
        expect(world.sides[0].delivered).toEqual(world.sides[0].queued.map((m) => m.seq));
      },
    ), { numRuns: 100 });
  });
});
