/**
 * The HSDir ring (src/chat/hsdir-ring.ts) through both crypto providers: the vectors of
 * test/vectors/chat (cross-checked in Python), determinism whatever the candidate order,
 * distinct replicas, small rings, and consistent hashing — one relay joining or leaving
 * moves only the assignments that involve it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';

import { fromHex, toHex } from '../../src/bytes.js';
import {
  compareBytes, hsdirNodePosition, hsdirRing, hsdirStorePosition, hsdirsFor, type HsdirCandidate,
} from '../../src/chat/hsdir-ring.js';
import { HSDIR_REPLICAS, HSDIR_SPREAD } from '../../src/wire/constants.js';
import { codeOf } from '../support/errors.js';

interface RingVector {
  relays: string[]; blindedPub: string; period: number; replicas: number; spread: number;
  ring: { identity: string; position: string }[]; storePositions: string[]; hsdirs: string[];
}
const vectors = JSON.parse(readFileSync(new URL('../vectors/chat/chat-identity.json', import.meta.url), 'utf8')).rings as RingVector[];

const candidatesOf = (ids: Uint8Array[]): HsdirCandidate[] => ids.map((identity) => ({ identity }));

/** A deterministic shuffle (so a failure reproduces). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('the HSDir ring with the %s provider', (_name, p: CryptoProvider) => {
  it('reproduces the vectors: ring order, replica positions, chosen HSDirs', () => {
    expect([HSDIR_REPLICAS, HSDIR_SPREAD]).toEqual([2, 2]);
    for (const v of vectors) {
      const candidates = candidatesOf(v.relays.map(fromHex));
      const ring = hsdirRing(p, candidates, v.period);
      expect(ring.map((e) => ({ identity: toHex(e.identity), position: toHex(e.position) }))).toEqual(v.ring);
      for (const [i, position] of v.storePositions.entries()) {
        expect(toHex(hsdirStorePosition(p, fromHex(v.blindedPub), i + 1, v.period))).toBe(position);
      }
      const chosen = hsdirsFor(p, candidates, fromHex(v.blindedPub), v.period, { replicas: v.replicas, spread: v.spread });
      expect(chosen.map(toHex)).toEqual(v.hsdirs);
    }
  });

  it('is deterministic and independent of the order of the candidates', () => {
    const ids = Array.from({ length: 30 }, () => p.randomBytes(32));
    const blinded = p.randomBytes(32);
    const first = hsdirsFor(p, candidatesOf(ids), blinded, 42).map(toHex);
    expect(first).toHaveLength(HSDIR_REPLICAS * HSDIR_SPREAD);
    for (let seed = 1; seed <= 5; seed++) {
      expect(hsdirsFor(p, candidatesOf(shuffled(ids, seed)), blinded, 42).map(toHex)).toEqual(first);
    }
  });

  it('picks distinct relays, replica 1 first, each at or after its replica position', () => {
    const ids = Array.from({ length: 12 }, () => p.randomBytes(32));
    for (let k = 0; k < 40; k++) {
      const blinded = p.randomBytes(32);
      const chosen = hsdirsFor(p, candidatesOf(ids), blinded, 7).map(toHex);
      expect(new Set(chosen).size).toBe(4);
      // replica 1's first relay is the first ring entry at or after its position (wrapping)
      const ring = hsdirRing(p, candidatesOf(ids), 7);
      const pos = hsdirStorePosition(p, blinded, 1, 7);
      const expected = ring.find((e) => compareBytes(e.position, pos) >= 0) ?? ring[0]!;
      expect(chosen[0]).toBe(toHex(expected.identity));
    }
  });

  it('handles rings smaller than replicas × spread, and an empty one', () => {
    const blinded = p.randomBytes(32);
    expect(hsdirsFor(p, [], blinded, 1)).toEqual([]);
    for (let n = 1; n <= 4; n++) {
      const ids = Array.from({ length: n }, () => p.randomBytes(32));
      const chosen = hsdirsFor(p, candidatesOf(ids), blinded, 1).map(toHex);
      expect(chosen).toHaveLength(n);
      expect(new Set(chosen)).toEqual(new Set(ids.map(toHex)));
    }
  });

  it('counts a relay listed twice once', () => {
    const ids = Array.from({ length: 3 }, () => p.randomBytes(32));
    const twice = candidatesOf([...ids, ...ids.map((id) => id.slice())]);
    expect(hsdirRing(p, twice, 3)).toHaveLength(3);
    expect(hsdirsFor(p, twice, p.randomBytes(32), 3)).toHaveLength(3);
  });

  it('honours replicas and spread options', () => {
    const ids = Array.from({ length: 20 }, () => p.randomBytes(32));
    const blinded = p.randomBytes(32);
    expect(hsdirsFor(p, candidatesOf(ids), blinded, 5, { replicas: 3, spread: 3 })).toHaveLength(9);
    expect(hsdirsFor(p, candidatesOf(ids), blinded, 5, { replicas: 1, spread: 1 })).toHaveLength(1);
    const spreadOne = hsdirsFor(p, candidatesOf(ids), blinded, 5, { replicas: 2, spread: 1 }).map(toHex);
    const defaults = hsdirsFor(p, candidatesOf(ids), blinded, 5).map(toHex);
    expect(defaults[0]).toBe(spreadOne[0]);
  });

  it('moves to other relays in another period', () => {
    const ids = Array.from({ length: 40 }, () => p.randomBytes(32));
    const blinded = p.randomBytes(32);
    expect(toHex(hsdirNodePosition(p, ids[0]!, 1))).not.toBe(toHex(hsdirNodePosition(p, ids[0]!, 2)));
    const a = hsdirsFor(p, candidatesOf(ids), blinded, 1).map(toHex);
    const b = hsdirsFor(p, candidatesOf(ids), blinded, 2).map(toHex);
    expect(a).not.toEqual(b);
  });

  it('consistent hashing: removing or adding one relay changes only the sets that contain it, and only by it', () => {
    const ids = Array.from({ length: 50 }, () => p.randomBytes(32));
    const keys = Array.from({ length: 150 }, () => p.randomBytes(32));
    const before = keys.map((k) => hsdirsFor(p, candidatesOf(ids), k, 11).map(toHex));

    // a relay that holds at least one of the keys, so the interesting branch runs
    const removed = ids.find((id) => toHex(id) === before[0]![0])!;
    const without = candidatesOf(ids.filter((id) => id !== removed));
    let changedOnRemove = 0;
    for (const [i, k] of keys.entries()) {
      const after = hsdirsFor(p, without, k, 11).map(toHex);
      const old = before[i]!;
      if (!old.includes(toHex(removed))) {
        expect(after).toEqual(old);
        continue;
      }
      changedOnRemove++;
      expect(old.filter((id) => !after.includes(id))).toEqual([toHex(removed)]);
      expect(after.filter((id) => !old.includes(id))).toHaveLength(1);
    }

    // a new relay that lands in at least one key's set (about 1 in 13 random ones does)
    let added = p.randomBytes(32);
    for (let tries = 0; tries < 500 && !keys.some((k) => hsdirsFor(p, candidatesOf([...ids, added]), k, 11).map(toHex).includes(toHex(added))); tries++) {
      added = p.randomBytes(32);
    }
    const withExtra = candidatesOf([...ids, added]);
    let changedOnAdd = 0;
    for (const [i, k] of keys.entries()) {
      const after = hsdirsFor(p, withExtra, k, 11).map(toHex);
      const old = before[i]!;
      if (!after.includes(toHex(added))) {
        expect(after).toEqual(old);
        continue;
      }
      changedOnAdd++;
      expect(after.filter((id) => !old.includes(id))).toEqual([toHex(added)]);
      expect(old.filter((id) => !after.includes(id))).toHaveLength(1);
    }
    // About 4/50 of the keys involve any one relay; far from "everything moved".
    expect(changedOnRemove).toBeGreaterThan(0);
    expect(changedOnAdd).toBeGreaterThan(0);
    expect(changedOnRemove).toBeLessThan(keys.length / 3);
    expect(changedOnAdd).toBeLessThan(keys.length / 3);
  });

  it('refuses bad arguments with INVALID_ARGUMENT', () => {
    const ids = candidatesOf([p.randomBytes(32)]);
    const blinded = p.randomBytes(32);
    expect(codeOf(() => hsdirsFor(p, ids, new Uint8Array(31), 1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => hsdirsFor(p, candidatesOf([new Uint8Array(20)]), blinded, 1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => hsdirsFor(p, ids, blinded, -1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => hsdirsFor(p, ids, blinded, 1, { replicas: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => hsdirsFor(p, ids, blinded, 1, { replicas: 256 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => hsdirsFor(p, ids, blinded, 1, { spread: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => hsdirStorePosition(p, blinded, 0, 1))).toBe('INVALID_ARGUMENT');
  });
});

describe('compareBytes', () => {
  it('orders as big-endian numbers, shorter first on a common prefix', () => {
    expect(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBeLessThan(0);
    expect(compareBytes(Uint8Array.of(2, 0), Uint8Array.of(1, 255))).toBeGreaterThan(0);
    expect(compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0))).toBeLessThan(0);
    expect(compareBytes(Uint8Array.of(7, 7), Uint8Array.of(7, 7))).toBe(0);
  });
});
