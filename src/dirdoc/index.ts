/**
 * Directory documents, the public API: relay descriptors, votes, the consensus, the
 * voting algorithm, exit policies and flags. Pure: no I/O, the clock is a `now` in ms
 * and crypto is the CryptoProvider passed in.
 *
 * Typical flows:
 *   relay      signDescriptor → encodeDescriptor → upload
 *   authority  decodeDescriptor → checkDescriptor(now) → store; assignFlags → signVote →
 *              encodeVote; decodeVote → checkVote → computeConsensus → signConsensus →
 *              addSignatures / mergeConsensusSignatures → encodeConsensus
 *   client     decodeConsensus → checkConsensus(pinned, now) → use; isConsensusFresh
 *
 * Not the authority server, HTTP, persistence, or the client's cache (they live in
 * directory/, src/io/ and client/).
 */
export { type KeyCert, type SigningKeyCert, signSigningKeyCert, verifySigningKeyCert } from './cert.js';
export {
  type RelayDescriptor, type DescriptorFields, type DescriptorSigningKey, encodeDescriptor, decodeDescriptor, signDescriptor,
  signDescriptorWithSigningKey,
} from './descriptor.js';
export {
  type CheckedDescriptor, type DescriptorTimeOptions, checkDescriptor, checkDescriptorTimes, descriptorDigest,
  dangerouslyAssumeCheckedDescriptor,
} from './descriptor-check.js';
export {
  type ExitRule, type ExitPolicy, REJECT_ALL, exitPolicyAllows, exitPolicyWitness, parseExitPolicy, formatExitPolicy,
} from './exit-policy.js';
export { type RelayAddress, type TimeWindow, parseRelayAddress, parseIpv4, formatIpv4, compareBytes } from './fields.js';
export {
  type FlagThresholds, type Reachability, DEFAULT_FLAG_THRESHOLDS, TESTNET_FLAG_THRESHOLDS, assignFlags, relayFlagNames,
} from './flags.js';
export { type Vote, type VoteEntry, type VoteFields, encodeVote, decodeVote, signVote } from './vote.js';
export { type CheckedVote, type CheckVoteOptions, checkVote, dangerouslyAssumeCheckedVote } from './vote-check.js';
export { computeConsensus } from './voting.js';
export {
  type ConsensusRelay, type UnsignedConsensus, type Consensus, type AuthoritySignature, encodeConsensus, decodeConsensus,
  encodeConsensusBody, consensusDigest, signConsensus, addSignatures, mergeConsensusSignatures,
} from './consensus.js';
export {
  type CheckedConsensus, checkConsensus, isConsensusFresh, signaturesNeeded, dangerouslyAssumeCheckedConsensus,
} from './consensus-check.js';
