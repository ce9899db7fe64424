/**
 * Token buckets (relay/bandwidth.ts) and the round-robin cell scheduler
 * (relay/cell-scheduler.ts), on a fake clock and fake links (no crypto, no sockets):
 *   - a bucket starts full, refills at its rate up to its burst, lends nothing it has not
 *     got (tryTake) but can be charged into debt, and says how long until it holds n bytes;
 *   - the scheduler sends at once while tokens last, then exactly at the rate; serves
 *     circuits in turn (an interactive cell waits behind at most one cell per busy
 *     circuit, not behind a bulk circuit's whole queue); keeps each circuit's order;
 *     parks queues of a congested link until it drains; drops cells of closed circuits,
 *     closed links and truncated next hops; enforces per-circuit and total caps.
 */
import { describe, expect, it } from 'vitest';
import { BandwidthBuckets, TokenBucket } from '../../relay/bandwidth.js';
import { CellScheduler, type SchedulerCircuit, type SchedulerLink, type SchedulerSide } from '../../relay/cell-scheduler.js';
import { CELL_LEN, CELL_PAYLOAD_LEN } from '../../src/wire/constants.js';

describe('TokenBucket', () => {
  it('starts full, refills at the rate up to the burst, and refuses what it has not got', () => {
    const b = new TokenBucket(1000, 3000, 0);
    expect(b.available(0)).toBe(3000);
    expect(b.tryTake(2500, 0)).toBe(true);
    expect(b.tryTake(600, 0)).toBe(false); // 500 left: nothing taken
    expect(b.available(0)).toBe(500);
    expect(b.available(100)).toBe(600); // 100 ms at 1000 B/s
    expect(b.available(10_000)).toBe(3000); // capped at the burst
  });

  it('can be charged into debt, and then says how long until n bytes are there', () => {
    const b = new TokenBucket(1000, 1000, 0);
    b.charge(1500, 0);
    expect(b.available(0)).toBe(-500);
    expect(b.has(1, 0)).toBe(false);
    expect(b.msUntil(500, 0)).toBe(1000); // 500 debt + 500 wanted at 1000 B/s
    expect(b.has(500, 1000)).toBe(true);
    expect(b.msUntil(500, 1000)).toBe(0);
  });

  it('holds at least one cell, whatever the burst', () => {
    const b = new TokenBucket(100, 10, 0);
    expect(b.capacity).toBe(CELL_LEN);
    expect(b.tryTake(CELL_LEN, 0)).toBe(true);
    expect(b.msUntil(CELL_LEN, 0)).toBeCloseTo((CELL_LEN * 1000) / 100);
  });

  it('refuses a rate of 0 or a negative burst', () => {
    expect(() => new TokenBucket(0, 100, 0)).toThrow(/positive rate/);
    expect(() => new TokenBucket(100, -1, 0)).toThrow(/positive rate/);
  });

  it('BandwidthBuckets: relayed cells need read and write tokens, originated ones only write', () => {
    const b = new BandwidthBuckets(CELL_LEN, CELL_LEN, 0);
    b.read.charge(CELL_LEN, 0); // the read bucket is empty
    expect(b.canSend(true, 0)).toBe(false);
    expect(b.canSend(false, 0)).toBe(true);
    expect(b.msUntilCell(true, 0)).toBe(1000);
    b.takeCell(false, 0);
    expect(b.write.available(0)).toBe(0);
    expect(b.read.available(0)).toBe(0);
  });
});

// --- the scheduler on a fake clock ----------------------------------------------------------

class FakeLink implements SchedulerLink {
  sent: { circId: number; first: number }[] = [];
  congested = false;
  closed = false;
  private drains: (() => void)[] = [];
  private closes: (() => void)[] = [];
  sendCell(circId: number, _command: number, payload: Uint8Array): boolean {
    this.sent.push({ circId, first: payload[0]! });
    return true;
  }
  onDrain(h: () => void): void {
    this.drains.push(h);
  }
  onClose(h: () => void): void {
    this.closes.push(h);
  }
  drain(): void {
    this.congested = false;
    this.drains.forEach((h) => h());
  }
  close(): void {
    this.closed = true;
    this.closes.forEach((h) => h());
  }
}

class FakeCircuit implements SchedulerCircuit {
  closed = false;
  next: SchedulerSide | null;
  constructor(readonly prev: SchedulerSide, next: SchedulerSide | null) {
    this.next = next;
  }
}

/** A scheduler whose clock and timers the test drives. */
function harness(rate: number, burst: number, opts: { maxQueuedBytes?: number; maxCellsPerCircuit?: number } = {}) {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  const overflows: { circ: FakeCircuit; why: string }[] = [];
  const scheduler = new CellScheduler<FakeCircuit>({
    buckets: new BandwidthBuckets(rate, burst, 0),
    clock: () => now,
    setTimer: (fn, ms) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return t;
    },
    clearTimer: (h) => timers.splice(timers.indexOf(h as (typeof timers)[number]), 1),
    maxQueuedBytes: opts.maxQueuedBytes ?? 64 * 1024 * 1024,
    maxCellsPerCircuit: opts.maxCellsPerCircuit,
    onOverflow: (circ, why) => {
      circ.closed = true;
      overflows.push({ circ, why });
    },
  });
  /** Advances the clock to `t`, firing due timers in order. */
  const advance = (t: number): void => {
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const due = timers[0];
      if (!due || due.at > t) break;
      timers.shift();
      now = due.at;
      due.fn();
    }
    now = t;
  };
  return { scheduler, advance, overflows, timers };
}

function cell(mark: number): Uint8Array {
  const p = new Uint8Array(CELL_PAYLOAD_LEN);
  p[0] = mark;
  return p;
}

describe('CellScheduler', () => {
  it('sends at once while the burst lasts, then at the rate', () => {
    const { scheduler, advance } = harness(10 * CELL_LEN, 2 * CELL_LEN); // 10 cells/s, burst 2
    const out = new FakeLink();
    const circ = new FakeCircuit({ link: new FakeLink(), circId: 1 }, { link: out, circId: 2 });
    for (let i = 0; i < 12; i++) scheduler.send(circ, circ.next!, cell(i), true);
    expect(out.sent).toHaveLength(2); // the burst
    expect(scheduler.stats.queuedCells).toBe(10);
    advance(500);
    expect(out.sent).toHaveLength(7); // + 5 cells in 0.5 s
    advance(1000);
    expect(out.sent).toHaveLength(12);
    expect(out.sent.map((s) => s.first)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]); // in order
    expect(out.sent.every((s) => s.circId === 2)).toBe(true);
    expect(scheduler.stats).toMatchObject({ queuedCells: 0, cellsSent: 12, cellsDropped: 0 });
    expect(scheduler.stats.throttledMs).toBe(1000);
  });

  it('serves circuits in turn: an interactive cell waits behind one bulk cell, not the bulk queue', () => {
    const { scheduler, advance } = harness(100 * CELL_LEN, CELL_LEN); // 100 cells/s, burst 1
    const out = new FakeLink();
    const inLink = new FakeLink();
    const bulk = new FakeCircuit({ link: out, circId: 1 }, { link: inLink, circId: 2 });
    const chat = new FakeCircuit({ link: out, circId: 3 }, { link: inLink, circId: 4 });
    for (let i = 0; i < 200; i++) scheduler.send(bulk, bulk.prev, cell(i), true);
    advance(100); // the bulk circuit has sent 11 cells, 189 wait
    expect(out.sent).toHaveLength(11);
    scheduler.send(chat, chat.prev, cell(250), true);
    advance(120); // two more cell times
    const chatAt = out.sent.findIndex((s) => s.circId === 3);
    expect(chatAt).toBeGreaterThanOrEqual(11);
    expect(chatAt).toBeLessThanOrEqual(12); // at most one bulk cell went before it
    advance(3000);
    expect(out.sent.filter((s) => s.circId === 1).map((s) => s.first)).toEqual([...Array(200).keys()]);
  });

  it('alternates cell by cell between busy circuits (round-robin)', () => {
    const { scheduler, advance } = harness(100 * CELL_LEN, CELL_LEN);
    const out = new FakeLink();
    const a = new FakeCircuit({ link: out, circId: 1 }, null);
    const b = new FakeCircuit({ link: out, circId: 2 }, null);
    scheduler.send(a, a.prev, cell(0), false); // goes at once (burst)
    for (let i = 1; i <= 5; i++) scheduler.send(a, a.prev, cell(i), false);
    for (let i = 0; i < 5; i++) scheduler.send(b, b.prev, cell(100 + i), false);
    advance(1000);
    expect(out.sent.map((s) => s.circId)).toEqual([1, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
  });

  it('parks the queues of a congested link and resumes them when it drains', () => {
    const { scheduler, advance } = harness(1000 * CELL_LEN, 1000 * CELL_LEN);
    const slow = new FakeLink();
    const fast = new FakeLink();
    const a = new FakeCircuit({ link: slow, circId: 1 }, null);
    const b = new FakeCircuit({ link: fast, circId: 2 }, null);
    slow.congested = true;
    scheduler.send(a, a.prev, cell(1), false);
    scheduler.send(b, b.prev, cell(2), false);
    advance(10);
    expect(slow.sent).toHaveLength(0);
    expect(fast.sent).toHaveLength(1); // not held up by the congested link
    expect(scheduler.stats.queuedCells).toBe(1);
    slow.drain();
    expect(slow.sent).toHaveLength(1);
    expect(scheduler.stats.queuedCells).toBe(0);
  });

  it('drops the cells of a closed circuit, a closed link and a truncated next hop', () => {
    const { scheduler, advance } = harness(10 * CELL_LEN, CELL_LEN);
    const prev = new FakeLink();
    const next = new FakeLink();
    const first = new FakeCircuit({ link: prev, circId: 1 }, { link: next, circId: 2 });
    scheduler.send(first, first.prev, cell(0), true); // the burst
    scheduler.send(first, first.prev, cell(1), true);
    first.closed = true;
    advance(1000);
    expect(prev.sent).toHaveLength(1);
    expect(scheduler.stats.cellsDropped).toBe(1);

    const filler = new FakeCircuit({ link: prev, circId: 7 }, null);
    scheduler.send(filler, filler.prev, cell(9), false); // takes the token the bucket had again
    const truncated = new FakeCircuit({ link: prev, circId: 3 }, { link: next, circId: 4 });
    scheduler.send(truncated, truncated.next!, cell(2), true); // has to wait
    truncated.next = { link: new FakeLink(), circId: 5 }; // TRUNCATE, then a new EXTEND2
    advance(2000);
    expect(next.sent).toHaveLength(0);

    const congestedLink = new FakeLink();
    congestedLink.congested = true;
    const parked = new FakeCircuit({ link: congestedLink, circId: 6 }, null);
    scheduler.send(parked, parked.prev, cell(3), false);
    advance(3000);
    congestedLink.close();
    expect(scheduler.stats).toMatchObject({ queuedCells: 0, cellsDropped: 3 });
  });

  it('destroys a circuit past its own cap, and the longest queue past the total cap', () => {
    const { scheduler, overflows } = harness(CELL_LEN, CELL_LEN, { maxCellsPerCircuit: 5, maxQueuedBytes: 8 * CELL_LEN });
    const out = new FakeLink();
    const greedy = new FakeCircuit({ link: out, circId: 1 }, null);
    for (let i = 0; i < 7; i++) scheduler.send(greedy, greedy.prev, cell(i), false); // 1 sent, 5 queued, 1 too many
    expect(overflows).toEqual([{ circ: greedy, why: 'circuit' }]);
    expect(scheduler.stats.queuedCells).toBe(0);

    const a = new FakeCircuit({ link: out, circId: 2 }, null);
    const b = new FakeCircuit({ link: out, circId: 3 }, null);
    for (let i = 0; i < 5; i++) scheduler.send(a, a.prev, cell(i), false);
    for (let i = 0; i < 4; i++) scheduler.send(b, b.prev, cell(i), false); // 9 queued > 8
    expect(overflows.map((o) => [o.circ, o.why])).toEqual([[greedy, 'circuit'], [a, 'total']]);
    expect(scheduler.stats.queuedCells).toBe(4);
    expect(scheduler.stats.overflowKills).toBe(2);
  });

  it('charges cells that end here to the read bucket, delaying relayed cells', () => {
    const { scheduler, advance } = harness(10 * CELL_LEN, CELL_LEN);
    const out = new FakeLink();
    const circ = new FakeCircuit({ link: out, circId: 1 }, null);
    scheduler.chargeReadCell(); // the read bucket is now empty
    scheduler.send(circ, circ.prev, cell(0), false); // originated: write tokens only
    scheduler.send(circ, circ.prev, cell(1), true); // relayed: waits for read tokens
    expect(out.sent).toHaveLength(1);
    advance(99);
    expect(out.sent).toHaveLength(1);
    advance(100);
    expect(out.sent).toHaveLength(2);
  });

  it('close() drops everything and sends nothing more', () => {
    const { scheduler, advance } = harness(10 * CELL_LEN, CELL_LEN);
    const out = new FakeLink();
    const circ = new FakeCircuit({ link: out, circId: 1 }, null);
    for (let i = 0; i < 5; i++) scheduler.send(circ, circ.prev, cell(i), false);
    scheduler.close();
    advance(10_000);
    scheduler.send(circ, circ.prev, cell(9), false);
    expect(out.sent).toHaveLength(1);
    expect(scheduler.stats.queuedCells).toBe(0);
  });
});
