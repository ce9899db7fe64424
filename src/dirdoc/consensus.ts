/**
 * The consensus: the network as the authorities agree it is for one period, with the
 * signatures of the authorities that computed it.
 *
 * Layout (docs/PROTOCOL.md §6.4), big-endian, canonical:
 *   body       = version u8 ‖ validAfter u64 ‖ freshUntil u64 ‖ validUntil u64 ‖
 *                relay count u32 ‖ relays (sorted by identity, unique)
 *   relay      = identity 32 ‖ descriptorDigest 32 ‖ published u64 ‖ flags u8 ‖ weight u32 ‖
 *                onionKey 32 ‖ linkKey 32 ‖ nickname u8-len ‖ address u8-len ‖ exit policy ‖ family
 *   signatures = count u8 ‖ (authority identity 32 ‖ signature 64)* sorted by identity, unique
 *   consensus  = body ‖ signatures
 * Each signature covers the body in domain SIG_DOMAIN_CONSENSUS, so signatures gathered
 * from several authorities over the same body combine (`addSignatures`).
 *
 * This module encodes, decodes, signs and merges. A decoded `Consensus` is unverified:
 * consensus-check.ts checks it. Not the voting algorithm (voting.ts).
 */
import { ChiveError } from '../errors.js';
import { ByteReader, ByteWriter, toHex } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import {
  ALL_RELAY_FLAGS, CONSENSUS_FORMAT_VERSION, ED25519_KEY_LEN, ED25519_SIG_LEN, MAX_CONSENSUS_LEN,
  MAX_CONSENSUS_SIGNATURES, MAX_FAMILY_SIZE, MAX_NICKNAME_LEN, MAX_RELAY_ADDRESS_LEN, SIG_DOMAIN_CONSENSUS, X25519_KEY_LEN,
} from '../wire/constants.js';
import { type ExitPolicy, checkExitPolicy, readExitPolicy, writeExitPolicy } from './exit-policy.js';
import {
  type Fail, type TimeWindow, checkIdentityList, checkKey, checkNickname, checkRelayAddress, checkTimeWindow, checkUint,
  compareBytes, failLocal, failPeer, readFormatVersion, readIdentityList, readText8, readTimeWindow, shortKey,
  writeIdentityList, writeTimeWindow,
} from './fields.js';
import { signWithDomain, verifyWithDomain } from './signing.js';

/** What a client needs of a relay to build circuits through it, without its descriptor. */
export interface ConsensusRelay {
  readonly identity: Uint8Array;
  /** SHA-256 of the descriptor the authorities agreed on. */
  readonly descriptorDigest: Uint8Array;
  /** That descriptor's published time. */
  readonly published: number;
  /** RelayFlag bits agreed by majority. */
  readonly flags: number;
  /** Path-selection weight: the low median of the authorities' measured bandwidths. */
  readonly weight: number;
  readonly onionKey: Uint8Array;
  readonly linkKey: Uint8Array;
  readonly nickname: string;
  readonly address: string;
  readonly exitPolicy: ExitPolicy;
  readonly family: readonly Uint8Array[];
}

/** A consensus body: what `computeConsensus` yields and what every authority signs. */
export interface UnsignedConsensus extends TimeWindow {
  /** Sorted by identity, unique. */
  readonly relays: readonly ConsensusRelay[];
}

export interface AuthoritySignature {
  /** Ed25519 identity of the signing authority. */
  readonly identity: Uint8Array;
  /** Its signature over the consensus body (SIG_DOMAIN_CONSENSUS). */
  readonly signature: Uint8Array;
}

export interface Consensus extends UnsignedConsensus {
  /** Sorted by authority identity, unique; unverified until checkConsensus. */
  readonly signatures: readonly AuthoritySignature[];
}

function checkRelay(r: ConsensusRelay, i: number, fail: Fail): void {
  const at = `relay ${i}`;
  checkKey(r.identity, ED25519_KEY_LEN, `${at} identity`, fail);
  checkKey(r.descriptorDigest, 32, `${at} descriptor digest`, fail);
  checkUint(r.published, Number.MAX_SAFE_INTEGER, `${at} published`, fail);
  checkUint(r.flags, 0xff, `${at} flags`, fail);
  if ((r.flags & ~ALL_RELAY_FLAGS) !== 0) fail('field', `${at} has undefined flag bits 0x${r.flags.toString(16)}`);
  checkUint(r.weight, 0xffff_ffff, `${at} weight`, fail);
  checkKey(r.onionKey, X25519_KEY_LEN, `${at} onion key`, fail);
  checkKey(r.linkKey, X25519_KEY_LEN, `${at} link key`, fail);
  checkNickname(r.nickname, fail);
  checkRelayAddress(r.address, fail);
  checkExitPolicy(r.exitPolicy, fail);
  checkIdentityList(r.family, MAX_FAMILY_SIZE, `${at} family`, fail);
  if (r.family.some((k) => compareBytes(k, r.identity) === 0)) fail('field', `${at} family lists the relay itself`);
}

/** Every field rule of a consensus body (time window, relays sorted and well formed). */
export function checkConsensusFields(c: UnsignedConsensus, fail: Fail): void {
  checkTimeWindow(c, fail);
  c.relays.forEach((r, i) => {
    checkRelay(r, i, fail);
    if (i > 0 && compareBytes(c.relays[i - 1]!.identity, r.identity) >= 0) fail('canonical', 'relays are not sorted by identity and unique');
  });
}

function checkSignatureList(sigs: readonly AuthoritySignature[], fail: Fail): void {
  if (sigs.length > MAX_CONSENSUS_SIGNATURES) fail('field', `${sigs.length} signatures; at most ${MAX_CONSENSUS_SIGNATURES}`);
  sigs.forEach((s, i) => {
    checkKey(s.identity, ED25519_KEY_LEN, `signature ${i} identity`, fail);
    checkKey(s.signature, ED25519_SIG_LEN, `signature ${i}`, fail);
    if (i > 0 && compareBytes(sigs[i - 1]!.identity, s.identity) >= 0) fail('canonical', 'signatures are not sorted by authority identity and unique');
  });
}

/** The signed body. Refuses bad fields (INVALID_ARGUMENT). */
export function encodeConsensusBody(c: UnsignedConsensus): Uint8Array {
  checkConsensusFields(c, failLocal('consensus'));
  const w = new ByteWriter(MAX_CONSENSUS_LEN, 64 * 1024, 'consensus');
  w.u8(CONSENSUS_FORMAT_VERSION);
  writeTimeWindow(w, c);
  w.u32(c.relays.length);
  for (const r of c.relays) {
    w.bytes(r.identity).bytes(r.descriptorDigest).u64(r.published).u8(r.flags).u32(r.weight);
    w.bytes(r.onionKey).bytes(r.linkKey).string8(r.nickname).string8(r.address);
    writeExitPolicy(w, r.exitPolicy);
    writeIdentityList(w, r.family);
  }
  return w.finish();
}

export function encodeConsensus(c: Consensus): Uint8Array {
  checkSignatureList(c.signatures, failLocal('consensus'));
  const body = encodeConsensusBody(c);
  const w = new ByteWriter(MAX_CONSENSUS_LEN, body.length + 1 + c.signatures.length * 96, 'consensus');
  w.bytes(body).u8(c.signatures.length);
  for (const s of c.signatures) w.bytes(s.identity).bytes(s.signature);
  return w.finish();
}

/** Decodes a consensus (unverified), refusing oversized, truncated, trailing, non-canonical or bad input. */
export function decodeConsensus(bytes: Uint8Array): Consensus {
  const fail = failPeer('consensus');
  const r = ByteReader.of(bytes, MAX_CONSENSUS_LEN, 'consensus');
  readFormatVersion(r, CONSENSUS_FORMAT_VERSION, 'consensus');
  const window = readTimeWindow(r, fail);
  const count = r.u32('relay count');
  const relays: ConsensusRelay[] = [];
  for (let i = 0; i < count; i++) {
    relays.push({
      identity: r.bytes(ED25519_KEY_LEN, 'relay identity', true),
      descriptorDigest: r.bytes(32, 'descriptor digest', true),
      published: r.u64('published'),
      flags: r.u8('flags'),
      weight: r.u32('weight'),
      onionKey: r.bytes(X25519_KEY_LEN, 'onion key', true),
      linkKey: r.bytes(X25519_KEY_LEN, 'link key', true),
      nickname: readText8(r, MAX_NICKNAME_LEN, 'nickname', fail),
      address: readText8(r, MAX_RELAY_ADDRESS_LEN, 'address', fail),
      exitPolicy: readExitPolicy(r, fail),
      family: readIdentityList(r, MAX_FAMILY_SIZE, 'family', fail),
    });
  }
  const sigCount = r.u8('signature count');
  if (sigCount > MAX_CONSENSUS_SIGNATURES) fail('field', `${sigCount} signatures; at most ${MAX_CONSENSUS_SIGNATURES}`);
  const signatures: AuthoritySignature[] = [];
  for (let i = 0; i < sigCount; i++) {
    signatures.push({ identity: r.bytes(ED25519_KEY_LEN, 'signer', true), signature: r.bytes(ED25519_SIG_LEN, 'signature', true) });
  }
  r.end();
  const consensus: Consensus = { ...window, relays, signatures };
  checkConsensusFields(consensus, fail);
  checkSignatureList(signatures, fail);
  return consensus;
}

/** SHA-256 of the consensus body: names the consensus whatever signatures it carries. */
export function consensusDigest(provider: CryptoProvider, c: UnsignedConsensus): Uint8Array {
  return provider.sha256(encodeConsensusBody(c));
}

/** This authority's signature over the body of `c`. */
export function signConsensus(provider: CryptoProvider, authoritySeed: Uint8Array, c: UnsignedConsensus): AuthoritySignature {
  checkKey(authoritySeed, ED25519_KEY_LEN, 'authority seed', failLocal('signConsensus'));
  return {
    identity: provider.ed25519PublicKey(authoritySeed),
    signature: signWithDomain(provider, authoritySeed, SIG_DOMAIN_CONSENSUS, encodeConsensusBody(c)),
  };
}

/**
 * `c` with `signatures` added: every signature (those already on `c` too) must verify
 * over this body, else BAD_SIGNATURE naming the signer; one signature per authority
 * (of two valid ones by the same key the bytewise smaller is kept, so merging is
 * order-independent); sorted by authority identity.
 */
export function addSignatures(
  provider: CryptoProvider, c: UnsignedConsensus | Consensus, signatures: readonly AuthoritySignature[],
): Consensus {
  const body = encodeConsensusBody(c);
  const existing = 'signatures' in c ? c.signatures : [];
  const byKey = new Map<string, AuthoritySignature>();
  for (const s of [...existing, ...signatures]) {
    if (!verifyWithDomain(provider, s.identity, SIG_DOMAIN_CONSENSUS, body, s.signature)) {
      throw new ChiveError('BAD_SIGNATURE', `signature by ${shortKey(s.identity)} does not verify over this consensus body`);
    }
    const key = toHex(s.identity);
    const prev = byKey.get(key);
    if (!prev || compareBytes(s.signature, prev.signature) < 0) byKey.set(key, { identity: s.identity.slice(), signature: s.signature.slice() });
  }
  const merged = [...byKey.values()].sort((a, b) => compareBytes(a.identity, b.identity));
  checkSignatureList(merged, failLocal('addSignatures'));
  const { validAfter, freshUntil, validUntil, relays } = c;
  return { validAfter, freshUntil, validUntil, relays, signatures: merged };
}

/** The signatures of `a` and `b` combined; their bodies must be identical (CONSENSUS_BODY_MISMATCH). */
export function mergeConsensusSignatures(provider: CryptoProvider, a: Consensus, b: Consensus): Consensus {
  const da = consensusDigest(provider, a);
  const db = consensusDigest(provider, b);
  if (!provider.equal(da, db)) {
    throw new ChiveError('CONSENSUS_BODY_MISMATCH', `cannot merge signatures of different consensus bodies (${toHex(da).slice(0, 16)}… vs ${toHex(db).slice(0, 16)}…)`);
  }
  return addSignatures(provider, a, b.signatures);
}
