/**
 * The client's flow-control bookkeeping (client/sendme.ts): the deferred deliver window
 * (counting, owed SENDMEs, copies of tags, overrun), the shared package window it re-exports
 * (window accounting, the tag queue, SENDMEs with an unexpected tag, out of order, or with
 * nothing to acknowledge), and the two ends exchanging SENDMEs for many cells. Through both
 * crypto providers (the package window compares tags with provider.equal).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeferredDeliverWindow, PackageWindow } from '../../client/sendme.js';
import { allCryptoProviders } from '../../src/crypto/load.js';
import { isChiveError } from '../../src/errors.js';
import {
  CIRCUIT_WINDOW_INCREMENT, CIRCUIT_WINDOW_START, ONION_TAG_LEN, STREAM_WINDOW_INCREMENT, STREAM_WINDOW_START,
} from '../../src/wire/constants.js';

const providers = allCryptoProviders().map((p) => [p.name, p] as const);

/** A distinct 16-byte tag for cell i. */
function tagOf(i: number): Uint8Array {
  const t = new Uint8Array(ONION_TAG_LEN);
  new DataView(t.buffer).setUint32(0, i + 1);
  t[15] = 0xa5;
  return t;
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isChiveError(e) ? e.code : `not a ChiveError: ${String(e)}`;
  }
  return undefined;
}

describe('DeferredDeliverWindow', () => {
  it('owes a SENDME after every increment, echoing the tag of the cell that completed it', () => {
    const w = new DeferredDeliverWindow(STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT);
    for (let i = 0; i < STREAM_WINDOW_INCREMENT - 1; i++) expect(w.onDelivered(tagOf(i))).toBe(false);
    expect(w.owed).toBe(0);
    expect(w.onDelivered(tagOf(49))).toBe(true);
    expect(w.owed).toBe(1);
    expect(w.window).toBe(STREAM_WINDOW_START - STREAM_WINDOW_INCREMENT);
    expect(w.takeSendme()).toEqual(tagOf(49));
    expect(w.window).toBe(STREAM_WINDOW_START);
    expect(w.takeSendme()).toBeUndefined();
    expect(w.window).toBe(STREAM_WINDOW_START);
  });

  it('the window opens only when the owed SENDME is taken; owed SENDMEs come out oldest first', () => {
    const w = new DeferredDeliverWindow(CIRCUIT_WINDOW_START, CIRCUIT_WINDOW_INCREMENT);
    for (let i = 0; i < 3 * CIRCUIT_WINDOW_INCREMENT; i++) w.onDelivered(tagOf(i));
    expect(w.owed).toBe(3);
    expect(w.window).toBe(CIRCUIT_WINDOW_START - 300);
    expect(w.takeSendme()).toEqual(tagOf(99));
    expect(w.takeSendme()).toEqual(tagOf(199));
    expect(w.window).toBe(CIRCUIT_WINDOW_START - 100);
    expect(w.takeSendme()).toEqual(tagOf(299));
    expect(w.window).toBe(CIRCUIT_WINDOW_START);
  });

  it('copies the tag (the caller reuses its buffer, which may be a Buffer view)', () => {
    const w = new DeferredDeliverWindow(4, 2);
    const scratch = Buffer.alloc(64);
    const view = scratch.subarray(8, 8 + ONION_TAG_LEN);
    view.fill(1);
    w.onDelivered(view);
    w.onDelivered(view);
    view.fill(9);
    const tag = w.takeSendme()!;
    expect(Array.from(tag)).toEqual(new Array(ONION_TAG_LEN).fill(1));
    expect(tag.buffer).not.toBe(scratch.buffer);
  });

  it('refuses a cell past the window (FLOW_CONTROL_VIOLATION), with nothing counted', () => {
    const w = new DeferredDeliverWindow(STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT);
    for (let i = 0; i < STREAM_WINDOW_START; i++) w.onDelivered(tagOf(i));
    expect(w.window).toBe(0);
    expect(w.owed).toBe(10);
    expect(code(() => w.onDelivered(tagOf(500)))).toBe('FLOW_CONTROL_VIOLATION');
    expect(w.window).toBe(0);
    w.takeSendme();
    expect(w.window).toBe(STREAM_WINDOW_INCREMENT);
    expect(w.onDelivered(tagOf(500))).toBe(false);
  });

  it('forgetOwed drops owed SENDMEs without opening the window', () => {
    const w = new DeferredDeliverWindow(10, 5);
    for (let i = 0; i < 10; i++) w.onDelivered(tagOf(i));
    w.forgetOwed();
    expect(w.owed).toBe(0);
    expect(w.takeSendme()).toBeUndefined();
    expect(w.window).toBe(0);
  });

  it('refuses bad construction and tags of the wrong size', () => {
    expect(code(() => new DeferredDeliverWindow(10, 0))).toBe('INVALID_ARGUMENT');
    expect(code(() => new DeferredDeliverWindow(5, 10))).toBe('INVALID_ARGUMENT');
    expect(code(() => new DeferredDeliverWindow(10.5, 5))).toBe('INVALID_ARGUMENT');
    expect(code(() => new DeferredDeliverWindow(10, 5).onDelivered(new Uint8Array(15)))).toBe('INVALID_ARGUMENT');
  });

  it('property: window = start − delivered + increment · taken, never above start nor below 0', () => {
    fc.assert(fc.property(fc.array(fc.boolean(), { maxLength: 3000 }), (steps) => {
      const w = new DeferredDeliverWindow(STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT);
      let delivered = 0;
      let taken = 0;
      for (const deliver of steps) {
        if (deliver && w.window > 0) {
          w.onDelivered(tagOf(delivered++));
        } else if (w.takeSendme() !== undefined) {
          taken++;
        }
        expect(w.window).toBe(STREAM_WINDOW_START - delivered + STREAM_WINDOW_INCREMENT * taken);
        expect(w.owed).toBe(Math.floor(delivered / STREAM_WINDOW_INCREMENT) - taken);
        expect(w.window).toBeGreaterThanOrEqual(0);
        expect(w.window).toBeLessThanOrEqual(STREAM_WINDOW_START);
      }
    }));
  });
});

describe.each(providers)('PackageWindow (shared with the relay) (%s)', (_name, p) => {
  it('counts sends down to 0 and refuses one more', () => {
    const w = new PackageWindow(p, STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT);
    for (let i = 0; i < STREAM_WINDOW_START; i++) {
      expect(w.canSend).toBe(true);
      w.onSent(tagOf(i));
    }
    expect(w.window).toBe(0);
    expect(w.canSend).toBe(false);
    expect(code(() => w.onSent(tagOf(500)))).toBe('FLOW_CONTROL_VIOLATION');
  });

  it('accepts SENDMEs echoing the tags of the cells that completed each increment, oldest first', () => {
    const w = new PackageWindow(p, STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT);
    for (let i = 0; i < 120; i++) w.onSent(tagOf(i));
    expect(w.window).toBe(380);
    w.onSendme(tagOf(49));
    expect(w.window).toBe(430);
    w.onSendme(tagOf(99));
    expect(w.window).toBe(480);
    // Nothing completed a third increment yet (cell 149 was never sent):
    expect(code(() => w.onSendme(tagOf(149)))).toBe('FLOW_CONTROL_VIOLATION');
  });

  it('refuses a SENDME with an unexpected tag, out of order, or with nothing to acknowledge; the window is unchanged', () => {
    const w = new PackageWindow(p, STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT);
    expect(code(() => w.onSendme(tagOf(49)))).toBe('FLOW_CONTROL_VIOLATION'); // nothing sent: would overflow
    for (let i = 0; i < 100; i++) w.onSent(tagOf(i));
    const random = p.randomBytes(ONION_TAG_LEN);
    expect(code(() => w.onSendme(random))).toBe('FLOW_CONTROL_VIOLATION');
    expect(code(() => w.onSendme(tagOf(99)))).toBe('FLOW_CONTROL_VIOLATION'); // second before first
    expect(code(() => w.onSendme(tagOf(48)))).toBe('FLOW_CONTROL_VIOLATION'); // a cell that completed nothing
    expect(code(() => w.onSendme(tagOf(49).subarray(0, 15)))).toBe('FLOW_CONTROL_VIOLATION');
    expect(w.window).toBe(400);
    w.onSendme(tagOf(49));
    w.onSendme(tagOf(99));
    expect(w.window).toBe(STREAM_WINDOW_START);
    expect(code(() => w.onSendme(tagOf(99)))).toBe('FLOW_CONTROL_VIOLATION'); // a replay would overflow
    expect(w.window).toBe(STREAM_WINDOW_START);
  });

  it('keeps its own copy of each remembered tag', () => {
    const w = new PackageWindow(p, 4, 2);
    const scratch = new Uint8Array(ONION_TAG_LEN);
    scratch.fill(3);
    w.onSent(scratch);
    w.onSent(scratch);
    const expected = scratch.slice();
    scratch.fill(4);
    w.onSendme(expected);
    expect(w.window).toBe(4);
  });

  it('sender and receiver agree over 20,000 cells with random tags, the receiver taking SENDMEs late', () => {
    const sender = new PackageWindow(p, CIRCUIT_WINDOW_START, CIRCUIT_WINDOW_INCREMENT);
    const receiver = new DeferredDeliverWindow(CIRCUIT_WINDOW_START, CIRCUIT_WINDOW_INCREMENT);
    let sent = 0;
    let rounds = 0;
    while (sent < 20_000) {
      rounds++;
      while (sender.canSend && sent < 20_000) {
        const tag = p.randomBytes(ONION_TAG_LEN);
        sender.onSent(tag);
        receiver.onDelivered(tag);
        sent++;
      }
      expect(receiver.window).toBe(sender.window);
      for (let tag = receiver.takeSendme(); tag !== undefined; tag = receiver.takeSendme()) sender.onSendme(tag);
      expect(receiver.window).toBe(sender.window);
    }
    expect(rounds).toBeGreaterThan(20_000 / CIRCUIT_WINDOW_START - 1);
  });
});
