/**
 * The relay's cell scheduler, used only when a bandwidth limit is configured: RELAY cells
 * the relay forwards or originates wait here, one FIFO queue per circuit and direction,
 * and leave in round-robin order across circuits as the token buckets
 * (relay/bandwidth.ts) allow. One cell per turn: a bulk circuit with a thousand cells
 * queued delays an interactive circuit's cell by at most one cell per other busy circuit,
 * so the interactive circuit's round trip stays low while the bulk one fills the cap.
 *
 * Order: cells of one circuit in one direction leave in the order they were given (the
 * onion layers count cells implicitly, so a reordered cell would break the circuit).
 * Every RELAY cell of a circuit must therefore go through the scheduler while it is in
 * use; DESTROY, CREATE2 and CREATED2 go straight to the link. Cells of a circuit that
 * closed, whose link closed, or whose next hop changed (TRUNCATE) are dropped unsent.
 * A queue whose link is congested is parked until the link drains, so the link's own
 * buffer stays small and the choice of what goes next stays here.
 *
 * Memory: a circuit may queue at most `maxCellsPerCircuit` cells per direction (twice the
 * circuit window: an honest peer never gets near it) and all queues together at most
 * `maxQueuedBytes`; past either, `onOverflow` is told which circuit to destroy (that one,
 * or the one with the longest queue).
 *
 * Not the buckets, not accounting, and not the unlimited hot path: without a limit the
 * relay sends straight to the link and this module is not created.
 */
import { CELL_LEN, CELL_PAYLOAD_LEN, CIRCUIT_WINDOW_START, CellCommand } from '../src/wire/constants.js';
import type { BandwidthBuckets } from './bandwidth.js';

/** What the scheduler needs of a link (src/io/link.ts's Link has it). */
export interface SchedulerLink {
  sendCell(circId: number, command: number, payload: Uint8Array): boolean;
  readonly congested: boolean;
  readonly closed: boolean;
  onDrain(handler: () => void): void;
  onClose(handler: () => void): void;
}

export interface SchedulerSide {
  readonly link: SchedulerLink;
  readonly circId: number;
}

/** What the scheduler needs of a circuit (relay/circuit.ts's RelayCircuit has it). */
export interface SchedulerCircuit {
  readonly closed: boolean;
  readonly prev: SchedulerSide;
  readonly next: SchedulerSide | null;
}

/** Default cap of queued cells per circuit and direction. */
export const MAX_SCHEDULED_CELLS_PER_CIRCUIT = 2 * CIRCUIT_WINDOW_START;

export interface CellSchedulerOptions<C extends SchedulerCircuit> {
  buckets: BandwidthBuckets;
  /** Monotonic milliseconds (default performance.now). */
  clock?: () => number;
  /** Timer functions (default setTimeout / clearTimeout, unref'd). */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  maxCellsPerCircuit?: number;
  /** Cap on all queued cells together, in bytes (CELL_LEN per cell). */
  maxQueuedBytes: number;
  /** A circuit must be destroyed: its queue passed its cap ('circuit') or it had the longest queue when all queues passed theirs ('total'). */
  onOverflow: (circ: C, why: 'circuit' | 'total') => void;
  /** Called after a cell went onto a link that is now congested (the relay runs its OOM check). */
  onCongested?: () => void;
}

/** What the scheduler has done, for metrics and the monitor. */
export interface CellSchedulerStats {
  queuedCells: number;
  queuedBytes: number;
  /** Cells handed to links by the scheduler. */
  cellsSent: number;
  /** Cells dropped unsent (circuit or link gone). */
  cellsDropped: number;
  /** Circuits destroyed because of queue caps. */
  overflowKills: number;
  /** Total milliseconds cells spent waiting for tokens (the relay was at its cap). */
  throttledMs: number;
  /** Circuits with cells waiting now. */
  activeCircuits: number;
}

interface QueuedCell {
  readonly side: SchedulerSide;
  readonly payload: Uint8Array;
  readonly relayed: boolean;
}

type QueueState = 'idle' | 'ready' | 'parked';

/** A FIFO that forgets taken items in place (no Array#shift on the hot path). */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  /** Empties the FIFO, returning what it held. */
  drain(): T[] {
    const out = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return out;
  }
}

/** The cells one circuit has waiting in one direction. */
class CircuitQueue<C> extends Fifo<QueuedCell> {
  state: QueueState = 'idle';
  constructor(readonly circ: C, readonly backward: boolean) {
    super();
  }
}

const POOL_LIMIT = 1024;

export class CellScheduler<C extends SchedulerCircuit> {
  private readonly buckets: BandwidthBuckets;
  private readonly clock: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly maxCellsPerCircuit: number;
  private readonly maxQueuedCells: number;
  private readonly forwardQueues = new Map<C, CircuitQueue<C>>();
  private readonly backwardQueues = new Map<C, CircuitQueue<C>>();
  private readonly ready = new Fifo<CircuitQueue<C>>();
  private readonly parked = new Map<SchedulerLink, Set<CircuitQueue<C>>>();
  private readonly watched = new WeakSet<SchedulerLink>();
  private readonly pool: Uint8Array[] = [];
  private timer: unknown = null;
  private pumping = false;
  private closed = false;
  private throttledSince: number | null = null;
  private readonly counts = { queuedCells: 0, cellsSent: 0, cellsDropped: 0, overflowKills: 0, throttledMs: 0 };

  constructor(private readonly options: CellSchedulerOptions<C>) {
    this.buckets = options.buckets;
    this.clock = options.clock ?? (() => performance.now());
    this.setTimer =
      options.setTimer ??
      ((fn, ms) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return t;
      });
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
    this.maxCellsPerCircuit = options.maxCellsPerCircuit ?? MAX_SCHEDULED_CELLS_PER_CIRCUIT;
    this.maxQueuedCells = Math.max(1, Math.floor(options.maxQueuedBytes / CELL_LEN));
  }

  /**
   * Sends a RELAY cell of `circ` on `side` (circ.prev: backward, circ.next: forward) as soon
   * as the buckets and the circuit's turn allow. `relayed`: the cell was read from another
   * link (it needs read tokens too); false for cells this relay originates. The payload is
   * copied when the cell has to wait.
   */
  send(circ: C, side: SchedulerSide, payload: Uint8Array, relayed: boolean): void {
    if (this.closed) return;
    const backward = side === circ.prev;
    const queues = backward ? this.backwardQueues : this.forwardQueues;
    let q = queues.get(circ);
    const link = side.link;
    if (q === undefined && this.ready.length === 0 && !link.congested) {
      const now = this.clock();
      if (this.buckets.canSend(relayed, now)) {
        // Nothing waits anywhere: no turn to respect, no copy to make.
        this.buckets.takeCell(relayed, now);
        this.counts.cellsSent += 1;
        link.sendCell(side.circId, CellCommand.RELAY, payload);
        if (link.congested) this.options.onCongested?.();
        return;
      }
    }
    if (q === undefined) {
      q = new CircuitQueue(circ, backward);
      queues.set(circ, q);
    }
    if (q.length >= this.maxCellsPerCircuit) {
      this.overflow(circ, 'circuit');
      return;
    }
    const copy = this.pool.pop() ?? new Uint8Array(CELL_PAYLOAD_LEN);
    copy.set(payload);
    q.push({ side, payload: copy, relayed });
    this.counts.queuedCells += 1;
    this.watch(link);
    if (q.state === 'idle') {
      q.state = 'ready';
      this.ready.push(q);
    }
    if (this.counts.queuedCells > this.maxQueuedCells) this.evictLongest();
    this.pump();
  }

  /** Charges a cell already read that ends at this relay (a cell for this hop): later cells wait for its tokens. */
  chargeReadCell(): void {
    this.buckets.read.charge(CELL_LEN, this.clock());
  }

  get stats(): CellSchedulerStats {
    const throttling = this.throttledSince === null ? 0 : this.clock() - this.throttledSince;
    return {
      queuedCells: this.counts.queuedCells,
      queuedBytes: this.counts.queuedCells * CELL_LEN,
      cellsSent: this.counts.cellsSent,
      cellsDropped: this.counts.cellsDropped,
      overflowKills: this.counts.overflowKills,
      throttledMs: this.counts.throttledMs + throttling,
      activeCircuits: this.forwardQueues.size + this.backwardQueues.size,
    };
  }

  /** Drops every queued cell and stops the timer. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    for (const q of [...this.forwardQueues.values(), ...this.backwardQueues.values()]) this.purge(q);
    this.parked.clear();
  }

  // --- internals ----------------------------------------------------------------------

  private queuesOf(q: CircuitQueue<C>): Map<C, CircuitQueue<C>> {
    return q.backward ? this.backwardQueues : this.forwardQueues;
  }

  /** Forgets an empty queue (it leaves the ring or the parked set by itself). */
  private retire(q: CircuitQueue<C>): void {
    q.state = 'idle';
    const queues = this.queuesOf(q);
    if (queues.get(q.circ) === q) queues.delete(q.circ);
  }

  private release(payload: Uint8Array): void {
    if (this.pool.length < POOL_LIMIT) this.pool.push(payload);
  }

  /** Drops every cell of `q`; a ready queue stays in the ring, empty, until the pump passes it. */
  private purge(q: CircuitQueue<C>): void {
    for (const cell of q.drain()) {
      this.release(cell.payload);
      this.counts.queuedCells -= 1;
      this.counts.cellsDropped += 1;
    }
    if (q.state === 'parked') {
      for (const set of this.parked.values()) set.delete(q);
      this.retire(q);
    } else if (q.state === 'idle') {
      this.retire(q);
    } else {
      const queues = this.queuesOf(q);
      if (queues.get(q.circ) === q) queues.delete(q.circ);
    }
  }

  private purgeCircuit(circ: C): void {
    const f = this.forwardQueues.get(circ);
    const b = this.backwardQueues.get(circ);
    if (f) this.purge(f);
    if (b) this.purge(b);
  }

  private overflow(circ: C, why: 'circuit' | 'total'): void {
    this.counts.overflowKills += 1;
    this.purgeCircuit(circ);
    this.options.onOverflow(circ, why);
  }

  private evictLongest(): void {
    while (this.counts.queuedCells > this.maxQueuedCells) {
      let longest: CircuitQueue<C> | undefined;
      for (const q of [...this.forwardQueues.values(), ...this.backwardQueues.values()]) {
        if (longest === undefined || q.length > longest.length) longest = q;
      }
      if (longest === undefined || longest.length === 0) return;
      this.overflow(longest.circ, 'total');
    }
  }

  /** Registers drain and close handlers on a link the first time a cell waits for it. */
  private watch(link: SchedulerLink): void {
    if (this.watched.has(link)) return;
    this.watched.add(link);
    link.onDrain(() => this.unpark(link));
    link.onClose(() => {
      const set = this.parked.get(link);
      this.parked.delete(link);
      if (set) for (const q of set) this.purge(q);
    });
  }

  private park(q: CircuitQueue<C>, link: SchedulerLink): void {
    q.state = 'parked';
    let set = this.parked.get(link);
    if (set === undefined) this.parked.set(link, (set = new Set()));
    set.add(q);
  }

  private unpark(link: SchedulerLink): void {
    const set = this.parked.get(link);
    if (set === undefined) return;
    this.parked.delete(link);
    for (const q of set) {
      if (q.state !== 'parked') continue;
      q.state = 'ready';
      this.ready.push(q);
    }
    this.pump();
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.pump();
  };

  /** Sends cells in round-robin order while tokens last; sets a timer for when they return. */
  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      const now = this.clock();
      for (;;) {
        const q = this.ready.peek();
        if (q === undefined) break;
        const cell = q.peek();
        if (cell === undefined) {
          this.ready.shift();
          this.retire(q);
          continue;
        }
        const link = cell.side.link;
        if (q.circ.closed || link.closed) {
          this.purge(q);
          continue; // the empty queue leaves the ring on the next pass
        }
        if (!q.backward && q.circ.next !== cell.side) {
          // The circuit was truncated (or extended anew) since: its old next hop is gone.
          this.release(q.shift()!.payload);
          this.counts.queuedCells -= 1;
          this.counts.cellsDropped += 1;
          continue;
        }
        if (link.congested) {
          this.ready.shift();
          this.park(q, link);
          continue;
        }
        if (!this.buckets.canSend(cell.relayed, now)) {
          this.throttledSince ??= now;
          if (this.timer === null) this.timer = this.setTimer(this.onTimer, Math.max(1, Math.ceil(this.buckets.msUntilCell(cell.relayed, now))));
          break;
        }
        if (this.throttledSince !== null) {
          this.counts.throttledMs += now - this.throttledSince;
          this.throttledSince = null;
        }
        this.buckets.takeCell(cell.relayed, now);
        q.shift();
        this.counts.queuedCells -= 1;
        this.counts.cellsSent += 1;
        this.ready.shift();
        if (q.length > 0) this.ready.push(q);
        else this.retire(q);
        link.sendCell(cell.side.circId, CellCommand.RELAY, cell.payload);
        this.release(cell.payload);
        if (link.congested) this.options.onCongested?.();
      }
      if (this.ready.length === 0 && this.throttledSince !== null) {
        this.counts.throttledMs += now - this.throttledSince;
        this.throttledSince = null;
      }
    } finally {
      this.pumping = false;
    }
  }
}
