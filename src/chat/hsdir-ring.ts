/**
 * The HSDir ring: which relays store the chat descriptor of a blinded key in a time period.
 *
 *   relay position   = SHA-256(HSDIR_NODE_DOMAIN ‖ identity ‖ period u64)
 *   replica position = SHA-256(HSDIR_STORE_DOMAIN ‖ blindedPub ‖ replica u8 ‖ period u64), replica = 1..HSDIR_REPLICAS
 *
 * The ring is the candidates (consensus relays with the HSDir flag) sorted by position
 * ascending, ties by identity. For each replica in turn, the first HSDIR_SPREAD relays at or
 * after its position (wrapping round) are taken, skipping relays an earlier replica already
 * took: up to HSDIR_REPLICAS × HSDIR_SPREAD distinct relays. This is consistent hashing:
 * one relay joining or leaving changes only the sets that contain it, and only by it.
 *
 * Deliberately not here: which relays carry the HSDir flag (the consensus), fetching or
 * storing, and retry order among the chosen relays (the client's business).
 */
import { ChiveError } from '../errors.js';
import { ByteWriter, concatBytes, toHex, utf8 } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { ED25519_KEY_LEN, HSDIR_NODE_DOMAIN, HSDIR_REPLICAS, HSDIR_SPREAD, HSDIR_STORE_DOMAIN } from '../wire/constants.js';

export interface HsdirCandidate {
  /** The relay's 32-byte Ed25519 identity. */
  identity: Uint8Array;
}

export interface HsdirRingEntry {
  identity: Uint8Array;
  /** SHA-256 ring position (32 bytes, compared as a big-endian number). */
  position: Uint8Array;
}

export interface HsdirOptions {
  /** Replicas (default HSDIR_REPLICAS; 1..255, it is a u8 on the wire of the hash). */
  replicas?: number;
  /** Relays per replica (default HSDIR_SPREAD). */
  spread?: number;
}

const NODE_DOMAIN = utf8(HSDIR_NODE_DOMAIN);
const STORE_DOMAIN = utf8(HSDIR_STORE_DOMAIN);

/** A relay's ring position in `period`. */
export function hsdirNodePosition(provider: CryptoProvider, identity: Uint8Array, period: number): Uint8Array {
  checkKey('relay identity', identity);
  return provider.sha256(concatBytes(NODE_DOMAIN, identity, u64(period)));
}

/** The ring position of `replica` (1-based) of a blinded key's descriptor in `period`. */
export function hsdirStorePosition(provider: CryptoProvider, blindedKey: Uint8Array, replica: number, period: number): Uint8Array {
  checkKey('blinded key', blindedKey);
  if (!Number.isInteger(replica) || replica < 1 || replica > 0xff) {
    throw new ChiveError('INVALID_ARGUMENT', `replica must be 1..255, not ${replica}`);
  }
  return provider.sha256(concatBytes(STORE_DOMAIN, blindedKey, Uint8Array.of(replica), u64(period)));
}

/** The ring of `period`: each distinct candidate with its position, sorted ascending (ties by identity). */
export function hsdirRing(provider: CryptoProvider, candidates: readonly HsdirCandidate[], period: number): HsdirRingEntry[] {
  const seen = new Set<string>();
  const ring: HsdirRingEntry[] = [];
  for (const { identity } of candidates) {
    checkKey('relay identity', identity);
    const id = toHex(identity);
    if (seen.has(id)) continue;
    seen.add(id);
    ring.push({ identity, position: hsdirNodePosition(provider, identity, period) });
  }
  ring.sort((a, b) => compareBytes(a.position, b.position) || compareBytes(a.identity, b.identity));
  return ring;
}

/**
 * The identities of the HSDirs for `blindedKey` in `period`, in replica order (replica 1's
 * relays first), all distinct; fewer than replicas × spread when the ring is smaller.
 */
export function hsdirsFor(
  provider: CryptoProvider,
  candidates: readonly HsdirCandidate[],
  blindedKey: Uint8Array,
  period: number,
  options: HsdirOptions = {},
): Uint8Array[] {
  const replicas = options.replicas ?? HSDIR_REPLICAS;
  const spread = options.spread ?? HSDIR_SPREAD;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 0xff) {
    throw new ChiveError('INVALID_ARGUMENT', `replicas must be 1..255, not ${replicas}`);
  }
  if (!Number.isInteger(spread) || spread < 1) throw new ChiveError('INVALID_ARGUMENT', `spread must be a positive integer, not ${spread}`);
  checkKey('blinded key', blindedKey);
  const ring = hsdirRing(provider, candidates, period);
  const picked: number[] = [];
  for (let replica = 1; replica <= replicas && picked.length < ring.length; replica++) {
    const start = firstAtOrAfter(ring, hsdirStorePosition(provider, blindedKey, replica, period));
    let taken = 0;
    for (let step = 0; step < ring.length && taken < spread; step++) {
      const index = (start + step) % ring.length;
      if (picked.includes(index)) continue;
      picked.push(index);
      taken++;
    }
  }
  return picked.map((index) => ring[index]!.identity.slice());
}

/** Index of the first entry whose position is ≥ `position` (0 if none: the ring wraps). */
function firstAtOrAfter(ring: readonly HsdirRingEntry[], position: Uint8Array): number {
  let lo = 0;
  let hi = ring.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(ring[mid]!.position, position) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo === ring.length ? 0 : lo;
}

/** Lexicographic (big-endian number) order of two byte strings. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

function u64(period: number): Uint8Array {
  if (!Number.isSafeInteger(period) || period < 0) {
    throw new ChiveError('INVALID_ARGUMENT', `time period must be a non-negative integer, not ${period}`);
  }
  return new ByteWriter(8).u64(period).finish();
}

function checkKey(what: string, key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== ED25519_KEY_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `${what} must be ${ED25519_KEY_LEN} bytes`);
  }
}
