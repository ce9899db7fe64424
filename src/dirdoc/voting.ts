/**
 * The voting algorithm: the consensus body every authority computes from the same votes.
 *
 * Deterministic: the same set of votes, in any order, gives the same body, byte for byte.
 *   1. Every vote comes from a distinct pinned authority (VOTE_UNKNOWN_AUTHORITY,
 *      VOTE_DUPLICATE) and all share validAfter / freshUntil / validUntil (VOTES_DISAGREE).
 *   2. There are votes from more than half of the pinned authorities (NOT_ENOUGH_VOTES).
 *   3. A relay is listed when more than half of the votes list it.
 *   4. Its descriptor is the digest listed by the most of those votes; ties go to the
 *      latest published, then the bytewise smallest digest.
 *   5. Each flag is set when more than half of the votes listing the relay set it.
 *   6. Its weight is the low median of the measured bandwidths of the votes listing it.
 *   7. Relays are sorted by identity.
 *
 * Not the exchange of votes, the signing (consensus.ts) or any clock: the votes' own
 * window is the consensus window.
 */
import { ChiveError } from '../errors.js';
import { toHex } from '../bytes.js';
import { RelayFlag } from '../wire/constants.js';
import type { ConsensusRelay, UnsignedConsensus } from './consensus.js';
import type { CheckedDescriptor } from './descriptor-check.js';
import { compareBytes, shortKey } from './fields.js';
import type { VoteEntry } from './vote.js';
import type { CheckedVote } from './vote-check.js';
import { signaturesNeeded } from './consensus-check.js';

type Listing = VoteEntry<CheckedDescriptor>;

/** Computes the consensus body from checked votes (see the module comment). */
export function computeConsensus(votes: readonly CheckedVote[], pinnedAuthorities: readonly Uint8Array[]): UnsignedConsensus {
  const pinned = new Set(pinnedAuthorities.map(toHex));
  if (pinned.size === 0) throw new ChiveError('INVALID_ARGUMENT', 'computeConsensus: no pinned authorities');
  const seen = new Set<string>();
  for (const v of votes) {
    const key = toHex(v.authority);
    if (!pinned.has(key)) throw new ChiveError('VOTE_UNKNOWN_AUTHORITY', `vote by ${shortKey(v.authority)}: not a pinned authority`);
    if (seen.has(key)) throw new ChiveError('VOTE_DUPLICATE', `two votes by authority ${shortKey(v.authority)}; keep one per authority`);
    seen.add(key);
  }
  const needed = signaturesNeeded(pinned.size);
  if (votes.length < needed) {
    throw new ChiveError('NOT_ENOUGH_VOTES', `have votes from ${votes.length} of ${pinned.size} pinned authorities; ${needed} needed`);
  }
  const first = votes[0]!;
  for (const v of votes) {
    if (v.validAfter !== first.validAfter || v.freshUntil !== first.freshUntil || v.validUntil !== first.validUntil) {
      throw new ChiveError(
        'VOTES_DISAGREE',
        `votes disagree on the period: ${shortKey(first.authority)} votes for ${first.validAfter}/${first.freshUntil}/${first.validUntil}, ` +
          `${shortKey(v.authority)} for ${v.validAfter}/${v.freshUntil}/${v.validUntil}`,
      );
    }
  }

  const byRelay = new Map<string, Listing[]>();
  for (const v of votes) {
    for (const e of v.entries) {
      const key = toHex(e.descriptor.identity);
      const list = byRelay.get(key);
      if (list) list.push(e);
      else byRelay.set(key, [e]);
    }
  }

  const relays: ConsensusRelay[] = [];
  for (const listings of byRelay.values()) {
    if (listings.length * 2 <= votes.length) continue;
    relays.push(relayFromListings(listings));
  }
  relays.sort((a, b) => compareBytes(a.identity, b.identity));
  return { validAfter: first.validAfter, freshUntil: first.freshUntil, validUntil: first.validUntil, relays };
}

function relayFromListings(listings: readonly Listing[]): ConsensusRelay {
  const d = pickDescriptor(listings);
  let flags = 0;
  for (const bit of Object.values(RelayFlag)) {
    const withBit = listings.filter((e) => (e.flags & bit) !== 0).length;
    if (withBit * 2 > listings.length) flags |= bit;
  }
  const bandwidths = listings.map((e) => e.measuredBandwidth).sort((a, b) => a - b);
  const weight = bandwidths[Math.floor((bandwidths.length - 1) / 2)]!;
  return {
    identity: d.identity,
    descriptorDigest: d.digest,
    published: d.published,
    flags,
    weight,
    onionKey: d.onionKey,
    linkKey: d.linkKey,
    nickname: d.nickname,
    address: d.address,
    exitPolicy: d.exitPolicy,
    family: d.family,
  };
}

/** The descriptor listed most often; ties: latest published, then smallest digest. */
function pickDescriptor(listings: readonly Listing[]): CheckedDescriptor {
  const counts = new Map<string, { descriptor: CheckedDescriptor; count: number }>();
  for (const e of listings) {
    const key = toHex(e.descriptor.digest);
    const c = counts.get(key);
    if (c) c.count++;
    else counts.set(key, { descriptor: e.descriptor, count: 1 });
  }
  const ranked = [...counts.values()].sort(
    (a, b) =>
      b.count - a.count ||
      b.descriptor.published - a.descriptor.published ||
      compareBytes(a.descriptor.digest, b.descriptor.digest),
  );
  return ranked[0]!.descriptor;
}
