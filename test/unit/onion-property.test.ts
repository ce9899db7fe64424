/**
 * Property tests (fast-check) of the onion layers: arbitrary bytes into the hop and client
 * entry points only ever throw ChiveError, and round trips hold for random circuit lengths,
 * targets and bodies.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import { ChiveError } from '../../src/errors.js';
import { maxForwardBody } from '../../src/onion/client-layers.js';
import { CELL_PAYLOAD_LEN as P, MAX_HOPS, ONION_BODY_LEN } from '../../src/wire/constants.js';
import { createDeterministicRng, seedFrom } from '../vectors/onion/deterministic-rng.js';
import { buildCircuit, circuitFromKeys, drawHopKeys, hex, sendBackward, sendForward } from './onion-harness.js';

/** Runs fn; returns 'ok', or the ChiveError code; anything else that is thrown fails. */
function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (!(e instanceof ChiveError)) throw e;
    return e.code;
  }
}

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('onion properties (%s)', (name, p) => {
  const runs = name === 'noble' ? 150 : 400;

  it('random P-byte payloads into processForward / decryptBackward only throw ChiveError (tag mismatch)', () => {
    const c = buildCircuit(p, 3, 800);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: P, maxLength: P }), fc.integer({ min: 0, max: 2 }), (payload, hop) => {
        const copy = payload.slice();
        expect(outcome(() => c.relays[hop]!.processForward(payload))).toBe('CIRCUIT_TAG_MISMATCH');
        expect(hex(payload)).toBe(hex(copy));
        expect(outcome(() => c.client.decryptBackward(payload))).toBe('CIRCUIT_TAG_MISMATCH');
        expect(hex(payload)).toBe(hex(copy));
      }),
      { numRuns: runs },
    );
    for (let i = 0; i < 3; i++) {
      expect(c.relays[i]!.forwardCount).toBe(0);
      expect(c.client.counters(i)).toEqual({ forward: 0, backward: 0 });
    }
  });

  it('payloads of any length into every entry point only throw ChiveError', () => {
    const c = buildCircuit(p, 2, 810);
    const rng = createDeterministicRng(seedFrom(811));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 2 * P }), fc.integer({ min: -2, max: MAX_HOPS + 1 }), (bytes, hop) => {
        const isCell = bytes.length === P;
        const validHop = Number.isInteger(hop) && hop >= 0 && hop < 2;
        expect(outcome(() => c.relays[0]!.processForward(bytes.slice()))).toBe(isCell ? 'CIRCUIT_TAG_MISMATCH' : 'INVALID_ARGUMENT');
        expect(outcome(() => c.relays[1]!.relayBackward(bytes.slice()))).toBe(isCell ? 'ok' : 'INVALID_ARGUMENT');
        expect(outcome(() => c.relays[1]!.originateBackward(bytes, rng))).toBe(bytes.length <= ONION_BODY_LEN ? 'ok' : 'MESSAGE_TOO_LONG');
        expect(outcome(() => c.client.decryptBackward(bytes.slice()))).toBe(isCell ? 'CIRCUIT_TAG_MISMATCH' : 'INVALID_ARGUMENT');
        expect(outcome(() => c.client.encryptForward(hop, bytes, rng))).toBe(
          !validHop ? 'BAD_HOP' : bytes.length > maxForwardBody(hop) ? 'MESSAGE_TOO_LONG' : 'ok',
        );
        expect(outcome(() => maxForwardBody(hop))).toBe(hop >= 0 && hop < MAX_HOPS ? 'ok' : 'BAD_HOP');
      }),
      { numRuns: runs },
    );
  });

  it('round trips hold for random circuit lengths, targets and bodies', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_HOPS }),
        fc.integer({ min: 0, max: MAX_HOPS - 1 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (hops, targetRaw, lengthRaw, seed) => {
          const rng = createDeterministicRng(seed);
          const c = circuitFromKeys(p, drawHopKeys(rng, hops));
          const target = targetRaw % hops;
          // Send a few cells to the target and to the last hop, to move counters apart.
          for (let n = 0; n < 3; n++) {
            const body = rng(lengthRaw % (maxForwardBody(target) + 1));
            expect(hex(sendForward(c, target, body, rng).body.subarray(0, body.length))).toBe(hex(body));
            const last = rng(lengthRaw % (maxForwardBody(hops - 1) + 1));
            expect(hex(sendForward(c, hops - 1, last, rng).body.subarray(0, last.length))).toBe(hex(last));
            const back = rng(lengthRaw % (ONION_BODY_LEN + 1));
            const got = sendBackward(c, target, back, rng).received;
            expect(got.hop).toBe(target);
            expect(hex(got.body.subarray(0, back.length))).toBe(hex(back));
          }
        },
      ),
      { numRuns: name === 'noble' ? 40 : 120 },
    );
  });
});
