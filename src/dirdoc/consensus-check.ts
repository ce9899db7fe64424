/**
 * Checking a consensus on the client side: the only way to get a `CheckedConsensus`.
 *
 * `checkConsensus` counts the signatures that verify over the body and come from
 * distinct pinned authorities (a duplicated signature counts once, an unknown key is
 * ignored, a forged one does not count) and requires more than half of the pinned
 * authorities (CONSENSUS_UNDER_SIGNED); then refuses now < validAfter
 * (CONSENSUS_NOT_YET_VALID) and now > validUntil (CONSENSUS_EXPIRED). Signatures come
 * first: the times of an unauthenticated document mean nothing.
 *
 * Not the fetching, caching or refetch scheduling (client/); `isConsensusFresh` only
 * says whether freshUntil has passed.
 */
import { ChiveError } from '../errors.js';
import { toHex } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { SIG_DOMAIN_CONSENSUS } from '../wire/constants.js';
import { type Consensus, checkConsensusFields, encodeConsensusBody } from './consensus.js';
import { type TimeWindow, failPeer, isoTime } from './fields.js';
import { domainMessage } from './signing.js';

declare const checkedConsensusBrand: unique symbol;

/** A consensus with enough valid pinned signatures, checked inside its time window. */
export type CheckedConsensus = Consensus & {
  /** The pinned authorities whose valid signatures were counted, sorted. */
  readonly validSigners: readonly Uint8Array[];
  readonly [checkedConsensusBrand]: true;
};

/** Signatures needed from `pinned` distinct authorities: more than half. */
export function signaturesNeeded(pinned: number): number {
  return Math.floor(pinned / 2) + 1;
}

/** Verifies signatures and time window (see the module comment). */
export function checkConsensus(
  provider: CryptoProvider, consensus: Consensus, pinnedAuthorities: readonly Uint8Array[], now: number,
): CheckedConsensus {
  const pinned = new Map(pinnedAuthorities.map((k) => [toHex(k), k] as const));
  if (pinned.size === 0) throw new ChiveError('INVALID_ARGUMENT', 'checkConsensus: no pinned authorities');
  checkConsensusFields(consensus, failPeer('consensus'));
  const body = encodeConsensusBody(consensus);
  const message = domainMessage(SIG_DOMAIN_CONSENSUS, body);
  const valid = new Map<string, Uint8Array>();
  let unknown = 0;
  let invalid = 0;
  for (const s of consensus.signatures) {
    const key = toHex(s.identity);
    const authority = pinned.get(key);
    if (!authority) {
      unknown++;
      continue;
    }
    if (valid.has(key)) continue;
    if (provider.ed25519Verify(authority, message, s.signature)) valid.set(key, authority);
    else invalid++;
  }
  const needed = signaturesNeeded(pinned.size);
  if (valid.size < needed) {
    const ignored = [
      invalid > 0 ? `${invalid} invalid signature${invalid === 1 ? '' : 's'} from pinned authorities` : '',
      unknown > 0 ? `${unknown} signature${unknown === 1 ? '' : 's'} from unknown keys` : '',
    ].filter(Boolean).join(', ');
    throw new ChiveError(
      'CONSENSUS_UNDER_SIGNED',
      `consensus has ${valid.size} valid signature${valid.size === 1 ? '' : 's'} of ${pinned.size} pinned authorities; ${needed} needed` +
        (ignored ? ` (ignored: ${ignored})` : ''),
    );
  }
  if (now < consensus.validAfter) {
    throw new ChiveError('CONSENSUS_NOT_YET_VALID', `consensus is valid only after ${isoTime(consensus.validAfter)}; now ${isoTime(now)}`);
  }
  if (now > consensus.validUntil) {
    throw new ChiveError('CONSENSUS_EXPIRED', `consensus expired at ${isoTime(consensus.validUntil)}; now ${isoTime(now)}`);
  }
  const validSigners = [...valid.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, k]) => k);
  return { ...consensus, validSigners } as unknown as CheckedConsensus;
}

/** True while `now` is before freshUntil (after it, a client refetches; the consensus stays usable until validUntil). */
export function isConsensusFresh(consensus: TimeWindow, now: number): boolean {
  return now < consensus.freshUntil;
}

/** TESTS ONLY: treats a consensus as checked without checking anything. */
export function dangerouslyAssumeCheckedConsensus(consensus: Consensus): CheckedConsensus {
  return { ...consensus, validSigners: [] } as unknown as CheckedConsensus;
}
