/**
 * The directory-document vectors in test/vectors/dirdoc/ (see its README): both crypto
 * providers rebuild every descriptor, vote and consensus byte for byte from the inputs,
 * decode and check them, and recompute the consensus from the votes.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { fromHex, toHex } from '../../src/bytes.js';
import {
  addSignatures, checkConsensus, checkDescriptor, checkVote, computeConsensus, decodeConsensus, decodeDescriptor,
  decodeVote, encodeConsensus, encodeDescriptor, encodeVote, parseExitPolicy, signConsensus, signDescriptor, signVote,
} from '../../src/dirdoc/index.js';

const dir = new URL('../vectors/dirdoc/', import.meta.url);
const descriptors = JSON.parse(readFileSync(new URL('descriptors.json', dir), 'utf8'));
const consensus = JSON.parse(readFileSync(new URL('consensus.json', dir), 'utf8'));

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('%s: dirdoc vectors', (_name, p: CryptoProvider) => {
  it('rebuilds, decodes and checks each descriptor', () => {
    for (const v of descriptors.vectors) {
      const d = signDescriptor(p, fromHex(v.identitySeed), {
        ...v.fields,
        onionKey: p.x25519PublicKey(fromHex(v.onionSecret)),
        linkKey: p.x25519PublicKey(fromHex(v.linkSecret)),
        exitPolicy: parseExitPolicy(v.fields.exitPolicy),
        family: v.fields.family.map(fromHex),
      });
      expect(toHex(encodeDescriptor(d))).toBe(v.encoding);
      const checked = checkDescriptor(p, decodeDescriptor(fromHex(v.encoding)), descriptors.now);
      expect(toHex(checked.identity)).toBe(v.identity);
      expect(toHex(checked.digest)).toBe(v.digest);
    }
  });

  it('re-signs the votes, recomputes and re-signs the consensus, and accepts it', () => {
    const pinned = consensus.authorities.map(fromHex);
    const votes = consensus.votes.map((hex: string, i: number) => {
      const checked = checkVote(p, decodeVote(fromHex(hex)), pinned, consensus.now);
      expect(toHex(encodeVote(signVote(p, fromHex(consensus.authoritySeeds[i]), checked)))).toBe(hex);
      return checked;
    });
    const body = computeConsensus(votes, pinned);
    const signed = addSignatures(p, body, consensus.authoritySeeds.map((s: string) => signConsensus(p, fromHex(s), body)));
    expect(toHex(encodeConsensus(signed))).toBe(consensus.consensus);
    const checked = checkConsensus(p, decodeConsensus(fromHex(consensus.consensus)), pinned, consensus.now);
    expect(checked.relays.map((r) => ({ nickname: r.nickname, identity: toHex(r.identity), flags: r.flags, weight: r.weight, descriptorDigest: toHex(r.descriptorDigest) })))
      .toEqual(consensus.expect);
    expect(checked.validSigners).toHaveLength(3);
  });
});
