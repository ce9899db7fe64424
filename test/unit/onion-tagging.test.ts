/**
 * Tagging resistance of the onion layers: any flipped bit, dropped, duplicated, replayed or
 * reordered forward cell fails the next hop's tag check; any altered backward cell fails
 * the client's; a rejection moves no counter and leaves the payload as it was, so the
 * genuine cell still goes through afterwards (which also proves the tests are not vacuous).
 */
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import { isChiveError } from '../../src/errors.js';
import type { RelayLayer } from '../../src/onion/relay-layer.js';
import { CELL_PAYLOAD_LEN as P } from '../../src/wire/constants.js';
import { createDeterministicRng, seedFrom } from '../vectors/onion/deterministic-rng.js';
import { buildCircuit, circuitFromKeys, flipBit, hex, sendForward, type TestCircuit } from './onion-harness.js';

const BITS = P * 8;

function rejects(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    if (!isChiveError(e, 'CIRCUIT_TAG_MISMATCH')) throw e;
    return true;
  }
}

/** Bit positions to try: all of them, or `count` pseudo-random ones (deterministic). */
function bitPositions(all: boolean, count: number, label: number): number[] {
  if (all) return Array.from({ length: BITS }, (_, i) => i);
  const rng = createDeterministicRng(seedFrom(label));
  const raw = rng(count * 2);
  return Array.from({ length: count }, (_, i) => ((raw[2 * i]! << 8) | raw[2 * i + 1]!) % BITS);
}

/**
 * A cell for `target` as it is on each link up to `stopAt` (links[i] = what hop i receives),
 * obtained by running it through the honest hops before `stopAt`.
 */
function forwardLinks(
  c: TestCircuit, target: number, body: Uint8Array, rng: (n: number) => Uint8Array, stopAt = target,
): Uint8Array[] {
  const cell = c.client.encryptForward(target, body, rng);
  const links: Uint8Array[] = [];
  for (let i = 0; i <= stopAt; i++) {
    links.push(cell.slice());
    if (i < stopAt) expect(c.relays[i]!.processForward(cell).recognized).toBe(false);
  }
  return links;
}

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('onion tagging resistance (%s)', (_name, p) => {
  it('forward: flipping any one of the 509·8 bits on any link makes the next hop reject the cell', () => {
    for (let hops = 1; hops <= 4; hops++) {
      for (let target = 0; target < hops; target++) {
        const c = buildCircuit(p, hops, 200 + hops);
        const rng = createDeterministicRng(seedFrom(210 + 10 * hops + target));
        // Warm the counters up so the nonces are not all zero.
        for (let n = 0; n < 2; n++) sendForward(c, hops - 1, rng(10), rng);
        // Every bit of every link of the 3-hop circuit's cell for its last hop; random bits elsewhere.
        const exhaustive = hops === 3 && target === 2;
        const cell = c.client.encryptForward(target, rng(33), rng);
        for (let link = 0; link <= target; link++) {
          // `cell` is what hop `link` receives; the hop has not seen it yet.
          const relay: RelayLayer = c.relays[link]!;
          const before = relay.forwardCount;
          let rejected = 0;
          const positions = bitPositions(exhaustive, 48, 300 + 10 * hops + target + link);
          for (const bit of positions) {
            const tampered = flipBit(cell, bit);
            const copy = tampered.slice();
            if (rejects(() => relay.processForward(tampered))) rejected++;
            expect(hex(tampered)).toBe(hex(copy)); // a rejected cell is left as it was
          }
          expect(rejected).toBe(positions.length);
          expect(relay.forwardCount).toBe(before);
          // The genuine cell still passes (counters did not move) and goes on to the next link.
          expect(relay.processForward(cell).recognized).toBe(link === target);
          expect(relay.forwardCount).toBe(before + 1);
        }
      }
    }
  });

  it('forward: a dropped, duplicated, replayed or reordered cell is rejected at the next hop', () => {
    for (let link = 0; link < 3; link++) {
      for (const fault of ['drop', 'duplicate', 'reorder', 'replay-old'] as const) {
        const c = buildCircuit(p, 3, 400 + link);
        const rng = createDeterministicRng(seedFrom(410 + link));
        const a = forwardLinks(c, 2, Uint8Array.of(0xa), rng, link)[link]!;
        const b = forwardLinks(c, 2, Uint8Array.of(0xb), rng, link)[link]!;
        // forwardLinks ran the honest hops before `link`; hop `link` has seen nothing yet.
        const relay = c.relays[link]!;
        expect(relay.forwardCount).toBe(0);
        switch (fault) {
          case 'drop':
            expect(rejects(() => relay.processForward(b.slice()))).toBe(true);
            break;
          case 'duplicate':
            relay.processForward(a.slice());
            expect(rejects(() => relay.processForward(a.slice()))).toBe(true);
            expect(relay.forwardCount).toBe(1);
            break;
          case 'reorder':
            expect(rejects(() => relay.processForward(b.slice()))).toBe(true);
            break;
          case 'replay-old':
            relay.processForward(a.slice());
            relay.processForward(b.slice());
            expect(rejects(() => relay.processForward(a.slice()))).toBe(true);
            expect(rejects(() => relay.processForward(b.slice()))).toBe(true);
            break;
        }
        // The stream was not damaged by the rejection: the right cell is still accepted.
        const expected = fault === 'replay-old' ? 2 : fault === 'duplicate' ? 1 : 0;
        expect(relay.forwardCount).toBe(expected);
        if (expected === 0) {
          expect(relay.processForward(a.slice()).recognized).toBe(link === 2);
          expect(relay.processForward(b.slice()).recognized).toBe(link === 2);
        }
      }
    }
  });

  it('forward: a cell of another circuit, or for another direction, is rejected', () => {
    const c = buildCircuit(p, 2, 420);
    const other = buildCircuit(p, 2, 421);
    const rng = createDeterministicRng(seedFrom(422));
    expect(rejects(() => c.relays[0]!.processForward(other.client.encryptForward(1, Uint8Array.of(1), rng)))).toBe(true);
    // A backward cell the hop itself originated, bounced back at it as forward traffic.
    const bounced = c.relays[0]!.originateBackward(Uint8Array.of(1), rng);
    expect(rejects(() => c.relays[0]!.processForward(bounced))).toBe(true);
    expect(c.relays[0]!.forwardCount).toBe(0);
  });

  it('backward: a cell altered anywhere on the way back (any bit, any link) is rejected by the client', () => {
    for (let hops = 1; hops <= 4; hops++) {
      for (let origin = 0; origin < hops; origin++) {
        const keys = buildCircuit(p, hops, 500 + hops).keys;
        const client = circuitFromKeys(p, keys).client;
        const rng = createDeterministicRng(seedFrom(510 + 10 * hops + origin));
        const body = rng(40);
        const padding = rng(P - 16 - 4 - body.length);
        const exhaustive = hops === 3 && origin === 2;
        // The genuine links, from fresh relays (backward counters 0).
        const originate = () => {
          const fresh = circuitFromKeys(p, keys).relays;
          return { relays: fresh, cell: fresh[origin]!.originateBackward(body, () => padding) };
        };
        for (let link = origin; link >= 0; link--) {
          const positions = bitPositions(exhaustive, 24, 600 + 10 * hops + origin + link);
          for (const bit of positions) {
            const { relays, cell } = originate();
            for (let i = origin - 1; i >= link; i--) relays[i]!.relayBackward(cell);
            const tampered = flipBit(cell, bit);
            for (let i = link - 1; i >= 0; i--) relays[i]!.relayBackward(tampered);
            const copy = tampered.slice();
            expect(rejects(() => client.decryptBackward(tampered)), `bit ${bit} at link ${link}`).toBe(true);
            expect(hex(tampered)).toBe(hex(copy)); // rejected payloads are left as they were
          }
        }
        for (let i = 0; i < hops; i++) expect(client.counters(i).backward).toBe(0);
        // The untampered cell is still accepted: the rejections moved no counter.
        const { relays, cell } = originate();
        for (let i = origin - 1; i >= 0; i--) relays[i]!.relayBackward(cell);
        const got = client.decryptBackward(cell);
        expect(got.hop).toBe(origin);
        expect(hex(got.body.subarray(0, body.length))).toBe(hex(body));
      }
    }
  });

  it('backward: dropped, duplicated and reordered cells are rejected by the client', () => {
    const c = buildCircuit(p, 3, 700);
    const rng = createDeterministicRng(seedFrom(701));
    const make = (hop: number) => {
      const cell = c.relays[hop]!.originateBackward(Uint8Array.of(hop), rng);
      for (let i = hop - 1; i >= 0; i--) c.relays[i]!.relayBackward(cell);
      return cell;
    };
    const first = make(2);
    const second = make(2);
    const third = make(1);
    expect(rejects(() => c.client.decryptBackward(second.slice()))).toBe(true); // first dropped / reordered
    expect(c.client.decryptBackward(first.slice()).hop).toBe(2);
    expect(rejects(() => c.client.decryptBackward(first.slice()))).toBe(true); // duplicate
    expect(rejects(() => c.client.decryptBackward(third.slice()))).toBe(true); // out of order
    expect(c.client.decryptBackward(second.slice()).hop).toBe(2);
    expect(c.client.decryptBackward(third.slice()).hop).toBe(1);
    expect([0, 1, 2].map((i) => c.client.counters(i).backward)).toEqual([3, 3, 2]);
  });

  it('backward: a tag-valid cell without the marker is NOT_RECOGNIZED and moves no counter', () => {
    const c = buildCircuit(p, 2, 710);
    const rng = createDeterministicRng(seedFrom(711));
    // The hop seals a body whose first byte is not zero: only a broken or malicious hop can.
    const bad = new Uint8Array(P);
    const m = rng(P - 16);
    m[0] = 1;
    p.aeadSealDetached(c.keys[1]!.backwardOriginate, new Uint8Array(12), null, m, bad.subarray(16), bad.subarray(0, 16));
    c.relays[0]!.relayBackward(bad);
    let err: unknown;
    try { c.client.decryptBackward(bad); } catch (e) { err = e; }
    expect(isChiveError(err, 'NOT_RECOGNIZED')).toBe(true);
    expect([c.client.counters(0).backward, c.client.counters(1).backward]).toEqual([0, 0]);
  });
});
