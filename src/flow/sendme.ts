/**
 * Flow-control windows with authenticated SENDMEs (docs/PROTOCOL.md, flow control), shared
 * by the client and the relay, for circuits and streams alike.
 *
 * - `PackageWindow` is the sender's side: it may send while the window is above 0; it
 *   remembers the onion tag of every cell that completes an increment, and accepts a SENDME
 *   only when its tag equals the oldest remembered one (constant time) and the window would
 *   not exceed its start.
 * - `DeliverWindow` is the receiver's side: it counts delivered DATA cells, says when a
 *   SENDME is due (after each increment) and refuses a peer that overruns the window.
 *
 * Pure bookkeeping: no I/O, no timers. Not the scheduler that decides who sends next.
 */
import { ChiveError } from '../errors.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { ONION_TAG_LEN } from '../wire/constants.js';

export class PackageWindow {
  private windowValue: number;
  private sent = 0;
  private readonly expectedTags: Uint8Array[] = [];

  constructor(private readonly provider: CryptoProvider, readonly start: number, readonly increment: number) {
    this.windowValue = start;
  }

  get window(): number {
    return this.windowValue;
  }

  get canSend(): boolean {
    return this.windowValue > 0;
  }

  /** Records one DATA cell sent, with the tag its receiver will verify. */
  onSent(tag: Uint8Array): void {
    if (this.windowValue <= 0) throw new ChiveError('FLOW_CONTROL_VIOLATION', 'sent a cell with an empty package window');
    this.windowValue -= 1;
    this.sent += 1;
    if (this.sent % this.increment === 0) {
      if (tag.length !== ONION_TAG_LEN) throw new ChiveError('INVALID_ARGUMENT', 'SENDME tag must be 16 bytes');
      this.expectedTags.push(tag.slice());
    }
  }

  /** Accepts a SENDME whose tag must match the oldest expected one; throws FLOW_CONTROL_VIOLATION otherwise. */
  onSendme(tag: Uint8Array | undefined): void {
    const expected = this.expectedTags[0];
    if (!expected) throw new ChiveError('FLOW_CONTROL_VIOLATION', 'SENDME with nothing to acknowledge');
    if (!tag || !this.provider.equal(expected, tag)) {
      throw new ChiveError('FLOW_CONTROL_VIOLATION', 'SENDME tag does not match the cell it should acknowledge');
    }
    if (this.windowValue + this.increment > this.start) {
      throw new ChiveError('FLOW_CONTROL_VIOLATION', 'SENDME would raise the window above its start');
    }
    this.expectedTags.shift();
    this.windowValue += this.increment;
  }
}

export class DeliverWindow {
  private windowValue: number;
  private sinceSendme = 0;

  constructor(readonly start: number, readonly increment: number) {
    this.windowValue = start;
  }

  get window(): number {
    return this.windowValue;
  }

  /**
   * Records one delivered DATA cell. Returns true when a SENDME is due now (echoing this
   * cell's tag). Throws FLOW_CONTROL_VIOLATION when the peer overran the window.
   */
  onDelivered(): boolean {
    this.windowValue -= 1;
    if (this.windowValue < 0) throw new ChiveError('FLOW_CONTROL_VIOLATION', 'peer sent past the flow-control window');
    this.sinceSendme += 1;
    if (this.sinceSendme === this.increment) {
      this.sinceSendme = 0;
      this.windowValue += this.increment;
      return true;
    }
    return false;
  }
}
