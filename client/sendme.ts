/**
 * The client's flow-control bookkeeping (docs/PROTOCOL.md §5b, "Flow
 * control"), for circuits and streams alike.
 *
 * - Sending side: `PackageWindow` from src/flow/sendme.ts, the one the relay uses too (a
 *   window that counts DATA cells down, the queue of tags of the cells completing each
 *   increment, SENDMEs accepted only with the oldest expected tag, in constant time).
 * - Receiving side: `DeferredDeliverWindow`. Like src/flow's `DeliverWindow` it counts
 *   delivered DATA cells and refuses a peer that overruns the window, but a SENDME that
 *   falls due is *owed*, not sent: the window opens again only when the caller takes the
 *   owed SENDME (`takeSendme`) and sends it. A circuit takes it at once; a stream takes it
 *   when its reader wants more bytes, which is how a slow reader slows the exit down
 *   instead of growing a buffer. The tag of the cell that completed the increment is
 *   copied when it falls due, since the caller's view of it is reused for the next cell.
 *
 * Pure bookkeeping with no I/O, importing only src/: it can move to src/flow/ unchanged if
 * the relay wants the deferred form (an exit writing to a slow TCP socket would).
 * Not here: who sends next (circuit.ts, stream.ts) and the SENDME codec (relay-message.ts).
 */
import { ChiveError } from '../src/errors.js';
import { ONION_TAG_LEN } from '../src/wire/constants.js';

export { PackageWindow } from '../src/flow/sendme.js';

export class DeferredDeliverWindow {
  private windowValue: number;
  private sinceDue = 0;
  private readonly owedTags: Uint8Array[] = [];

  /** `start` cells may arrive before the first SENDME; each SENDME allows `increment` more. */
  constructor(readonly start: number, readonly increment: number) {
    if (!Number.isInteger(increment) || increment < 1 || !Number.isInteger(start) || start < increment) {
      throw new ChiveError('INVALID_ARGUMENT', `a window needs integers 1 ≤ increment ≤ start, got ${increment} / ${start}`);
    }
    this.windowValue = start;
  }

  /** DATA cells the peer may still send before it must wait for a SENDME. */
  get window(): number {
    return this.windowValue;
  }

  /** SENDMEs fallen due and not yet taken. */
  get owed(): number {
    return this.owedTags.length;
  }

  /**
   * One DATA cell arrived; `tag` is its onion tag (a view: copied only when needed).
   * Returns true when this cell completed an increment, i.e. a SENDME is now owed.
   * FLOW_CONTROL_VIOLATION when the peer sent past the window (the circuit must close).
   */
  onDelivered(tag: Uint8Array): boolean {
    if (this.windowValue <= 0) {
      throw new ChiveError('FLOW_CONTROL_VIOLATION', `peer sent a DATA cell past its flow-control window (start ${this.start})`);
    }
    if (tag.length !== ONION_TAG_LEN) {
      throw new ChiveError('INVALID_ARGUMENT', `a SENDME tag is ${ONION_TAG_LEN} bytes, got ${tag.length}`);
    }
    this.windowValue -= 1;
    if (++this.sinceDue < this.increment) return false;
    this.sinceDue = 0;
    this.owedTags.push(new Uint8Array(tag)); // a copy even when `tag` is a Buffer view (Buffer.slice shares)
    return true;
  }

  /**
   * The tag to echo in the oldest owed SENDME, and the window opens by `increment` (the
   * caller must send that SENDME now). Undefined when none is owed.
   */
  takeSendme(): Uint8Array | undefined {
    const tag = this.owedTags.shift();
    if (tag !== undefined) this.windowValue += this.increment;
    return tag;
  }

  /** Forgets owed SENDMEs (the peer has finished sending: they would acknowledge nothing it waits for). */
  forgetOwed(): void {
    this.owedTags.length = 0;
  }
}
