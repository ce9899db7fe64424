/**
 * Votes: one authority's view of the network for one consensus period.
 *
 * Layout (docs/PROTOCOL.md §6.3), big-endian, canonical:
 *   version u8 ‖ authority 32 ‖ validAfter u64 ‖ freshUntil u64 ‖ validUntil u64 ‖
 *   entry count u32 ‖ entries ‖ signature 64
 *   entry = flags u8 ‖ measuredBandwidth u32 ‖ descriptor u16-len (the whole encoded descriptor)
 * Entries are sorted by relay identity, one per relay, each with the Running flag (a vote
 * lists exactly the relays its authority found running). Carrying whole descriptors lets
 * any authority compute the consensus from the votes alone; the relay identity and the
 * descriptor digest are derived from the descriptor, never sent twice. The signature by
 * the authority covers everything before it, in domain SIG_DOMAIN_VOTE.
 *
 * This module encodes, decodes and signs. A decoded `Vote` is unverified: vote-check.ts
 * checks it. Not the voting algorithm (voting.ts).
 */
import { ChiveError } from '../errors.js';
import { ByteReader, ByteWriter } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import {
  ALL_RELAY_FLAGS, ED25519_KEY_LEN, ED25519_SIG_LEN, MAX_DESCRIPTOR_LEN, MAX_VOTE_LEN, RelayFlag, SIG_DOMAIN_VOTE,
  VOTE_FORMAT_VERSION,
} from '../wire/constants.js';
import { type RelayDescriptor, decodeDescriptor, encodeDescriptor } from './descriptor.js';
import { type CheckedDescriptor, checkDescriptorTimes } from './descriptor-check.js';
import {
  type Fail, type TimeWindow, checkKey, checkTimeWindow, checkUint, compareBytes, failLocal, failPeer,
  readFormatVersion, readTimeWindow, shortKey, withContext, writeTimeWindow,
} from './fields.js';
import { signWithDomain, withSignature } from './signing.js';

export interface VoteEntry<D extends RelayDescriptor = RelayDescriptor> {
  readonly descriptor: D;
  /** RelayFlag bits the authority assigns; RUNNING is always set. */
  readonly flags: number;
  /** Bandwidth the authority credits the relay with, bytes per second (u32). */
  readonly measuredBandwidth: number;
}

export interface Vote extends TimeWindow {
  /** Ed25519 identity of the voting authority. */
  readonly authority: Uint8Array;
  /** Sorted by descriptor identity, one per relay. */
  readonly entries: readonly VoteEntry[];
  /** Ed25519 signature by `authority` over the body (SIG_DOMAIN_VOTE). */
  readonly signature: Uint8Array;
}

/** What an authority supplies to `signVote`: entries in any order, descriptors already checked. */
export interface VoteFields extends TimeWindow {
  readonly entries: readonly VoteEntry<CheckedDescriptor>[];
}

export function checkVoteEntry(entry: VoteEntry, index: number, fail: Fail): void {
  checkUint(entry.flags, 0xff, `entry ${index} flags`, fail);
  if ((entry.flags & ~ALL_RELAY_FLAGS) !== 0) fail('field', `entry ${index} has undefined flag bits 0x${entry.flags.toString(16)}`);
  if ((entry.flags & RelayFlag.RUNNING) === 0) fail('field', `entry ${index} lacks the Running flag (a vote lists running relays only)`);
  checkUint(entry.measuredBandwidth, 0xffff_ffff, `entry ${index} measured bandwidth`, fail);
}

function checkVoteShape(v: Omit<Vote, 'signature'>, fail: Fail): void {
  checkKey(v.authority, ED25519_KEY_LEN, 'authority', fail);
  checkTimeWindow(v, fail);
  v.entries.forEach((e, i) => {
    checkVoteEntry(e, i, fail);
    if (i > 0 && compareBytes(v.entries[i - 1]!.descriptor.identity, e.descriptor.identity) >= 0) {
      fail('canonical', 'entries are not sorted by relay identity and unique');
    }
  });
}

/** The signed body: the encoding without the trailing signature. Refuses bad fields (INVALID_ARGUMENT). */
export function encodeVoteBody(v: Omit<Vote, 'signature'>): Uint8Array {
  checkVoteShape(v, failLocal('vote'));
  const w = new ByteWriter(MAX_VOTE_LEN - ED25519_SIG_LEN, 4096, 'vote');
  w.u8(VOTE_FORMAT_VERSION).bytes(v.authority);
  writeTimeWindow(w, v);
  w.u32(v.entries.length);
  for (const e of v.entries) {
    const encoded = (e.descriptor as Partial<CheckedDescriptor>).encoded ?? encodeDescriptor(e.descriptor);
    w.u8(e.flags).u32(e.measuredBandwidth).varBytes16(encoded);
  }
  return w.finish();
}

export function encodeVote(v: Vote): Uint8Array {
  return withSignature('vote', encodeVoteBody(v), v.signature);
}

/** Decodes a vote (unverified), refusing oversized, truncated, trailing, non-canonical or bad input. */
export function decodeVote(bytes: Uint8Array): Vote {
  const fail = failPeer('vote');
  const r = ByteReader.of(bytes, MAX_VOTE_LEN, 'vote');
  readFormatVersion(r, VOTE_FORMAT_VERSION, 'vote');
  const authority = r.bytes(ED25519_KEY_LEN, 'authority', true);
  const window = readTimeWindow(r, fail);
  const count = r.u32('entry count');
  const entries: VoteEntry[] = [];
  for (let i = 0; i < count; i++) {
    const flags = r.u8('entry flags');
    const measuredBandwidth = r.u32('entry measured bandwidth');
    const raw = r.varBytes16(MAX_DESCRIPTOR_LEN, 'entry descriptor');
    const descriptor = withContext(`vote entry ${i}`, () => decodeDescriptor(raw));
    entries.push({ descriptor, flags, measuredBandwidth });
  }
  const signature = r.bytes(ED25519_SIG_LEN, 'signature', true);
  r.end();
  const vote: Vote = { authority, ...window, entries, signature };
  checkVoteShape(vote, fail);
  return vote;
}

/**
 * Signs a vote with the authority's identity seed. Sorts the entries by relay identity
 * and refuses (INVALID_ARGUMENT) two entries for one relay, a bad field, or a descriptor
 * that peers would refuse at validAfter (filter with `checkDescriptorTimes(d, validAfter)`).
 */
export function signVote(provider: CryptoProvider, authoritySeed: Uint8Array, fields: VoteFields): Vote {
  checkKey(authoritySeed, ED25519_KEY_LEN, 'authority seed', failLocal('signVote'));
  const entries = [...fields.entries].sort((a, b) => compareBytes(a.descriptor.identity, b.descriptor.identity));
  for (let i = 1; i < entries.length; i++) {
    if (compareBytes(entries[i - 1]!.descriptor.identity, entries[i]!.descriptor.identity) === 0) {
      throw new ChiveError('INVALID_ARGUMENT', `signVote: two entries for relay ${shortKey(entries[i]!.descriptor.identity)}`);
    }
  }
  for (const e of entries) {
    try {
      checkDescriptorTimes(e.descriptor, fields.validAfter);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ChiveError('INVALID_ARGUMENT', `signVote: peers would refuse this vote at validAfter: ${why}`, { cause: err });
    }
  }
  const unsigned = {
    authority: provider.ed25519PublicKey(authoritySeed),
    validAfter: fields.validAfter, freshUntil: fields.freshUntil, validUntil: fields.validUntil,
    entries,
  };
  return { ...unsigned, signature: signWithDomain(provider, authoritySeed, SIG_DOMAIN_VOTE, encodeVoteBody(unsigned)) };
}
