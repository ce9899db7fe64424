/**
 * Property tests for ntor and the replay cache, through both crypto providers: arbitrary
 * bytes from the network only ever raise a ChiveError, client and server agree for any
 * keys, any flipped reply bit is caught, and the replay cache is sound, complete within its
 * bound, and bounded.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { ChiveError } from '../../src/errors.js';
import { toHex } from '../../src/bytes.js';
import {
  ntorClientCreate, ntorClientFinish, ntorOnionKeyLookup, ntorServerRespond,
} from '../../src/handshake/ntor.js';
import { ReplayCache } from '../../src/handshake/replay-cache.js';
import { HOP_KEY_MATERIAL_LEN, NTOR_REPLY_LEN } from '../../src/wire/constants.js';

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

/** Runs `fn`; returns the ChiveError it threw, undefined if none; rethrows anything else. */
function chiveErrorOf(fn: () => unknown): ChiveError | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof ChiveError) return e;
    throw e;
  }
}

function makeRelay(p: CryptoProvider) {
  const identity = p.ed25519PublicKey(p.randomBytes(32));
  const secret = p.randomBytes(32);
  const onionKey = { secret, public: p.x25519PublicKey(secret) };
  return { identity, onionKey, lookup: ntorOnionKeyLookup(p, [onionKey]) };
}

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('ntor properties with the %s provider', (_name, p) => {
  const relay = makeRelay(p);

  it('ntorServerRespond on arbitrary bytes throws only ChiveError', () => {
    const onionskins = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 600 }),
      // well-formed prefixes with an arbitrary X, so the DH path is exercised too
      bytes32.map((x) => new Uint8Array([...relay.identity, ...relay.onionKey.public, ...x])),
      fc.uint8Array({ minLength: 96, maxLength: 96 }),
    );
    fc.assert(fc.property(onionskins, (onionskin) => {
      const error = chiveErrorOf(() => ntorServerRespond(p, p.randomBytes, onionskin, relay.lookup, relay.identity));
      if (error === undefined) expect(onionskin.length).toBe(96);
    }), { numRuns: 300 });
  });

  it('ntorClientFinish on arbitrary bytes throws a ChiveError, always', () => {
    const replies = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 600 }),
      fc.uint8Array({ minLength: NTOR_REPLY_LEN, maxLength: NTOR_REPLY_LEN }),
    );
    fc.assert(fc.property(replies, (reply) => {
      const { state } = ntorClientCreate(p, p.randomBytes, { nodeId: relay.identity, onionKey: relay.onionKey.public });
      const error = chiveErrorOf(() => ntorClientFinish(p, state, reply));
      expect(error).toBeDefined();
      expect(['HANDSHAKE_FAILED', 'LOW_ORDER_POINT']).toContain(error!.code);
      expect(state.finished).toBe(true);
    }), { numRuns: 300 });
  });

  it('client and server agree for any keys', () => {
    fc.assert(fc.property(bytes32, bytes32, bytes32, bytes32, (identitySeed, b, x, y) => {
      const nodeId = p.ed25519PublicKey(identitySeed);
      const onionKey = { secret: b.slice(), public: p.x25519PublicKey(b) };
      const { state, onionskin } = ntorClientCreate(p, () => x.slice(), { nodeId, onionKey: onionKey.public });
      const server = ntorServerRespond(p, () => y.slice(), onionskin, ntorOnionKeyLookup(p, [onionKey]), nodeId);
      const client = ntorClientFinish(p, state, server.reply);
      expect(client.length).toBe(HOP_KEY_MATERIAL_LEN);
      expect(toHex(client)).toBe(toHex(server.keyMaterial));
    }), { numRuns: 50 });
  });

  it('any single flipped bit of the reply is refused', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: NTOR_REPLY_LEN * 8 - 1 }), (bit) => {
      const { state, onionskin } = ntorClientCreate(p, p.randomBytes, { nodeId: relay.identity, onionKey: relay.onionKey.public });
      const reply = ntorServerRespond(p, p.randomBytes, onionskin, relay.lookup, relay.identity).reply.slice();
      reply[bit >> 3]! ^= 1 << (bit & 7);
      expect(chiveErrorOf(() => ntorClientFinish(p, state, reply))?.code).toBe('HANDSHAKE_FAILED');
    }), { numRuns: 100 });
  });
});

describe('ReplayCache properties', () => {
  // Operations over a small domain of keys so that repeats are frequent.
  const op = fc.record({ keyId: fc.integer({ min: 0, max: 3 }), x: fc.integer({ min: 0, max: 7 }), dt: fc.integer({ min: 0, max: 40 }) });
  const key = (n: number) => new Uint8Array(32).fill(n);

  it('is bounded, never reports a replay it cannot justify, and (unbounded) misses none within ttl', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 200 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 100 }),
      (ops, maxEntries, ttlMs) => {
        const cache = new ReplayCache({ maxEntries, ttlMs });
        const neverEvicts = maxEntries >= 32; // 4 × 8 distinct pairs fit
        const lastAccepted = new Map<string, number>();
        let now = 0;
        for (const { keyId, x, dt } of ops) {
          now += dt;
          const id = `${keyId}/${x}`;
          const fresh = cache.checkAndRemember(key(keyId), key(x), now);
          const seen = lastAccepted.get(id);
          const withinTtl = seen !== undefined && now < seen + ttlMs;
          if (!fresh) expect(withinTtl).toBe(true); // sound: a replay really is one
          if (neverEvicts) expect(fresh).toBe(!withinTtl); // complete while nothing is evicted
          if (fresh) lastAccepted.set(id, now);
          expect(cache.size).toBeLessThanOrEqual(maxEntries);
        }
      }), { numRuns: 300 });
  });
});
