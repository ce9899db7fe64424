/**
 * Votes and the voting algorithm, through both crypto providers: vote codec and checks,
 * assignFlags, and computeConsensus — determinism under shuffling, majority inclusion,
 * flag majority, low-median weight, descriptor choice and its tie-breaks, 2-of-3 votes
 * accepted and 1-of-3 refused, disagreeing periods, duplicates and unknown authorities.
 */
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { toHex } from '../../src/bytes.js';
import { isChiveError } from '../../src/errors.js';
import { DESCRIPTOR_MAX_AGE_MS, MAX_VOTE_LEN, RelayFlag, SIG_DOMAIN_VOTE } from '../../src/wire/constants.js';
import { signWithDomain } from '../../src/dirdoc/signing.js';
import { encodeVoteBody } from '../../src/dirdoc/vote.js';
import {
  TESTNET_FLAG_THRESHOLDS, DEFAULT_FLAG_THRESHOLDS, assignFlags, checkVote, computeConsensus, decodeVote,
  encodeConsensusBody, encodeDescriptor, encodeVote, parseExitPolicy, relayFlagNames, signDescriptor, signVote,
} from '../../src/dirdoc/index.js';
import {
  ALL_FLAGS, DAY, HOUR, NOW, WINDOW, checkedRelay, entry, makeAuthorities, makeRelay, relayFields, seed, shuffled, vote,
} from './dirdoc-fixtures.js';

const providers = allCryptoProviders();

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isChiveError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe.each(providers.map((p) => [p.name, p] as const))('%s: votes', (_name, p: CryptoProvider) => {
  const auths = makeAuthorities(p, 3);
  const pinned = auths.map((a) => a.identity);
  const relays = [0, 1, 2].map((i) => checkedRelay(p, i));

  it('sign → encode → decode → check round-trips; entries come out sorted by identity', () => {
    const v = signVote(p, auths[0]!.seed, { ...WINDOW, entries: [entry(relays[2]!), entry(relays[0]!), entry(relays[1]!)] });
    const bytes = encodeVote(v);
    const decoded = decodeVote(bytes);
    expect(toHex(encodeVote(decoded))).toBe(toHex(bytes));
    const checked = checkVote(p, decoded, pinned, NOW);
    const ids = checked.entries.map((e) => toHex(e.descriptor.identity));
    expect(ids).toEqual([...ids].sort());
    expect(checked.entries.map((e) => toHex(e.descriptor.digest)).sort()).toEqual(relays.map((r) => toHex(r.digest)).sort());
  });

  it('refuses an unpinned authority, a bad signature, an expired vote and a bad embedded descriptor', () => {
    const v = signVote(p, auths[0]!.seed, { ...WINDOW, entries: [entry(relays[0]!)] });
    expect(codeOf(() => checkVote(p, v, pinned.slice(1), NOW))).toBe('VOTE_UNKNOWN_AUTHORITY');
    const sig = v.signature.slice();
    sig[0]! ^= 1;
    expect(codeOf(() => checkVote(p, { ...v, signature: sig }, pinned, NOW))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => checkVote(p, { ...v, validUntil: v.validUntil + 1 }, pinned, NOW))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => checkVote(p, v, pinned, WINDOW.validUntil + 1))).toBe('VOTE_EXPIRED');
    expect(checkVote(p, v, pinned, WINDOW.validUntil).entries).toHaveLength(1);
    // an authority that signs a descriptor whose own signature is bad: the whole vote is refused
    const forgedDescriptor = { ...relays[1]!, bandwidth: 1 };
    const bad = signVote(p, auths[0]!.seed, { ...WINDOW, entries: [{ descriptor: forgedDescriptor, flags: ALL_FLAGS, measuredBandwidth: 1 }] });
    expect(codeOf(() => checkVote(p, bad, pinned, NOW))).toBe('BAD_SIGNATURE');
  });

  it('skips the signature checks of descriptors it already knows, but not their time rules', () => {
    let verifies = 0;
    const counting: CryptoProvider = { ...p, ed25519Verify: (...args) => { verifies++; return p.ed25519Verify(...args); } };
    const v = signVote(p, auths[0]!.seed, { ...WINDOW, entries: relays.map((r) => entry(r)) });
    checkVote(counting, v, pinned, NOW);
    expect(verifies).toBe(1 + 3 * relays.length);
    verifies = 0;
    const knownDescriptors = new Map(relays.map((r) => [toHex(r.digest), r] as const));
    const checked = checkVote(counting, v, pinned, NOW, { knownDescriptors });
    expect(verifies).toBe(1);
    expect(checked.entries.map((e) => toHex(e.descriptor.digest))).toEqual(v.entries.map((e) => toHex(p.sha256(encodeDescriptor(e.descriptor)))));
    // a known descriptor whose cert has expired by validAfter is still refused (a vote signed
    // by hand, since signVote itself refuses to list it)
    const expiring = checkedRelay(p, 5, { linkKeyExpires: NOW + HOUR });
    const unsigned = {
      authority: auths[0]!.identity, validAfter: NOW + 2 * HOUR, freshUntil: NOW + 3 * HOUR, validUntil: NOW + 4 * HOUR,
      entries: [entry(expiring)],
    };
    const late = { ...unsigned, signature: signWithDomain(p, auths[0]!.seed, SIG_DOMAIN_VOTE, encodeVoteBody(unsigned)) };
    const known = new Map([[toHex(expiring.digest), expiring] as const]);
    expect(codeOf(() => checkVote(p, late, pinned, NOW, { knownDescriptors: known }))).toBe('CERT_EXPIRED');
    expect(codeOf(() => checkVote(p, late, pinned, NOW))).toBe('CERT_EXPIRED');
    expect(codeOf(() => signVote(p, auths[0]!.seed, { ...unsigned, entries: [entry(expiring)] }))).toBe('INVALID_ARGUMENT');
  });

  it('signVote refuses duplicate relays, missing Running, and descriptors peers would refuse at validAfter', () => {
    const s = auths[0]!.seed;
    expect(codeOf(() => signVote(p, s, { ...WINDOW, entries: [entry(relays[0]!), entry(relays[0]!)] }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => signVote(p, s, { ...WINDOW, entries: [entry(relays[0]!, RelayFlag.FAST)] }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => signVote(p, s, { ...WINDOW, entries: [entry(relays[0]!, 0x41)] }))).toBe('INVALID_ARGUMENT');
    const late = { ...WINDOW, validAfter: NOW + DESCRIPTOR_MAX_AGE_MS, freshUntil: NOW + DESCRIPTOR_MAX_AGE_MS + HOUR, validUntil: NOW + 2 * DESCRIPTOR_MAX_AGE_MS };
    expect(codeOf(() => signVote(p, s, { ...late, entries: [entry(relays[0]!)] }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => signVote(p, s, { validAfter: NOW, freshUntil: NOW, validUntil: NOW + 1, entries: [] }))).toBe('INVALID_ARGUMENT');
  });

  it('decodeVote refuses oversized, truncated, trailing and unsorted encodings', () => {
    const v = encodeVote(signVote(p, auths[0]!.seed, { ...WINDOW, entries: relays.map((r) => entry(r)) }));
    expect(codeOf(() => decodeVote(v.subarray(0, v.length - 1)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeVote(Uint8Array.from([...v, 0])))).toBe('TRAILING_BYTES');
    expect(codeOf(() => decodeVote(new Uint8Array(MAX_VOTE_LEN + 1)))).toBe('OVER_LENGTH');
    // swap the first two entries in the encoding: same bytes, wrong order
    const decoded = decodeVote(v);
    const e0 = encodeVote({ ...decoded, entries: [decoded.entries[0]!] }).subarray(1 + 32 + 24 + 4, -64);
    const e1 = encodeVote({ ...decoded, entries: [decoded.entries[1]!] }).subarray(1 + 32 + 24 + 4, -64);
    const swapped = v.slice();
    swapped.set(e1, 1 + 32 + 24 + 4);
    swapped.set(e0, 1 + 32 + 24 + 4 + e1.length);
    expect(codeOf(() => decodeVote(swapped))).toBe('DOCUMENT_NOT_CANONICAL');
  });
});

describe.each(providers.map((p) => [p.name, p] as const))('%s: computeConsensus', (_name, p: CryptoProvider) => {
  const auths = makeAuthorities(p, 3);
  const pinned = auths.map((a) => a.identity);
  const relays = Array.from({ length: 6 }, (_, i) => checkedRelay(p, i));

  it('is deterministic: the same votes in any order give identical bytes', () => {
    const votes = auths.map((a, k) => vote(p, a, auths, relays.filter((_, i) => (i + k) % 4 !== 0).map((r, i) => entry(r, ALL_FLAGS, 1000 * (i + k)))));
    const reference = encodeConsensusBody(computeConsensus(votes, pinned));
    for (let s = 1; s <= 10; s++) {
      expect(toHex(encodeConsensusBody(computeConsensus(shuffled(votes, s), shuffled(pinned, s + 100))))).toBe(toHex(reference));
    }
  });

  it('lists a relay only when more than half of the votes list it', () => {
    const [r0, r1, r2] = relays;
    const votes = [
      vote(p, auths[0]!, auths, [entry(r0!), entry(r1!), entry(r2!)]),
      vote(p, auths[1]!, auths, [entry(r0!), entry(r1!)]),
      vote(p, auths[2]!, auths, [entry(r0!)]),
    ];
    const c = computeConsensus(votes, pinned);
    expect(c.relays.map((r) => toHex(r.identity)).sort()).toEqual([r0!, r1!].map((r) => toHex(r.identity)).sort());
    // with only two votes, one of two is not a majority
    const two = computeConsensus([votes[0]!, votes[1]!], pinned);
    expect(two.relays).toHaveLength(2);
    const twoOfTwo = computeConsensus([votes[1]!, votes[2]!], pinned);
    expect(twoOfTwo.relays.map((r) => toHex(r.identity))).toEqual([toHex(r0!.identity)]);
  });

  it('sets each flag by majority of the votes listing the relay', () => {
    const r = relays[0]!;
    const R = RelayFlag.RUNNING;
    const votes = [
      vote(p, auths[0]!, auths, [entry(r, R | RelayFlag.FAST | RelayFlag.GUARD | RelayFlag.EXIT)]),
      vote(p, auths[1]!, auths, [entry(r, R | RelayFlag.FAST | RelayFlag.STABLE)]),
      vote(p, auths[2]!, auths, [entry(r, R | RelayFlag.HSDIR | RelayFlag.EXIT)]),
    ];
    const [listed] = computeConsensus(votes, pinned).relays;
    expect(relayFlagNames(listed!.flags)).toEqual(['RUNNING', 'EXIT', 'FAST']);
    // with two listing votes, a flag needs both
    const two = computeConsensus([votes[0]!, votes[1]!], pinned).relays[0]!;
    expect(relayFlagNames(two.flags)).toEqual(['RUNNING', 'FAST']);
  });

  it('weights each relay by the low median of the measured bandwidths', () => {
    const r = relays[0]!;
    const three = auths.map((a, i) => vote(p, a, auths, [entry(r, ALL_FLAGS, [500, 100, 9000][i]!)]));
    expect(computeConsensus(three, pinned).relays[0]!.weight).toBe(500);
    expect(computeConsensus([three[0]!, three[2]!], pinned).relays[0]!.weight).toBe(500);
    expect(computeConsensus([three[1]!, three[2]!], pinned).relays[0]!.weight).toBe(100);
  });

  it('picks the descriptor most votes list; ties go to the latest published, then the smallest digest', () => {
    const older = checkedRelay(p, 0, { published: NOW - 2 * HOUR });
    const newer = checkedRelay(p, 0, { published: NOW - HOUR });
    const pick = (a: typeof older, b: typeof older, c?: typeof older) => {
      const vs = [vote(p, auths[0]!, auths, [entry(a)]), vote(p, auths[1]!, auths, [entry(b)])];
      if (c) vs.push(vote(p, auths[2]!, auths, [entry(c)]));
      return toHex(computeConsensus(vs, pinned).relays[0]!.descriptorDigest);
    };
    expect(pick(older, older, newer)).toBe(toHex(older.digest));
    expect(pick(older, newer)).toBe(toHex(newer.digest));
    expect(pick(newer, older)).toBe(toHex(newer.digest));
    const sameTimeA = checkedRelay(p, 0, { bandwidth: 1 });
    const sameTimeB = checkedRelay(p, 0, { bandwidth: 2 });
    const smaller = Buffer.compare(sameTimeA.digest, sameTimeB.digest) < 0 ? sameTimeA : sameTimeB;
    expect(pick(sameTimeA, sameTimeB)).toBe(toHex(smaller.digest));
    expect(pick(sameTimeB, sameTimeA)).toBe(toHex(smaller.digest));
    // the consensus entry copies the chosen descriptor's fields
    const c = computeConsensus([vote(p, auths[0]!, auths, [entry(newer)]), vote(p, auths[1]!, auths, [entry(newer)])], pinned);
    expect(c.relays[0]).toMatchObject({ nickname: newer.nickname, address: newer.address, published: newer.published, exitPolicy: newer.exitPolicy });
    expect(toHex(c.relays[0]!.onionKey)).toBe(toHex(newer.onionKey));
    expect(toHex(c.relays[0]!.linkKey)).toBe(toHex(newer.linkKey));
  });

  it('accepts 2 of 3 votes and refuses 1 of 3 (NOT_ENOUGH_VOTES)', () => {
    const votes = auths.map((a) => vote(p, a, auths, relays.map((r) => entry(r))));
    expect(computeConsensus(votes.slice(0, 2), pinned).relays).toHaveLength(relays.length);
    expect(codeOf(() => computeConsensus(votes.slice(0, 1), pinned))).toBe('NOT_ENOUGH_VOTES');
    expect(codeOf(() => computeConsensus([], pinned))).toBe('NOT_ENOUGH_VOTES');
    expect(() => computeConsensus(votes.slice(0, 1), pinned)).toThrowError('have votes from 1 of 3 pinned authorities; 2 needed');
  });

  it('refuses votes for different periods, two votes by one authority, and unpinned authorities', () => {
    const other = { ...WINDOW, validUntil: WINDOW.validUntil + 1 };
    const a = vote(p, auths[0]!, auths, [entry(relays[0]!)]);
    const b = vote(p, auths[1]!, auths, [entry(relays[0]!)], other);
    expect(codeOf(() => computeConsensus([a, b], pinned))).toBe('VOTES_DISAGREE');
    const a2 = vote(p, auths[0]!, auths, [entry(relays[1]!)]);
    expect(codeOf(() => computeConsensus([a, a2, b], pinned))).toBe('VOTE_DUPLICATE');
    expect(codeOf(() => computeConsensus([a, b], pinned.slice(1)))).toBe('VOTE_UNKNOWN_AUTHORITY');
  });
});

describe.each(providers.map((p) => [p.name, p] as const))('%s: assignFlags', (_name, p: CryptoProvider) => {
  const exit = makeRelay(p, 0).descriptor; // accepts 127.0.0.1
  const nonExit = makeRelay(p, 1).descriptor; // empty policy
  const slow = makeRelay(p, 2, { bandwidth: 10 }).descriptor;

  it('assigns nothing to an unreachable relay', () => {
    expect(assignFlags(exit, { reachable: false, uptimeMs: 10 * DAY }, TESTNET_FLAG_THRESHOLDS)).toBe(0);
  });

  it('Running; Fast by bandwidth; Stable and HSDir by uptime; Guard = Fast + Stable; Exit by policy', () => {
    expect(relayFlagNames(assignFlags(exit, { reachable: true, uptimeMs: 2 * DAY }))).toEqual(['RUNNING', 'STABLE', 'GUARD', 'EXIT', 'HSDIR', 'FAST']);
    expect(relayFlagNames(assignFlags(nonExit, { reachable: true, uptimeMs: 0 }))).toEqual(['RUNNING', 'FAST']);
    expect(relayFlagNames(assignFlags(slow, { reachable: true, uptimeMs: 2 * DAY }))).toEqual(['RUNNING', 'STABLE', 'EXIT', 'HSDIR']);
    expect(relayFlagNames(assignFlags(slow, { reachable: true, uptimeMs: 0 }, TESTNET_FLAG_THRESHOLDS))).toEqual(['RUNNING', 'STABLE', 'GUARD', 'EXIT', 'HSDIR', 'FAST']);
    expect(DEFAULT_FLAG_THRESHOLDS.stableMinUptimeMs).toBe(DAY);
    const rejectAll = signDescriptor(p, seed(1, 5), relayFields(p, 5, { exitPolicy: parseExitPolicy('reject *:*, accept *:*') }));
    expect(assignFlags(rejectAll, { reachable: true, uptimeMs: 0 }) & RelayFlag.EXIT).toBe(0);
  });
});
