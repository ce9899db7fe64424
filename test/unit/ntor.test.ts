/**
 * ntor (tor-spec §5.1.4) and the relay's replay cache: Tor's published vectors, chive's own
 * vectors (from the independent reference in test/vectors/ntor/generate.ts), round trips,
 * and every refusal with its stable code — all through both crypto providers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider, Rng } from '../../src/crypto/provider.js';
import { ChiveError } from '../../src/errors.js';
import { fromHex, toHex, utf8 } from '../../src/bytes.js';
import {
  CHIVE_NTOR_PROFILE, ntorClientCreate, ntorClientCreateWith, ntorClientFinish, ntorKeyMaterial,
  ntorOnionKeyLookup, ntorServerRespond, ntorServerRespondWith, type NtorOnionKeyPair, type NtorProfile,
} from '../../src/handshake/ntor.js';
import { ReplayCache } from '../../src/handshake/replay-cache.js';
import { hopKeysFromMaterial } from '../../src/onion/hop-keys.js';
import {
  HOP_KEY_MATERIAL_LEN, NTOR_NODE_ID_LEN, NTOR_ONIONSKIN_LEN, NTOR_REPLY_LEN,
} from '../../src/wire/constants.js';

const vectorFile = (name: string) =>
  JSON.parse(readFileSync(new URL(`../vectors/ntor/${name}`, import.meta.url), 'utf8'));
const torVectors = vectorFile('tor-ntor.json').vectors as Record<string, string>[];
const torKdfVectors = vectorFile('tor-ntor-kdf.json').vectors as { secretInputUtf8: string; length: number; keyMaterial: string }[];
const chiveVectors = vectorFile('chive-ntor.json').vectors as Record<string, string>[];

/** Curve25519 points of small order (and their non-canonical encodings): X25519 with any of them is all zero. */
const LOW_ORDER_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000', // 0
  '0100000000000000000000000000000000000000000000000000000000000000', // 1
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p - 1
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p (= 0)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1 (= 1)
  '0000000000000000000000000000000000000000000000000000000000000080', // 0, bit 255 set
  '0100000000000000000000000000000000000000000000000000000000000080', // 1, bit 255 set
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880', // order 8, bit 255 set
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7', // order 8, bit 255 set
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // p - 1, bit 255 set
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // p, bit 255 set
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // p + 1, bit 255 set
];

/** An Rng that hands out exactly `bytes` once (a copy, so zeroing cannot touch the vector). */
function fixedRng(bytes: Uint8Array): Rng {
  let used = false;
  return (n) => {
    if (used || n !== bytes.length) throw new Error(`fixedRng: unexpected request for ${n} bytes`);
    used = true;
    return bytes.slice();
  };
}

/** The code of the ChiveError `fn` throws; fails the test if it throws anything else or nothing. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ChiveError) return e.code;
    throw e;
  }
  throw new Error('expected a ChiveError, but nothing was thrown');
}

function makeRelay(p: CryptoProvider) {
  const identity = p.ed25519PublicKey(p.randomBytes(32));
  const secret = p.randomBytes(32);
  const onionKey: NtorOnionKeyPair = { secret, public: p.x25519PublicKey(secret) };
  return { identity, onionKey, lookup: ntorOnionKeyLookup(p, [onionKey]) };
}

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('ntor with the %s provider', (_name, p) => {
  describe("Tor's published vectors", () => {
    it.each(torVectors.map((v) => [v.description!, v] as const))('%s: onionskin, reply and key material', (_d, v) => {
      const profile: NtorProfile = { nodeIdLength: 20, keyMaterialLength: v.keyMaterial!.length / 2 };
      const onionKey = { secret: fromHex(v.onionKeySecret!), public: fromHex(v.onionKeyPublic!) };
      const { state, onionskin } = ntorClientCreateWith(profile, p, fixedRng(fromHex(v.clientSecret!)), {
        nodeId: fromHex(v.nodeId!), onionKey: onionKey.public,
      });
      expect(toHex(onionskin)).toBe(v.onionskin);

      const server = ntorServerRespondWith(profile, p, fixedRng(fromHex(v.serverSecret!)), onionskin,
        ntorOnionKeyLookup(p, [onionKey]), fromHex(v.nodeId!));
      expect(toHex(server.reply)).toBe(v.reply);
      expect(toHex(server.keyMaterial)).toBe(v.keyMaterial);
      expect(toHex(ntorClientFinish(p, state, server.reply))).toBe(v.keyMaterial);
    });

    it.each(torKdfVectors.map((v) => [v.secretInputUtf8, v] as const))('KDF of %j', (_d, v) => {
      expect(toHex(ntorKeyMaterial(p, utf8(v.secretInputUtf8), v.length))).toBe(v.keyMaterial);
    });
  });

  describe("chive's vectors (32-byte node id, 96 bytes → kf ‖ ko ‖ kr)", () => {
    it.each(chiveVectors.map((v) => [v.description!, v] as const))('%s', (_d, v) => {
      expect(toHex(p.ed25519PublicKey(fromHex(v.identitySeed!)))).toBe(v.nodeId);
      const onionKey = { secret: fromHex(v.onionKeySecret!), public: fromHex(v.onionKeyPublic!) };
      expect(toHex(p.x25519PublicKey(onionKey.secret))).toBe(v.onionKeyPublic);

      const { state, onionskin } = ntorClientCreate(p, fixedRng(fromHex(v.clientSecret!)), {
        nodeId: fromHex(v.nodeId!), onionKey: onionKey.public,
      });
      expect(onionskin.length).toBe(NTOR_ONIONSKIN_LEN);
      expect(toHex(onionskin)).toBe(v.onionskin);

      const server = ntorServerRespond(p, fixedRng(fromHex(v.serverSecret!)), onionskin,
        ntorOnionKeyLookup(p, [onionKey]), fromHex(v.nodeId!));
      expect(server.reply.length).toBe(NTOR_REPLY_LEN);
      expect(toHex(server.reply)).toBe(v.reply);
      expect(toHex(server.keyMaterial)).toBe(v.keyMaterial);

      const clientMaterial = ntorClientFinish(p, state, server.reply);
      expect(toHex(clientMaterial)).toBe(v.keyMaterial);
      const keys = hopKeysFromMaterial(clientMaterial);
      expect(toHex(keys.forward)).toBe(v.kf);
      expect(toHex(keys.backwardOriginate)).toBe(v.ko);
      expect(toHex(keys.backwardRelay)).toBe(v.kr);

      // The same KDF from the published secret_input gives the same material.
      expect(toHex(ntorKeyMaterial(p, fromHex(v.secretInput!), HOP_KEY_MATERIAL_LEN))).toBe(v.keyMaterial);
    });
  });

  describe('round trips', () => {
    it('client and server agree on random keys, and the hop keys are distinct', () => {
      for (let i = 0; i < 5; i++) {
        const relay = makeRelay(p);
        const { state, onionskin } = ntorClientCreate(p, p.randomBytes, { nodeId: relay.identity, onionKey: relay.onionKey.public });
        const server = ntorServerRespond(p, p.randomBytes, onionskin, relay.lookup, relay.identity);
        const client = ntorClientFinish(p, state, server.reply);
        expect(client.length).toBe(HOP_KEY_MATERIAL_LEN);
        expect(toHex(client)).toBe(toHex(server.keyMaterial));
        const k = hopKeysFromMaterial(client);
        expect(new Set([toHex(k.forward), toHex(k.backwardOriginate), toHex(k.backwardRelay)]).size).toBe(3);
      }
    });

    it('zeroes the client secret after finish and the server secret after respond', () => {
      const relay = makeRelay(p);
      const x = p.randomBytes(32);
      const y = p.randomBytes(32);
      const { state, onionskin } = ntorClientCreate(p, () => x, { nodeId: relay.identity, onionKey: relay.onionKey.public });
      const server = ntorServerRespond(p, () => y, onionskin, relay.lookup, relay.identity);
      expect(y.every((b) => b === 0)).toBe(true);
      expect(x.some((b) => b !== 0)).toBe(true);
      expect(state.finished).toBe(false);
      ntorClientFinish(p, state, server.reply);
      expect(state.finished).toBe(true);
      expect(x.every((b) => b === 0)).toBe(true);
    });

    it('a relay answers handshakes to its previous onion key as well as its current one', () => {
      const relay = makeRelay(p);
      const previousSecret = p.randomBytes(32);
      const previous: NtorOnionKeyPair = { secret: previousSecret, public: p.x25519PublicKey(previousSecret) };
      const lookup = ntorOnionKeyLookup(p, [relay.onionKey, previous]);
      for (const key of [relay.onionKey, previous]) {
        const { state, onionskin } = ntorClientCreate(p, p.randomBytes, { nodeId: relay.identity, onionKey: key.public });
        const server = ntorServerRespond(p, p.randomBytes, onionskin, lookup, relay.identity);
        expect(toHex(ntorClientFinish(p, state, server.reply))).toBe(toHex(server.keyMaterial));
      }
    });
  });

  describe('refusals', () => {
    it('a tampered reply byte (any position) fails with HANDSHAKE_FAILED', () => {
      const relay = makeRelay(p);
      const flips: [number, number][] = [];
      for (let i = 0; i < NTOR_REPLY_LEN; i++) flips.push([i, 0x01]);
      flips.push([31, 0x80]); // bit 255 of Y: ignored by X25519, but Y is in the transcript
      for (const [index, mask] of flips) {
        const { state, onionskin } = ntorClientCreate(p, p.randomBytes, { nodeId: relay.identity, onionKey: relay.onionKey.public });
        const reply = ntorServerRespond(p, p.randomBytes, onionskin, relay.lookup, relay.identity).reply.slice();
        reply[index]! ^= mask;
        expect(codeOf(() => ntorClientFinish(p, state, reply)), `byte ${index} ^ ${mask}`).toBe('HANDSHAKE_FAILED');
        expect(state.finished).toBe(true);
      }
    });

    it('a reply of the wrong length fails with HANDSHAKE_FAILED', () => {
      const relay = makeRelay(p);
      for (const length of [0, 32, NTOR_REPLY_LEN - 1, NTOR_REPLY_LEN + 1]) {
        const { state } = ntorClientCreate(p, p.randomBytes, { nodeId: relay.identity, onionKey: relay.onionKey.public });
        expect(codeOf(() => ntorClientFinish(p, state, new Uint8Array(length)))).toBe('HANDSHAKE_FAILED');
      }
    });

    it('a state is single-use (HANDSHAKE_STATE)', () => {
      const relay = makeRelay(p);
      const { state, onionskin } = ntorClientCreate(p, p.randomBytes, { nodeId: relay.identity, onionKey: relay.onionKey.public });
      const { reply } = ntorServerRespond(p, p.randomBytes, onionskin, relay.lookup, relay.identity);
      ntorClientFinish(p, state, reply);
      expect(codeOf(() => ntorClientFinish(p, state, reply))).toBe('HANDSHAKE_STATE');
    });

    it('an onionskin for another node id fails with HANDSHAKE_FAILED', () => {
      const relay = makeRelay(p);
      const other = p.ed25519PublicKey(p.randomBytes(32));
      const { onionskin } = ntorClientCreate(p, p.randomBytes, { nodeId: other, onionKey: relay.onionKey.public });
      expect(codeOf(() => ntorServerRespond(p, p.randomBytes, onionskin, relay.lookup, relay.identity))).toBe('HANDSHAKE_FAILED');
    });

    it('an onionskin for a key that is not ours fails with UNKNOWN_KEY', () => {
      const relay = makeRelay(p);
      const stranger = p.x25519PublicKey(p.randomBytes(32));
      const { onionskin } = ntorClientCreate(p, p.randomBytes, { nodeId: relay.identity, onionKey: stranger });
      expect(codeOf(() => ntorServerRespond(p, p.randomBytes, onionskin, relay.lookup, relay.identity))).toBe('UNKNOWN_KEY');
    });

    it('an onionskin of the wrong length (Tor\'s 84 bytes included) fails with HANDSHAKE_FAILED', () => {
      const relay = makeRelay(p);
      for (const length of [0, 84, NTOR_ONIONSKIN_LEN - 1, NTOR_ONIONSKIN_LEN + 1, 509]) {
        expect(codeOf(() => ntorServerRespond(p, p.randomBytes, new Uint8Array(length), relay.lookup, relay.identity)))
          .toBe('HANDSHAKE_FAILED');
      }
    });

    it.each(LOW_ORDER_POINTS)('a low-order client key X = %s is refused (LOW_ORDER_POINT) and not cached', (point) => {
      const relay = makeRelay(p);
      const cache = new ReplayCache({ maxEntries: 8, ttlMs: 1000 });
      const onionskin = new Uint8Array([...relay.identity, ...relay.onionKey.public, ...fromHex(point)]);
      expect(codeOf(() => ntorServerRespond(p, p.randomBytes, onionskin, relay.lookup, relay.identity, { cache, now: 0 })))
        .toBe('LOW_ORDER_POINT');
      expect(cache.size).toBe(0);
    });

    it.each(LOW_ORDER_POINTS.slice(0, 4))('a low-order relay key Y = %s is refused by the client (LOW_ORDER_POINT)', (point) => {
      const relay = makeRelay(p);
      const x = p.randomBytes(32);
      const { state } = ntorClientCreate(p, () => x, { nodeId: relay.identity, onionKey: relay.onionKey.public });
      const reply = new Uint8Array([...fromHex(point), ...p.randomBytes(32)]);
      expect(codeOf(() => ntorClientFinish(p, state, reply))).toBe('LOW_ORDER_POINT');
      expect(x.every((b) => b === 0)).toBe(true);
    });

    it('a replayed onionskin fails with HANDSHAKE_REPLAY until the entry expires', () => {
      const relay = makeRelay(p);
      const cache = new ReplayCache({ maxEntries: 16, ttlMs: 60_000 });
      const { onionskin } = ntorClientCreate(p, p.randomBytes, { nodeId: relay.identity, onionKey: relay.onionKey.public });
      ntorServerRespond(p, p.randomBytes, onionskin, relay.lookup, relay.identity, { cache, now: 1_000 });
      expect(codeOf(() => ntorServerRespond(p, p.randomBytes, onionskin, relay.lookup, relay.identity, { cache, now: 30_000 })))
        .toBe('HANDSHAKE_REPLAY');
      const later = ntorServerRespond(p, p.randomBytes, onionskin, relay.lookup, relay.identity, { cache, now: 61_000 });
      expect(later.keyMaterial.length).toBe(HOP_KEY_MATERIAL_LEN);
    });

    it('refuses bad arguments from our own side with INVALID_ARGUMENT', () => {
      const relay = makeRelay(p);
      expect(codeOf(() => ntorClientCreate(p, p.randomBytes, { nodeId: new Uint8Array(20), onionKey: relay.onionKey.public })))
        .toBe('INVALID_ARGUMENT');
      expect(codeOf(() => ntorClientCreate(p, () => new Uint8Array(31), { nodeId: relay.identity, onionKey: relay.onionKey.public })))
        .toBe('INVALID_ARGUMENT');
      const { onionskin } = ntorClientCreate(p, p.randomBytes, { nodeId: relay.identity, onionKey: relay.onionKey.public });
      const lyingLookup = () => makeRelay(p).onionKey;
      expect(codeOf(() => ntorServerRespond(p, p.randomBytes, onionskin, lyingLookup, relay.identity))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => ntorServerRespond(p, p.randomBytes, onionskin, relay.lookup, relay.identity.subarray(0, 20))))
        .toBe('INVALID_ARGUMENT');
      expect(codeOf(() => ntorKeyMaterial(p, new Uint8Array(8), 0))).toBe('INVALID_ARGUMENT');
      expect(CHIVE_NTOR_PROFILE).toEqual({ nodeIdLength: NTOR_NODE_ID_LEN, keyMaterialLength: HOP_KEY_MATERIAL_LEN });
    });
  });
});

describe('ReplayCache', () => {
  const key = (n: number) => new Uint8Array(32).fill(n);

  it('remembers (keyId, X) pairs: first sight true, a repeat false', () => {
    const cache = new ReplayCache({ maxEntries: 10, ttlMs: 100 });
    expect(cache.checkAndRemember(key(1), key(2), 0)).toBe(true);
    expect(cache.checkAndRemember(key(1), key(2), 50)).toBe(false);
    expect(cache.checkAndRemember(key(9), key(2), 50)).toBe(true); // same X, another onion key
    expect(cache.checkAndRemember(key(1), key(3), 50)).toBe(true);
    expect(cache.size).toBe(3);
  });

  it('forgets an entry ttlMs after it was remembered, and sweeps expired entries', () => {
    const cache = new ReplayCache({ maxEntries: 10, ttlMs: 100 });
    cache.checkAndRemember(key(1), key(1), 0);
    cache.checkAndRemember(key(1), key(2), 10);
    expect(cache.checkAndRemember(key(1), key(1), 99)).toBe(false);
    expect(cache.checkAndRemember(key(1), key(3), 105)).toBe(true); // sweeps (1,1)
    expect(cache.size).toBe(2);
    expect(cache.checkAndRemember(key(1), key(1), 105)).toBe(true);
  });

  it('never holds more than maxEntries, evicting the oldest', () => {
    const cache = new ReplayCache({ maxEntries: 3, ttlMs: 1e9 });
    for (let i = 0; i < 100; i++) {
      expect(cache.checkAndRemember(key(0), key(i), i)).toBe(true);
      expect(cache.size).toBeLessThanOrEqual(3);
    }
    expect(cache.checkAndRemember(key(0), key(99), 100)).toBe(false); // newest kept
    expect(cache.checkAndRemember(key(0), key(0), 100)).toBe(true); // oldest evicted
    expect(cache.size).toBe(3);
  });

  it('treats an entry as expired when the clock jumps back and forth', () => {
    const cache = new ReplayCache({ maxEntries: 10, ttlMs: 100 });
    cache.checkAndRemember(key(1), key(1), 1_000); // expires at 1 100
    cache.checkAndRemember(key(1), key(2), 0); // expires at 100, behind a live entry
    expect(cache.checkAndRemember(key(1), key(2), 50)).toBe(false);
    expect(cache.checkAndRemember(key(1), key(2), 500)).toBe(true);
  });

  it('refuses bad options and arguments with INVALID_ARGUMENT', () => {
    expect(codeOf(() => new ReplayCache({ maxEntries: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new ReplayCache({ ttlMs: 0 }))).toBe('INVALID_ARGUMENT');
    const cache = new ReplayCache();
    expect(codeOf(() => cache.checkAndRemember(new Uint8Array(31), key(1), 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => cache.checkAndRemember(key(1), new Uint8Array(33), 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => cache.checkAndRemember(key(1), key(1), Number.NaN))).toBe('INVALID_ARGUMENT');
    expect(cache.size).toBe(0);
  });
});
