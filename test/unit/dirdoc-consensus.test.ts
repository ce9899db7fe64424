/**
 * The consensus through both crypto providers: codec round trip, signing and merging
 * signatures, and the client-side check — 3 of 3 and 2 of 3 accepted; under-signed,
 * forged, duplicated, unknown-key-only signatures refused with clear messages; expired and
 * not-yet-valid refused; the window boundaries accepted.
 */
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { toHex } from '../../src/bytes.js';
import { isChiveError } from '../../src/errors.js';
import { MAX_CONSENSUS_LEN, SIG_DOMAIN_CONSENSUS } from '../../src/wire/constants.js';
import {
  type Consensus, addSignatures, checkConsensus, computeConsensus, consensusDigest, decodeConsensus, encodeConsensus,
  encodeConsensusBody, isConsensusFresh, mergeConsensusSignatures, signConsensus, signaturesNeeded,
} from '../../src/dirdoc/index.js';
import { HOUR, NOW, WINDOW, checkedRelay, entry, makeAuthorities, seed, vote } from './dirdoc-fixtures.js';

const providers = allCryptoProviders();

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isChiveError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a ChiveError');
}

describe.each(providers.map((p) => [p.name, p] as const))('%s: consensus', (_name, p: CryptoProvider) => {
  const auths = makeAuthorities(p, 3);
  const pinned = auths.map((a) => a.identity);
  const relays = [0, 1, 2, 3].map((i) => checkedRelay(p, i, { family: i < 2 ? [p.ed25519PublicKey(seed(1, 1 - i))] : [] }));
  const votes = auths.map((a) => vote(p, a, auths, relays.map((r) => entry(r))));
  const body = computeConsensus(votes, pinned);
  const sigs = auths.map((a) => signConsensus(p, a.seed, body));
  const signed = addSignatures(p, body, sigs);
  const at = NOW + HOUR / 2;

  it('encode → decode round-trips, signatures sorted by authority', () => {
    const bytes = encodeConsensus(signed);
    const decoded = decodeConsensus(bytes);
    expect(decoded).toEqual(signed);
    expect(toHex(encodeConsensus(decoded))).toBe(toHex(bytes));
    const ids = decoded.signatures.map((s) => toHex(s.identity));
    expect(ids).toEqual([...ids].sort());
    expect(decoded.relays.map((r) => r.family.length).sort()).toEqual([0, 0, 1, 1]);
    expect(toHex(consensusDigest(p, decoded))).toBe(toHex(p.sha256(encodeConsensusBody(body))));
  });

  it('every authority computes the same body, so signatures combine in any order', () => {
    const merged1 = addSignatures(p, addSignatures(p, body, [sigs[2]!]), [sigs[0]!, sigs[1]!]);
    const merged2 = mergeConsensusSignatures(p, addSignatures(p, body, [sigs[1]!, sigs[0]!]), addSignatures(p, body, [sigs[2]!, sigs[2]!]));
    expect(toHex(encodeConsensus(merged1))).toBe(toHex(encodeConsensus(signed)));
    expect(toHex(encodeConsensus(merged2))).toBe(toHex(encodeConsensus(signed)));
    const sig = signConsensus(p, auths[0]!.seed, body).signature;
    expect(p.ed25519Verify(auths[0]!.identity, Buffer.concat([Buffer.from(SIG_DOMAIN_CONSENSUS), Buffer.from([0]), encodeConsensusBody(body)]), sig)).toBe(true);
  });

  it('refuses to add a signature that does not verify, or to merge different bodies', () => {
    const bad = { identity: auths[0]!.identity, signature: sigs[1]!.signature };
    expect(errorOf(() => addSignatures(p, body, [bad])).code).toBe('BAD_SIGNATURE');
    // two authorities holding different subsets of these (identical) votes compute the same body
    expect(toHex(encodeConsensusBody(computeConsensus(votes.slice(0, 2), pinned)))).toBe(toHex(encodeConsensusBody(body)));
    const shorter = { ...body, relays: body.relays.slice(1) };
    const shorterSigned = addSignatures(p, shorter, [signConsensus(p, auths[2]!.seed, shorter)]);
    expect(errorOf(() => mergeConsensusSignatures(p, signed, shorterSigned)).code).toBe('CONSENSUS_BODY_MISMATCH');
  });

  it('accepts 3 of 3 and 2 of 3 signatures, reporting who signed', () => {
    const c3 = checkConsensus(p, decodeConsensus(encodeConsensus(signed)), pinned, at);
    expect(c3.validSigners.map(toHex)).toEqual(pinned.map(toHex).sort());
    expect(c3.relays).toHaveLength(4);
    const two = addSignatures(p, body, [sigs[0]!, sigs[2]!]);
    expect(checkConsensus(p, two, pinned, at).validSigners).toHaveLength(2);
    expect(signaturesNeeded(3)).toBe(2);
    expect(signaturesNeeded(4)).toBe(3);
  });

  it('refuses 1 of 3 (CONSENSUS_UNDER_SIGNED) with a clear message', () => {
    const one = addSignatures(p, body, [sigs[1]!]);
    expect(errorOf(() => checkConsensus(p, one, pinned, at))).toEqual({
      code: 'CONSENSUS_UNDER_SIGNED',
      message: 'consensus has 1 valid signature of 3 pinned authorities; 2 needed',
    });
  });

  it('does not count a forged signature', () => {
    const forged = sigs[2]!.signature.slice();
    forged[10]! ^= 0x40;
    const c: Consensus = { ...body, signatures: [sigs[0]!, { identity: auths[2]!.identity, signature: forged }].sort((a, b) => Buffer.compare(a.identity, b.identity)) };
    const decoded = decodeConsensus(encodeConsensus(c));
    expect(errorOf(() => checkConsensus(p, decoded, pinned, at))).toEqual({
      code: 'CONSENSUS_UNDER_SIGNED',
      message: 'consensus has 1 valid signature of 3 pinned authorities; 2 needed (ignored: 1 invalid signature from pinned authorities)',
    });
    // a signature over another body (e.g. a replayed older consensus) is forged for this one
    const later = { ...body, validUntil: body.validUntil + 1 };
    const replayed: Consensus = { ...later, signatures: addSignatures(p, body, sigs).signatures };
    expect(errorOf(() => checkConsensus(p, replayed, pinned, at)).code).toBe('CONSENSUS_UNDER_SIGNED');
  });

  it('counts a duplicated signature once (and the decoder refuses the duplicate as non-canonical)', () => {
    const dup: Consensus = { ...body, signatures: [sigs[0]!, sigs[0]!] };
    expect(errorOf(() => checkConsensus(p, dup, pinned, at))).toEqual({
      code: 'CONSENSUS_UNDER_SIGNED',
      message: 'consensus has 1 valid signature of 3 pinned authorities; 2 needed',
    });
    const bytes = encodeConsensus(addSignatures(p, body, [sigs[0]!, sigs[1]!]));
    // overwrite the second signature entry with the first: a duplicated authority in the encoding
    bytes.set(bytes.subarray(bytes.length - 192, bytes.length - 96), bytes.length - 96);
    expect(errorOf(() => decodeConsensus(bytes)).code).toBe('DOCUMENT_NOT_CANONICAL');
  });

  it('ignores signatures from unknown keys', () => {
    const strangers = makeAuthorities(p, 6).slice(3);
    const c = addSignatures(p, body, strangers.map((s) => signConsensus(p, s.seed, body)));
    expect(errorOf(() => checkConsensus(p, decodeConsensus(encodeConsensus(c)), pinned, at))).toEqual({
      code: 'CONSENSUS_UNDER_SIGNED',
      message: 'consensus has 0 valid signatures of 3 pinned authorities; 2 needed (ignored: 3 signatures from unknown keys)',
    });
    // unknown keys next to enough pinned ones do no harm
    const mixed = addSignatures(p, c, [sigs[0]!, sigs[1]!]);
    expect(checkConsensus(p, mixed, pinned, at).validSigners).toHaveLength(2);
  });

  it('refuses a consensus before validAfter and after validUntil; the boundaries are inside', () => {
    expect(errorOf(() => checkConsensus(p, signed, pinned, WINDOW.validAfter - 1)).code).toBe('CONSENSUS_NOT_YET_VALID');
    expect(errorOf(() => checkConsensus(p, signed, pinned, WINDOW.validUntil + 1))).toEqual({
      code: 'CONSENSUS_EXPIRED',
      message: `consensus expired at ${new Date(WINDOW.validUntil).toISOString()}; now ${new Date(WINDOW.validUntil + 1).toISOString()}`,
    });
    expect(checkConsensus(p, signed, pinned, WINDOW.validAfter).relays).toHaveLength(4);
    expect(checkConsensus(p, signed, pinned, WINDOW.validUntil).relays).toHaveLength(4);
    expect(isConsensusFresh(signed, WINDOW.freshUntil - 1)).toBe(true);
    expect(isConsensusFresh(signed, WINDOW.freshUntil)).toBe(false);
  });

  it('checks signatures before times: a forged expired consensus is reported as under-signed', () => {
    const c: Consensus = { ...body, signatures: [] };
    expect(errorOf(() => checkConsensus(p, c, pinned, WINDOW.validUntil + 1)).code).toBe('CONSENSUS_UNDER_SIGNED');
  });

  it('decodeConsensus refuses oversized, truncated, trailing and unsorted input', () => {
    const bytes = encodeConsensus(signed);
    expect(errorOf(() => decodeConsensus(bytes.subarray(0, bytes.length - 1))).code).toBe('TRUNCATED');
    expect(errorOf(() => decodeConsensus(Uint8Array.from([...bytes, 0]))).code).toBe('TRAILING_BYTES');
    expect(errorOf(() => decodeConsensus(new Uint8Array(MAX_CONSENSUS_LEN + 1))).code).toBe('OVER_LENGTH');
    const v2 = bytes.slice();
    v2[0] = 9;
    expect(errorOf(() => decodeConsensus(v2)).code).toBe('DOCUMENT_UNSUPPORTED_VERSION');
    const swapped = { ...body, relays: [body.relays[1]!, body.relays[0]!, ...body.relays.slice(2)] };
    expect(errorOf(() => encodeConsensusBody(swapped)).code).toBe('INVALID_ARGUMENT');
    const e0 = encodeConsensusBody({ ...body, relays: [body.relays[0]!] }).subarray(29);
    const e1 = encodeConsensusBody({ ...body, relays: [body.relays[1]!] }).subarray(29);
    const raw = bytes.slice();
    raw.set(e1, 29);
    raw.set(e0, 29 + e1.length);
    expect(errorOf(() => decodeConsensus(raw)).code).toBe('DOCUMENT_NOT_CANONICAL');
    const badWindow = bytes.slice();
    badWindow.set(badWindow.subarray(1, 9), 9); // freshUntil = validAfter
    expect(errorOf(() => decodeConsensus(badWindow)).code).toBe('DOCUMENT_BAD_FIELD');
  });

  it('refuses an empty pinned list as a caller error', () => {
    expect(errorOf(() => checkConsensus(p, signed, [], at)).code).toBe('INVALID_ARGUMENT');
  });
});
