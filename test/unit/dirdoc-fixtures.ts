/**
 * Fixtures for the directory-document tests: deterministic keys, relays, votes and
 * authorities at a fixed clock. Test support only; not a test file itself.
 */
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { RelayFlag } from '../../src/wire/constants.js';
import {
  type CheckedDescriptor, type CheckedVote, type DescriptorFields, type RelayDescriptor, type VoteEntry,
  checkDescriptor, checkVote, parseExitPolicy, signDescriptor, signVote,
} from '../../src/dirdoc/index.js';

export const NOW = 1_750_000_000_000;
export const HOUR = 60 * 60 * 1000;
export const DAY = 24 * HOUR;
export const WINDOW = { validAfter: NOW, freshUntil: NOW + HOUR, validUntil: NOW + 3 * HOUR };

/** A deterministic 32-byte seed: `tag` then the index, repeated. */
export function seed(tag: number, index = 0): Uint8Array {
  const s = new Uint8Array(32);
  for (let i = 0; i < 32; i++) s[i] = (tag * 31 + index * 7 + i * 13) & 0xff;
  s[0] = tag;
  s[1] = index & 0xff;
  s[2] = index >> 8;
  return s;
}

export interface TestRelay {
  readonly seed: Uint8Array;
  readonly identity: Uint8Array;
  readonly descriptor: RelayDescriptor;
}

export function relayFields(provider: CryptoProvider, index: number, overrides: Partial<DescriptorFields> = {}): DescriptorFields {
  return {
    published: NOW - HOUR,
    onionKey: provider.x25519PublicKey(seed(2, index)),
    onionKeyExpires: NOW + 30 * DAY,
    linkKey: provider.x25519PublicKey(seed(3, index)),
    linkKeyExpires: NOW + 30 * DAY,
    nickname: `relay${index}`,
    address: `ws://127.0.0.1:${9000 + index}`,
    bandwidth: 1_000_000 + index,
    exitPolicy: index % 2 === 0 ? parseExitPolicy('accept 127.0.0.1/32:1-65535, reject *:*') : [],
    family: [],
    contact: `operator${index}@example.org`,
    softwareVersion: 'chive 0.1.0',
    ...overrides,
  };
}

export function makeRelay(provider: CryptoProvider, index: number, overrides: Partial<DescriptorFields> = {}): TestRelay {
  const s = seed(1, index);
  const descriptor = signDescriptor(provider, s, relayFields(provider, index, overrides));
  return { seed: s, identity: descriptor.identity, descriptor };
}

export function checkedRelay(provider: CryptoProvider, index: number, overrides: Partial<DescriptorFields> = {}): CheckedDescriptor {
  return checkDescriptor(provider, makeRelay(provider, index, overrides).descriptor, NOW);
}

export interface TestAuthority {
  readonly seed: Uint8Array;
  readonly identity: Uint8Array;
}

export function makeAuthorities(provider: CryptoProvider, n: number): TestAuthority[] {
  return Array.from({ length: n }, (_, i) => {
    const s = seed(9, i);
    return { seed: s, identity: provider.ed25519PublicKey(s) };
  });
}

export const ALL_FLAGS =
  RelayFlag.RUNNING | RelayFlag.FAST | RelayFlag.STABLE | RelayFlag.GUARD | RelayFlag.HSDIR;

export function entry(descriptor: CheckedDescriptor, flags = ALL_FLAGS, measuredBandwidth = descriptor.bandwidth): VoteEntry<CheckedDescriptor> {
  return { descriptor, flags, measuredBandwidth };
}

/** A signed and checked vote by `authority` over `entries`. */
export function vote(
  provider: CryptoProvider, authority: TestAuthority, authorities: readonly TestAuthority[],
  entries: readonly VoteEntry<CheckedDescriptor>[], window = WINDOW,
): CheckedVote {
  const v = signVote(provider, authority.seed, { ...window, entries });
  return checkVote(provider, v, authorities.map((a) => a.identity), NOW);
}

/** Fisher–Yates with a seeded LCG, so a failing shuffle is reproducible. */
export function shuffled<T>(items: readonly T[], seedValue: number): T[] {
  const out = [...items];
  let x = seedValue >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
