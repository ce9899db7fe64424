/**
 * chive's own onion vectors (test/vectors/onion/onion-vectors.json, made by generate.ts):
 * recomputed through every provider byte for byte, and checked independently against the
 * spec-literal reference (hand-built Poly1305 MAC, full-length keystreams).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import { ClientLayers, maxForwardBody } from '../../src/onion/client-layers.js';
import { hopKeysFromMaterial } from '../../src/onion/hop-keys.js';
import { CELL_PAYLOAD_LEN } from '../../src/wire/constants.js';
import {
  BACKWARD_RNG_SEED, FORWARD_RNG_SEED, computeOnionVectors, hex, unhex, vectorKeyMaterial, type OnionVectors,
} from '../vectors/onion/compute.js';
import { refBuildForward, refOriginateBackward, refRelayBackward, refRelayForward } from '../vectors/onion/reference.js';

const vectors = JSON.parse(
  readFileSync(new URL('../vectors/onion/onion-vectors.json', import.meta.url), 'utf8'),
) as OnionVectors;

describe('onion vectors', () => {
  it('are well-formed: 3 hops, every target hop, a no-padding cell, nine distinct keys', () => {
    expect(vectors.hops).toHaveLength(3);
    expect(new Set(vectors.hops.flatMap((h) => [h.forward, h.backwardOriginate, h.backwardRelay])).size).toBe(9);
    expect(vectors.hops.map((h) => h.forward + h.backwardOriginate + h.backwardRelay)).toEqual(
      [0, 1, 2].map((i) => hex(vectorKeyMaterial(i))),
    );
    expect(vectors.forwardRngSeed).toBe(hex(FORWARD_RNG_SEED));
    expect(vectors.backwardRngSeed).toBe(hex(BACKWARD_RNG_SEED));
    expect(new Set(vectors.forward.map((v) => v.targetHop))).toEqual(new Set([0, 1, 2]));
    expect(vectors.forward.some((v) => v.padding === '' && unhex(v.body).length === maxForwardBody(v.targetHop))).toBe(true);
    expect(new Set(vectors.backward.map((v) => v.hop))).toEqual(new Set([0, 1, 2]));
    for (const v of [...vectors.forward, ...vectors.backward]) {
      for (const link of v.links) expect(unhex(link).length).toBe(CELL_PAYLOAD_LEN);
    }
  });

  for (const p of allCryptoProviders()) {
    it(`are reproduced exactly by the ${p.name} provider`, () => {
      expect(computeOnionVectors(p)).toEqual(vectors);
    });

    it(`agree with the spec-literal reference (${p.name})`, () => {
      const keys = vectors.hops.map((h) => ({
        kf: unhex(h.forward), ko: unhex(h.backwardOriginate), kr: unhex(h.backwardRelay),
      }));
      for (const v of vectors.forward) {
        const j = v.targetHop + 1;
        const ref = refBuildForward(
          p, keys.slice(0, j).map((k, i) => ({ kf: k.kf, c: v.counters[i]! })), j, unhex(v.body), unhex(v.padding),
        );
        expect(ref.X.map(hex)).toEqual(v.links);
        v.links.forEach((link, i) => {
          const step = refRelayForward(p, keys[i]!.kf, v.counters[i]!, unhex(link));
          expect(step).not.toBeNull();
          expect(step!.recognized).toBe(i === v.targetHop);
          if (i < v.targetHop) expect(hex(step!.forwarded)).toBe(v.links[i + 1]);
        });
      }
      for (const v of vectors.backward) {
        let cell = refOriginateBackward(p, keys[v.hop]!.ko, v.counters[v.hop]!, unhex(v.body), unhex(v.padding));
        expect(hex(cell)).toBe(v.links[v.hop]);
        for (let i = v.hop - 1; i >= 0; i--) {
          cell = refRelayBackward(p, keys[i]!.kr, v.counters[i]!, cell);
          expect(hex(cell)).toBe(v.links[i]);
        }
      }
    });

    it(`decrypt from the JSON alone with a fresh client (${p.name})`, () => {
      const client = new ClientLayers(p);
      [0, 1, 2].forEach((i) => client.addHop(hopKeysFromMaterial(vectorKeyMaterial(i))));
      for (const v of vectors.backward) {
        const got = client.decryptBackward(unhex(v.links[0]!));
        expect(got.hop).toBe(v.hop);
        expect(hex(got.body.subarray(0, unhex(v.body).length))).toBe(v.body);
      }
    });
  }
});
