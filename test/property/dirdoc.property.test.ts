/**
 * Property tests for the directory documents:
 *   - random bytes, and valid encodings with random bytes changed, into every decoder
 *     (descriptor, vote, consensus) and random text into the exit-policy parser only ever
 *     throw ChiveError;
 *   - whatever a decoder accepts re-encodes to exactly the input (one encoding per document);
 *   - encode → decode is the identity on valid documents built from arbitraries;
 *   - with both providers: a changed signed descriptor never passes checkDescriptor, and a
 *     consensus that passes checkConsensus after a change has the signed body unchanged.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { allCryptoProviders } from '../../src/crypto/load.js';
import { toHex } from '../../src/bytes.js';
import { ChiveError } from '../../src/errors.js';
import { ALL_RELAY_FLAGS, RelayFlag } from '../../src/wire/constants.js';
import {
  type AuthoritySignature, type Consensus, type ConsensusRelay, type ExitRule, type RelayDescriptor, type Vote,
  addSignatures, checkConsensus, checkDescriptor, compareBytes, computeConsensus, decodeConsensus, decodeDescriptor, decodeVote,
  encodeConsensus, encodeConsensusBody, encodeDescriptor, encodeVote, exitPolicyAllows, exitPolicyWitness,
  formatExitPolicy, parseExitPolicy, parseRelayAddress, signConsensus,
} from '../../src/dirdoc/index.js';
import { maskOf } from '../../src/dirdoc/exit-policy.js';
import { checkText } from '../../src/dirdoc/fields.js';
import { NOW, checkedRelay, entry, makeAuthorities, makeRelay, vote as signedVote } from '../unit/dirdoc-fixtures.js';

const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
const sig = fc.uint8Array({ minLength: 64, maxLength: 64 });
const u64 = fc.maxSafeNat();
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const nickname = fc.stringMatching(/^[A-Za-z0-9]{1,19}$/);
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const host = fc.oneof(
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((q) => q.join('.')),
  fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.')),
);
const address = fc
  .tuple(fc.constantFrom('ws', 'wss'), host, fc.integer({ min: 1, max: 65535 }))
  .map(([s, h, p]) => `${s}://${h}:${p}`)
  .filter((a) => parseRelayAddress(a) !== undefined);
const text = (maxBytes: number) =>
  fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => {
    try {
      checkText(s, maxBytes, 't', () => { throw new Error('bad'); });
      return true;
    } catch {
      return false;
    }
  });
const exitRule: fc.Arbitrary<ExitRule> = fc
  .record({ action: fc.constantFrom('accept' as const, 'reject' as const), ip: u32, maskBits: fc.integer({ min: 0, max: 32 }), a: fc.integer({ min: 1, max: 65535 }), b: fc.integer({ min: 1, max: 65535 }) })
  .map(({ action, ip, maskBits, a, b }) => ({ action, address: (ip & maskOf(maskBits)) >>> 0, maskBits, portMin: Math.min(a, b), portMax: Math.max(a, b) }));
const exitPolicy = fc.array(exitRule, { maxLength: 6 });
const sortedKeys = (max: number) => fc.uniqueArray(key, { maxLength: max, selector: toHex }).map((ks) => ks.sort(compareBytes));
const cert = fc.record({ expires: u64, signature: sig });

const descriptor: fc.Arbitrary<RelayDescriptor> = fc
  .record({
    identity: key, published: u64, onionKey: key, onionKeyCert: cert, linkKey: key, linkKeyCert: cert, nickname, address,
    bandwidth: u32, exitPolicy, family: sortedKeys(3), contact: text(256), softwareVersion: text(64), signature: sig,
  })
  .filter((d) => !d.family.some((k) => compareBytes(k, d.identity) === 0));

const window = fc.tuple(u64, u64, u64).map((t) => t.sort((a, b) => a - b)).filter(([a, b]) => a < b)
  .map(([validAfter, freshUntil, validUntil]) => ({ validAfter, freshUntil, validUntil }));

const vote: fc.Arbitrary<Vote> = fc
  .record({
    authority: key, window,
    entries: fc.uniqueArray(
      fc.record({ descriptor, flags: fc.integer({ min: 0, max: ALL_RELAY_FLAGS }).map((f) => f | RelayFlag.RUNNING), measuredBandwidth: u32 }),
      { maxLength: 3, selector: (e) => toHex(e.descriptor.identity) },
    ),
    signature: sig,
  })
  .map(({ authority, window: w, entries, signature }) => ({
    authority, ...w, signature, entries: entries.sort((a, b) => compareBytes(a.descriptor.identity, b.descriptor.identity)),
  }));

const consensusRelay: fc.Arbitrary<ConsensusRelay> = fc
  .record({
    identity: key, descriptorDigest: key, published: u64, flags: fc.integer({ min: 0, max: ALL_RELAY_FLAGS }), weight: u32,
    onionKey: key, linkKey: key, nickname, address, exitPolicy, family: sortedKeys(3),
  })
  .filter((r) => !r.family.some((k) => compareBytes(k, r.identity) === 0));

const consensus: fc.Arbitrary<Consensus> = fc
  .record({
    window,
    relays: fc.uniqueArray(consensusRelay, { maxLength: 4, selector: (r) => toHex(r.identity) }),
    signatures: fc.uniqueArray(fc.record({ identity: key, signature: sig }), { maxLength: 4, selector: (s) => toHex(s.identity) }),
  })
  .map(({ window: w, relays, signatures }) => ({
    ...w,
    relays: relays.sort((a, b) => compareBytes(a.identity, b.identity)),
    signatures: (signatures as AuthoritySignature[]).sort((a, b) => compareBytes(a.identity, b.identity)),
  }));

/** decode(x) either throws a ChiveError or returns a document that encodes back to x exactly. */
function decodesCanonicallyOrThrowsTyped<T>(bytes: Uint8Array, decode: (b: Uint8Array) => T, encode: (d: T) => Uint8Array): void {
  let doc: T;
  try {
    doc = decode(bytes);
  } catch (e) {
    if (!(e instanceof ChiveError)) throw e;
    return;
  }
  expect(toHex(encode(doc))).toBe(toHex(bytes));
}

const mutations = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 });
function mutate(bytes: Uint8Array, changes: [number, number][]): Uint8Array {
  const out = bytes.slice();
  for (const [at, x] of changes) out[at % out.length]! ^= x;
  return out;
}

const codecs = [
  { name: 'descriptor', arb: descriptor as fc.Arbitrary<unknown>, decode: decodeDescriptor, encode: encodeDescriptor },
  { name: 'vote', arb: vote as fc.Arbitrary<unknown>, decode: decodeVote, encode: encodeVote },
  { name: 'consensus', arb: consensus as fc.Arbitrary<unknown>, decode: decodeConsensus, encode: encodeConsensus },
] as const;

describe.each(codecs)('$name codec', ({ arb, decode, encode }) => {
  const enc = encode as (d: unknown) => Uint8Array;
  const dec = decode as (b: Uint8Array) => unknown;

  it('encode → decode is the identity on valid documents, and decode → encode gives the same bytes', () => {
    fc.assert(fc.property(arb, (doc) => {
      const bytes = enc(doc);
      const back = dec(bytes);
      expect(back).toEqual(doc);
      expect(toHex(enc(back))).toBe(toHex(bytes));
    }), { numRuns: 300 });
  });

  it('random bytes only ever throw ChiveError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => decodesCanonicallyOrThrowsTyped(bytes, dec, enc)), { numRuns: 1000 });
    // random bytes behind a valid version byte reach deeper
    fc.assert(fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => decodesCanonicallyOrThrowsTyped(Uint8Array.from([1, ...bytes]), dec, enc)), { numRuns: 1000 });
  });

  it('valid encodings with bytes changed only ever throw ChiveError or decode canonically', () => {
    fc.assert(fc.property(arb, mutations, (doc, changes) => {
      decodesCanonicallyOrThrowsTyped(mutate(enc(doc), changes), dec, enc);
    }), { numRuns: 500 });
  });
});

describe('exit policy text', () => {
  it('random text only ever throws ChiveError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => {
      try {
        parseExitPolicy(s);
      } catch (e) {
        if (!(e instanceof ChiveError)) throw e;
      }
    }), { numRuns: 1000 });
  });

  it('format → parse is the identity, and a witness is always allowed', () => {
    fc.assert(fc.property(exitPolicy, (policy) => {
      expect(parseExitPolicy(formatExitPolicy(policy))).toEqual(policy);
      const w = exitPolicyWitness(policy);
      if (w) expect(exitPolicyAllows(policy, w.address, w.port)).toBe(true);
    }), { numRuns: 500 });
  });

  it('no witness means no sampled address and port is allowed', () => {
    fc.assert(fc.property(exitPolicy, fc.array(fc.tuple(u32, fc.integer({ min: 1, max: 65535 })), { maxLength: 30 }), (policy, probes) => {
      if (exitPolicyWitness(policy) !== undefined) return;
      const edges = policy.flatMap((r) => [[r.address, r.portMin], [(r.address | ~maskOf(r.maskBits)) >>> 0, r.portMax]] as [number, number][]);
      for (const [ip, port] of [...probes, ...edges]) expect(exitPolicyAllows(policy, ip, port)).toBe(false);
    }), { numRuns: 500 });
  });
});

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('%s: signed documents under change', (_name, p) => {
  it('a signed descriptor with any byte changed never passes checkDescriptor', () => {
    const bytes = encodeDescriptor(makeRelay(p, 4).descriptor);
    fc.assert(fc.property(mutations, (changes) => {
      const changed = mutate(bytes, changes);
      fc.pre(toHex(changed) !== toHex(bytes));
      expect(() => checkDescriptor(p, decodeDescriptor(changed), NOW)).toThrow(ChiveError);
    }), { numRuns: 150 });
  });

  it('a consensus that still passes checkConsensus after a change has the signed body unchanged', () => {
    const auths = makeAuthorities(p, 3);
    const relays = [0, 1].map((i) => checkedRelay(p, i));
    const body = computeConsensus(auths.map((a) => signedVote(p, a, auths, relays.map((r) => entry(r)))), auths.map((a) => a.identity));
    const c = addSignatures(p, body, auths.map((a) => signConsensus(p, a.seed, body)));
    const bytes = encodeConsensus(c);
    const signedBody = toHex(encodeConsensusBody(body));
    fc.assert(fc.property(mutations, (changes) => {
      let checked;
      try {
        checked = checkConsensus(p, decodeConsensus(mutate(bytes, changes)), auths.map((a) => a.identity), NOW);
      } catch (e) {
        if (!(e instanceof ChiveError)) throw e;
        return;
      }
      expect(toHex(encodeConsensusBody(checked))).toBe(signedBody);
    }), { numRuns: 150 });
  });
});
