/**
 * Checking a vote: the only way to get a `CheckedVote`, the input of the voting algorithm.
 *
 * `checkVote` refuses, in this order: a vote from an authority that is not pinned
 * (VOTE_UNKNOWN_AUTHORITY); a bad signature (BAD_SIGNATURE); a vote past its validUntil
 * (VOTE_EXPIRED); and any embedded descriptor that `checkDescriptor` refuses at the vote's
 * validAfter with the default time window (so every authority judges a vote's descriptors
 * identically, whatever its own clock says: one bad descriptor refuses the whole vote,
 * since an honest authority never lists one).
 *
 * An authority sees the same descriptors in every vote; `knownDescriptors` (checked
 * descriptors by hex digest) lets it skip the three signature checks of a descriptor it
 * has already checked: equal digests mean identical bytes, so only the time rules at
 * validAfter are run again.
 *
 * Not the voting algorithm (voting.ts), and not the exchange of votes between authorities.
 */
import { ChiveError } from '../errors.js';
import { toHex } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { SIG_DOMAIN_VOTE } from '../wire/constants.js';
import {
  type CheckedDescriptor, checkDescriptor, checkDescriptorTimes, dangerouslyAssumeCheckedDescriptor, descriptorDigest,
} from './descriptor-check.js';
import { type TimeWindow, compareBytes, isoTime, shortKey, withContext } from './fields.js';
import { verifyWithDomain } from './signing.js';
import { type Vote, type VoteEntry, encodeVoteBody } from './vote.js';

declare const checkedVoteBrand: unique symbol;

/** A vote whose authority, signature, time and every descriptor were checked. */
export type CheckedVote = TimeWindow & {
  readonly authority: Uint8Array;
  readonly entries: readonly VoteEntry<CheckedDescriptor>[];
  readonly signature: Uint8Array;
  readonly [checkedVoteBrand]: true;
};

function isPinned(key: Uint8Array, pinned: readonly Uint8Array[]): boolean {
  return pinned.some((k) => compareBytes(k, key) === 0);
}

export interface CheckVoteOptions {
  /** Descriptors already checked, keyed by hex of their digest (see the module comment). */
  readonly knownDescriptors?: ReadonlyMap<string, CheckedDescriptor>;
}

/** Verifies a vote against the pinned authority list at time `now` (see the module comment). */
export function checkVote(
  provider: CryptoProvider, vote: Vote, pinnedAuthorities: readonly Uint8Array[], now: number, options: CheckVoteOptions = {},
): CheckedVote {
  const who = `vote by authority ${shortKey(vote.authority)}`;
  if (!isPinned(vote.authority, pinnedAuthorities)) {
    throw new ChiveError('VOTE_UNKNOWN_AUTHORITY', `${who}: not one of the ${pinnedAuthorities.length} pinned authorities`);
  }
  const body = withContext(who, () => encodeVoteBody(vote));
  if (!verifyWithDomain(provider, vote.authority, SIG_DOMAIN_VOTE, body, vote.signature)) {
    throw new ChiveError('BAD_SIGNATURE', `${who}: the signature does not verify under the authority key`);
  }
  if (now > vote.validUntil) {
    throw new ChiveError('VOTE_EXPIRED', `${who}: valid until ${isoTime(vote.validUntil)}, now ${isoTime(now)}`);
  }
  const entries = vote.entries.map((e, i) => ({
    descriptor: withContext(`${who}, entry ${i}`, () => {
      const known = options.knownDescriptors?.get(toHex(descriptorDigest(provider, e.descriptor)));
      if (!known) return checkDescriptor(provider, e.descriptor, vote.validAfter);
      checkDescriptorTimes(known, vote.validAfter);
      return known;
    }),
    flags: e.flags,
    measuredBandwidth: e.measuredBandwidth,
  }));
  return { ...vote, entries } as unknown as CheckedVote;
}

/** TESTS ONLY: treats a vote (and its descriptors) as checked without checking anything. */
export function dangerouslyAssumeCheckedVote(provider: CryptoProvider, vote: Vote): CheckedVote {
  const entries = vote.entries.map((e) => ({ ...e, descriptor: dangerouslyAssumeCheckedDescriptor(provider, e.descriptor) }));
  return { ...vote, entries } as unknown as CheckedVote;
}
