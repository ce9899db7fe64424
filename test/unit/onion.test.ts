/**
 * The onion layers (src/onion/client-layers.ts, relay-layer.ts, keystream.ts): round trips
 * for every circuit length and target, the construction checked against the spec-literal
 * reference (test/vectors/onion/reference.ts), the filler identity, uniform-looking cells,
 * cross-provider equality, API limits. Tagging (bit flips, drops, replays) is in
 * onion-tagging.test.ts; fixed vectors in onion-vectors.test.ts; fuzzing in
 * onion-property.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import { isChiveError } from '../../src/errors.js';
import { hopKeysFromMaterial, writeCounterNonce } from '../../src/onion/hop-keys.js';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { ClientLayers, maxForwardBody } from '../../src/onion/client-layers.js';
import { RelayLayer } from '../../src/onion/relay-layer.js';
import { KeystreamWindow } from '../../src/onion/keystream.js';
import {
  CELL_PAYLOAD_LEN as P, MAX_HOPS, ONION_BODY_LEN, ONION_TAG_LEN as T, RECOGNIZED_MARKER_LEN,
} from '../../src/wire/constants.js';
import { createDeterministicRng, seedFrom } from '../vectors/onion/deterministic-rng.js';
import { refBuildForward, refKS, refRelayForward } from '../vectors/onion/reference.js';
import { buildCircuit, hex, sendBackward, sendForward } from './onion-harness.js';

const providers = allCryptoProviders();

function expectCode(fn: () => unknown, code: Parameters<typeof isChiveError>[1]): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected ChiveError ${code}`).toBeDefined();
  expect(isChiveError(thrown, code), `expected ${code}, got ${String(thrown)}`).toBe(true);
}

describe('maxForwardBody', () => {
  it('is P − j·T − marker for hop j (1-based), 461 − 4 = 457 for the third hop', () => {
    for (let t = 0; t < MAX_HOPS; t++) expect(maxForwardBody(t)).toBe(P - (t + 1) * T - RECOGNIZED_MARKER_LEN);
    expect(maxForwardBody(2)).toBe(457);
    expect(maxForwardBody(0)).toBe(ONION_BODY_LEN);
    expectCode(() => maxForwardBody(MAX_HOPS), 'BAD_HOP');
    expectCode(() => maxForwardBody(-1), 'BAD_HOP');
    expectCode(() => maxForwardBody(1.5), 'BAD_HOP');
  });
});

describe.each(providers.map((p) => [p.name, p] as const))('onion layers (%s)', (_name, p) => {
  it('KeystreamWindow equals the same bytes of a straight full-length keystream', () => {
    const rng = createDeterministicRng(seedFrom(7));
    const key = rng(32);
    const filler = new KeystreamWindow(p, P - T, P);
    expect(filler.firstBlock).toBe(8); // 1 + floor(493 / 64)
    for (const counter of [0, 1, 255, 256, 2 ** 32 + 5]) {
      const full = refKS(p, key, counter);
      const nonce = writeCounterNonce(new Uint8Array(12), counter);
      expect(hex(filler.compute(key, nonce))).toBe(hex(full.subarray(P - T, P)));
      for (let h = 0; h < MAX_HOPS; h++) {
        const w = new KeystreamWindow(p, P - (h + 1) * T, P);
        expect(hex(w.compute(key, nonce))).toBe(hex(full.subarray(P - (h + 1) * T, P)));
      }
      for (const [a, b] of [[0, 1], [0, P], [63, 65], [64, 128], [100, 300], [448, 493]] as const) {
        expect(hex(new KeystreamWindow(p, a, b).compute(key, nonce))).toBe(hex(full.subarray(a, b)));
      }
    }
  });

  for (let hops = 1; hops <= 4; hops++) {
    it(`${hops}-hop circuit: forward to every hop and backward from every hop round-trip`, () => {
      const c = buildCircuit(p, hops, 10 + hops);
      const rng = createDeterministicRng(seedFrom(20 + hops));
      for (let round = 0; round < 5; round++) {
        for (let target = 0; target < hops; target++) {
          const len = [0, 1, 100, maxForwardBody(target) - 1, maxForwardBody(target)][round]!;
          const body = rng(len);
          const trip = sendForward(c, target, body, rng);
          expect(trip.body.length).toBe(ONION_BODY_LEN);
          expect(hex(trip.body.subarray(0, len))).toBe(hex(body));
          expect(trip.links).toHaveLength(target + 1);
        }
        for (let hop = 0; hop < hops; hop++) {
          const len = [0, 1, 200, ONION_BODY_LEN - 1, ONION_BODY_LEN][round]!;
          const body = rng(len);
          const { received } = sendBackward(c, hop, body, rng);
          expect(received.hop).toBe(hop);
          expect(received.body.length).toBe(ONION_BODY_LEN);
          expect(hex(received.body.subarray(0, len))).toBe(hex(body));
        }
      }
      // Counters agree on both sides: c_i counts cells for hops ≥ i, d_i cells from hops ≥ i.
      for (let i = 0; i < hops; i++) {
        expect(c.client.counters(i).forward).toBe(c.relays[i]!.forwardCount);
        expect(c.client.counters(i).backward).toBe(c.relays[i]!.backwardCount);
        expect(c.relays[i]!.forwardCount).toBe(5 * (hops - i));
        expect(c.relays[i]!.backwardCount).toBe(5 * (hops - i));
      }
    });

    it(`${hops}-hop circuit: cells match the spec-literal reference, fillers included`, () => {
      const c = buildCircuit(p, hops, 30 + hops);
      const rng = createDeterministicRng(seedFrom(40 + hops));
      for (let round = 0; round < 3; round++) {
        for (let target = 0; target < hops; target++) {
          const j = target + 1;
          const counters = c.relays.slice(0, j).map((r) => r.forwardCount);
          const body = rng(round * 37);
          let padding: Uint8Array = new Uint8Array(0);
          const cell = c.client.encryptForward(target, body, (n) => (padding = rng(n)));
          const ref = refBuildForward(p, c.keys.slice(0, j).map((k, i) => ({ kf: k.forward, c: counters[i]! })), j, body, padding);
          expect(hex(cell)).toBe(hex(ref.X[0]!));
          for (let i = 0; i < j; i++) {
            // What hop i receives is X_{i+1}; the reference hop agrees with the relay.
            expect(hex(cell)).toBe(hex(ref.X[i]!));
            const refStep = refRelayForward(p, c.keys[i]!.forward, counters[i]!, cell);
            expect(refStep).not.toBeNull();
            const result = c.relays[i]!.processForward(cell);
            expect(result.recognized).toBe(i === target);
            expect(refStep!.recognized).toBe(i === target);
            if (i < target) {
              // Filler identity: the last T bytes of X_{i+2} (what hop i+1 gets) are hop i's
              // own keystream KS(kf_i, c_i)[P−T : P], and φ's last T bytes too.
              const filler = refKS(p, c.keys[i]!.forward, counters[i]!).subarray(P - T, P);
              expect(hex(ref.X[i + 1]!.subarray(P - T))).toBe(hex(filler));
              expect(hex(ref.phi[i]!.subarray(i * T))).toBe(hex(filler));
              // The tail of X_{i+2} is φ_{i+1} as a whole.
              expect(hex(ref.X[i + 1]!.subarray(P - (i + 1) * T))).toBe(hex(ref.phi[i]!));
              expect(hex(cell)).toBe(hex(refStep!.forwarded));
            } else {
              expect(hex(refStep!.m.subarray(RECOGNIZED_MARKER_LEN, RECOGNIZED_MARKER_LEN + body.length))).toBe(hex(body));
            }
          }
        }
      }
    });
  }

  it('supports MAX_HOPS hops and refuses one more', () => {
    const c = buildCircuit(p, MAX_HOPS, 50);
    const rng = createDeterministicRng(seedFrom(51));
    for (let target = 0; target < MAX_HOPS; target++) {
      const body = rng(maxForwardBody(target));
      expect(hex(sendForward(c, target, body, rng).body.subarray(0, body.length))).toBe(hex(body));
      expect(sendBackward(c, target, body, rng).received.hop).toBe(target);
    }
    expectCode(() => c.client.addHop(c.keys[0]!), 'BAD_HOP');
  });

  it('every cell on every link is P bytes and no byte position is constant across cells', () => {
    const hops = 4;
    const c = buildCircuit(p, hops, 60);
    const rng = createDeterministicRng(seedFrom(61));
    const forwardLinks: Uint8Array[][] = Array.from({ length: hops }, () => []);
    const backwardLinks: Uint8Array[][] = Array.from({ length: hops }, () => []);
    const zeros = new Uint8Array(64); // the same body every time: the worst case
    for (let n = 0; n < 40; n++) {
      for (let target = 0; target < hops; target++) {
        sendForward(c, target, zeros, rng).links.forEach((cell, i) => forwardLinks[i]!.push(cell));
        sendBackward(c, target, zeros, rng).links.forEach((cell, i) => backwardLinks[i]!.push(cell));
      }
    }
    for (const links of [forwardLinks, backwardLinks]) {
      for (const cells of links) {
        expect(cells.length).toBeGreaterThanOrEqual(40);
        for (const cell of cells) expect(cell.length).toBe(P);
        for (let pos = 0; pos < P; pos++) {
          const first = cells[0]![pos];
          expect(cells.some((cell) => cell[pos] !== first), `position ${pos} is constant`).toBe(true);
        }
      }
    }
  });

  it('a recognised body exposes the marker-stripped m; the payload holds m ‖ filler when forwarded', () => {
    const c = buildCircuit(p, 2, 70);
    const rng = createDeterministicRng(seedFrom(71));
    const cell = c.client.encryptForward(1, Uint8Array.of(1, 2, 3), rng);
    const r0 = c.relays[0]!.processForward(cell);
    expect(r0.recognized).toBe(false);
    // P−T bytes of m, then hop 0's filler.
    const filler = refKS(p, c.keys[0]!.forward, 0).subarray(P - T);
    expect(hex(cell.subarray(P - T))).toBe(hex(filler));
    const r1 = c.relays[1]!.processForward(cell);
    expect(r1.recognized).toBe(true);
    if (r1.recognized) {
      expect(r1.body.buffer).toBe(cell.buffer);
      expect([...r1.body.subarray(0, 3)]).toEqual([1, 2, 3]);
    }
  });

  it('a hop recognises exactly the cells whose m starts with RECOGNIZED_MARKER_LEN zero bytes', () => {
    const c = buildCircuit(p, 1, 75);
    const rng = createDeterministicRng(seedFrom(76));
    // Hand-sealed cells under the hop's forward key: m = marker-ish prefix ‖ random.
    for (let nonZeroAt = -1; nonZeroAt <= RECOGNIZED_MARKER_LEN; nonZeroAt++) {
      const m = rng(P - T);
      m.fill(0, 0, RECOGNIZED_MARKER_LEN + 1);
      if (nonZeroAt >= 0) m[nonZeroAt] = 0x01;
      const cell = new Uint8Array(P);
      const nonce = writeCounterNonce(new Uint8Array(12), c.relays[0]!.forwardCount);
      p.aeadSealDetached(c.keys[0]!.forward, nonce, null, m, cell.subarray(T), cell.subarray(0, T));
      const recognised = c.relays[0]!.processForward(cell).recognized;
      // A non-zero byte inside the marker means "not mine"; right after it, the body starts.
      expect(recognised, `non-zero byte at ${nonZeroAt}`).toBe(nonZeroAt < 0 || nonZeroAt >= RECOGNIZED_MARKER_LEN);
    }
  });

  it('refuses misuse with typed errors and moves no counter', () => {
    const c = buildCircuit(p, 3, 80);
    const rng = createDeterministicRng(seedFrom(81));
    expectCode(() => c.client.encryptForward(3, new Uint8Array(1), rng), 'BAD_HOP');
    expectCode(() => c.client.encryptForward(-1, new Uint8Array(1), rng), 'BAD_HOP');
    expectCode(() => c.client.encryptForward(2, new Uint8Array(maxForwardBody(2) + 1), rng), 'MESSAGE_TOO_LONG');
    expectCode(() => c.client.encryptForward(0, new Uint8Array(1), () => new Uint8Array(3)), 'INVALID_ARGUMENT');
    expectCode(() => c.client.decryptBackward(new Uint8Array(P - 1)), 'INVALID_ARGUMENT');
    expectCode(() => c.relays[0]!.processForward(new Uint8Array(P + 1)), 'INVALID_ARGUMENT');
    expectCode(() => c.relays[0]!.relayBackward(new Uint8Array(0)), 'INVALID_ARGUMENT');
    expectCode(() => c.relays[0]!.originateBackward(new Uint8Array(ONION_BODY_LEN + 1), rng), 'MESSAGE_TOO_LONG');
    expectCode(() => c.relays[0]!.originateBackward(new Uint8Array(1), rng, new Uint8Array(P - 1)), 'INVALID_ARGUMENT');
    expectCode(() => new ClientLayers(p).decryptBackward(new Uint8Array(P)), 'BAD_HOP');
    expectCode(() => new ClientLayers(p).addHop({ ...c.keys[0]!, forward: new Uint8Array(31) }), 'BAD_KEY');
    expectCode(() => new RelayLayer(p, { ...c.keys[0]!, backwardRelay: new Uint8Array(33) }), 'BAD_KEY');
    expectCode(() => c.client.counters(3), 'BAD_HOP');
    for (let i = 0; i < 3; i++) {
      expect(c.client.counters(i)).toEqual({ forward: 0, backward: 0 });
      expect([c.relays[i]!.forwardCount, c.relays[i]!.backwardCount]).toEqual([0, 0]);
    }
    // Still usable after all that.
    expect(sendForward(c, 2, Uint8Array.of(9), rng).body[0]).toBe(9);
  });

  it('destroy() zeroes the keys and refuses further use', () => {
    const keys = buildCircuit(p, 1, 90).keys[0]!;
    const forward = keys.forward.slice();
    const relay = new RelayLayer(p, keys);
    const client = new ClientLayers(p);
    client.addHop(keys);
    relay.destroy();
    client.destroy();
    expect(hex(keys.forward)).toBe(hex(forward)); // the caller's copy is not ours to zero
    expectCode(() => relay.relayBackward(new Uint8Array(P)), 'BAD_HOP');
    expectCode(() => relay.processForward(new Uint8Array(P)), 'BAD_HOP');
    expectCode(() => client.encryptForward(0, new Uint8Array(0), () => new Uint8Array(0)), 'BAD_HOP');
    expectCode(() => client.decryptBackward(new Uint8Array(P)), 'BAD_HOP');
  });
});

describe('false "recognised" at an intermediate hop', () => {
  for (const p of providers) {
    it(`redraws the padding until no hop before the target would take the cell (${p.name})`, () => {
      // A predicate that fires 1 time in 16 stands in for the real 2^-32 marker test.
      const looks = (m: Uint8Array) => m[0]! < 16;
      const c = buildCircuit(p, 3, 100, { dangerouslyLooksRecognized: looks });
      const rng = createDeterministicRng(seedFrom(101));
      let cells = 0;
      let intermediateChecks = 0;
      const body = Uint8Array.of(5, 6, 7);
      for (let n = 0; n < 150; n++) {
        for (let target = 1; target < 3; target++) {
          const cell = c.client.encryptForward(target, body, rng);
          cells++;
          for (let i = 0; i < target; i++) {
            expect(c.relays[i]!.processForward(cell).recognized).toBe(false);
            expect(looks(cell), `hop ${i} would have taken the cell`).toBe(false); // cell[0 : P−T] is m_i
            intermediateChecks++;
          }
          const last = c.relays[target]!.processForward(cell);
          expect(last.recognized && [...last.body.subarray(0, 3)]).toEqual([5, 6, 7]);
        }
      }
      expect(intermediateChecks).toBe(150 * 3);
      // Padding was redrawn: the rng was called more than once per cell (~1 in 8 cells here).
      expect(rng.calls() - cells).toBeGreaterThan(5);
    });

    it(`accepts the risk when the body leaves no padding, and refuses a non-random rng (${p.name})`, () => {
      const c = buildCircuit(p, 3, 110, { dangerouslyLooksRecognized: () => true });
      const rng = createDeterministicRng(seedFrom(111));
      const full = rng(maxForwardBody(2));
      const calls = rng.calls();
      const cell = c.client.encryptForward(2, full, rng);
      expect(cell.length).toBe(P);
      expect(rng.calls()).toBe(calls);
      expect(c.client.counters(0).forward).toBe(1);
      // With padding to redraw but an rng that never helps: a typed error, no counter moved.
      expectCode(() => c.client.encryptForward(2, Uint8Array.of(1), () => new Uint8Array(maxForwardBody(2) - 1)), 'INVALID_ARGUMENT');
      expect(c.client.counters(0).forward).toBe(1);
      expect(c.client.counters(2).forward).toBe(1);
      // The target itself is never checked: a 1-hop cell needs no redraw.
      const one = buildCircuit(p, 1, 112, { dangerouslyLooksRecognized: () => true });
      expect(one.client.encryptForward(0, Uint8Array.of(1), rng).length).toBe(P);
    });
  }
});

describe('cross-provider equality', () => {
  it('identical keys and rng give identical cells on every link through every provider', () => {
    const transcripts = providers.map((p) => {
      const c = buildCircuit(p, 4, 120);
      const rng = createDeterministicRng(seedFrom(121));
      const out: string[] = [];
      for (let n = 0; n < 3; n++) {
        for (let target = 0; target < 4; target++) {
          out.push(...sendForward(c, target, rng(n * 50), rng).links.map(hex));
          const back = sendBackward(c, target, rng(n * 60), rng);
          out.push(...back.links.map(hex), hex(back.received.body));
        }
      }
      return out;
    });
    expect(providers.length).toBeGreaterThanOrEqual(1);
    expect(transcripts[0]!.length).toBe(3 * (10 + 10 + 4));
    for (const t of transcripts.slice(1)) expect(t).toEqual(transcripts[0]);
  });
});

describe('tags exposed for authenticated SENDMEs', () => {
  it.each(allCryptoProviders().map((p) => [p.name, p] as const))('%s: the client and the hop see the same tags', (_n, p) => {
    const rngT = (n: number) => new Uint8Array(nodeRandomBytes(n));
    const keys = [0, 1, 2].map(() => hopKeysFromMaterial(rngT(96)));
    const client = new ClientLayers(p);
    keys.forEach((k) => client.addHop(k));
    const relays = keys.map((k) => new RelayLayer(p, k));
    const cell = client.encryptForward(2, new Uint8Array([1, 2, 3]), rngT);
    const sentTag = client.lastForwardTag.slice();
    relays[0]!.processForward(cell);
    relays[1]!.processForward(cell);
    const arrived = cell.slice(0, 16);
    expect(relays[2]!.processForward(cell).recognized).toBe(true);
    expect(relays[2]!.lastForwardTag).toEqual(sentTag);
    expect(arrived).toEqual(sentTag);

    const back = relays[2]!.originateBackward(new Uint8Array([9]), rngT);
    const origTag = relays[2]!.lastOriginatedTag.slice();
    relays[1]!.relayBackward(back);
    relays[0]!.relayBackward(back);
    expect(client.decryptBackward(back).hop).toBe(2);
    expect(client.lastBackwardTag).toEqual(origTag);
  });
});
