/**
 * What a directory authority keeps: its identity key, the descriptors it accepted (with
 * the rule that decides whether an upload may replace a listed one), its own latest vote
 * and the latest consensus it published — in memory, and on disk in its data directory:
 *
 *     <dataDir>/keys/authority.key          Ed25519 identity seed (key-files.ts, 0600)
 *     <dataDir>/descriptors/<identity>.json one accepted relay: {"descriptor": base64,
 *                                           "retiredKeys": [hex…]} (atomic, 0600)
 *     <dataDir>/state/consensus.bin         latest published consensus, signatures included
 *     <dataDir>/state/vote.bin              this authority's latest vote
 *
 * Every write is atomic (temp file, fsync, rename) and done before the caller answers,
 * so a restart loses no accepted descriptor. Loading re-checks every descriptor at the
 * current time and skips (reporting) what is stale (file deleted, as pruning would) or
 * corrupt or conflicting (file renamed to `*.rejected` for the operator to inspect).
 *
 * The replacement rule (`offer`), for an upload N of identity I when I lists L:
 *   1. N has L's digest                                  → unchanged (200, idempotent)
 *   2. N's onion or link key is one I rotated away from  → DESCRIPTOR_IDENTITY_CONFLICT
 *   3. N.published ≤ L.published, other keys             → DESCRIPTOR_IDENTITY_CONFLICT
 *      N.published ≤ L.published, same keys             → DESCRIPTOR_SUPERSEDED
 *   4. N.published > L.published                         → updated; L's keys that N no
 *      longer has are retired for I (the last MAX_RETIRED_KEYS kept)
 * and for any upload: its onion or link key listed for another identity →
 * DESCRIPTOR_KEY_CONFLICT. Keys may thus rotate only forward, with a newer published time:
 * two machines sharing one identity key cannot take turns.
 *
 * Not here: checking signatures and times of an upload (checkDescriptor, before `offer`),
 * reachability, voting.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ChiveError } from '../src/errors.js';
import { fromHex, toHex } from '../src/bytes.js';
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import {
  type CheckedConsensus, type CheckedDescriptor, type CheckedVote, checkConsensus, checkDescriptor, checkDescriptorTimes,
  checkVote, decodeConsensus, decodeDescriptor, decodeVote,
} from '../src/dirdoc/index.js';
import { ensureDataDir, loadOrCreateKeyFile, writeFileAtomic } from '../src/io/key-files.js';
import { MAX_CONSENSUS_LEN, MAX_DESCRIPTOR_LEN, MAX_VOTE_LEN } from '../src/wire/constants.js';

export const AUTHORITY_KEY_KIND = 'authority-identity';
export const MAX_RETIRED_KEYS = 32;
const MAX_RELAY_FILE_LEN = 4 * MAX_DESCRIPTOR_LEN + 8 * MAX_RETIRED_KEYS * 70;

export type OfferResult = 'accepted' | 'updated' | 'unchanged';

export interface ListedRelay {
  readonly descriptor: CheckedDescriptor;
  /** Hex keys (onion or link) this identity rotated away from; never accepted again. */
  readonly retiredKeys: readonly string[];
}

/** Loads (or creates) the authority's Ed25519 identity seed from `<dataDir>/keys/authority.key`. */
export function loadAuthoritySeed(dataDir: string, rng: Rng): Uint8Array {
  ensureDataDir(dataDir);
  return loadOrCreateKeyFile(join(dataDir, 'keys', 'authority.key'), AUTHORITY_KEY_KIND, 32, () => rng(32));
}

const keysOf = (d: CheckedDescriptor): string[] => [toHex(d.onionKey), toHex(d.linkKey)];

export class AuthorityStore {
  private readonly relays = new Map<string, ListedRelay>();
  /** `onion:<hex>` / `link:<hex>` → identity hex of the relay listing that key. */
  private readonly keyOwners = new Map<string, string>();
  private readonly descriptorDir: string;
  private readonly stateDir: string;

  constructor(private readonly provider: CryptoProvider, readonly dataDir: string) {
    ensureDataDir(dataDir);
    this.descriptorDir = join(dataDir, 'descriptors');
    this.stateDir = join(dataDir, 'state');
    mkdirSync(this.descriptorDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
  }

  /** Loads every saved relay that still passes checkDescriptor at `now`; returns what was skipped, and why. */
  loadRelays(now: number): string[] {
    const skipped: string[] = [];
    for (const name of readdirSync(this.descriptorDir).filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).sort()) {
      const path = join(this.descriptorDir, name);
      try {
        if (statSync(path).size > MAX_RELAY_FILE_LEN) throw new ChiveError('BAD_VALUE', 'file too large');
        const json = JSON.parse(readFileSync(path, 'utf8')) as { descriptor?: unknown; retiredKeys?: unknown };
        if (typeof json.descriptor !== 'string') throw new ChiveError('BAD_VALUE', 'no descriptor');
        const bytes = new Uint8Array(Buffer.from(json.descriptor, 'base64'));
        const descriptor = checkDescriptor(this.provider, decodeDescriptor(bytes), now);
        if (`${toHex(descriptor.identity)}.json` !== name) throw new ChiveError('BAD_VALUE', 'file name does not match the identity');
        const retired = Array.isArray(json.retiredKeys) ? json.retiredKeys.filter((k): k is string => typeof k === 'string' && /^[0-9a-f]{64}$/.test(k)) : [];
        const owner = keysOf(descriptor).map((k, i) => this.keyOwners.get(`${i === 0 ? 'onion' : 'link'}:${k}`)).find(Boolean);
        if (owner) throw new ChiveError('DESCRIPTOR_KEY_CONFLICT', `shares a key with relay ${owner}`);
        this.install({ descriptor, retiredKeys: retired.slice(-MAX_RETIRED_KEYS) });
      } catch (e) {
        skipped.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
        const expired = e instanceof ChiveError && (e.code === 'DESCRIPTOR_STALE' || e.code === 'CERT_EXPIRED');
        if (expired) rmSync(path, { force: true });
        else renameSync(path, `${path}.rejected`);
      }
    }
    return skipped;
  }

  /** Applies the replacement rule (module comment) to a checked upload; persists it before returning. */
  offer(descriptor: CheckedDescriptor): OfferResult {
    const id = toHex(descriptor.identity);
    for (const [kind, key] of [['onion', descriptor.onionKey], ['link', descriptor.linkKey]] as const) {
      const owner = this.keyOwners.get(`${kind}:${toHex(key)}`);
      if (owner !== undefined && owner !== id) {
        throw new ChiveError('DESCRIPTOR_KEY_CONFLICT', `the ${kind} key of relay ${id.slice(0, 16)}… is already listed for relay ${owner.slice(0, 16)}…`);
      }
    }
    const listed = this.relays.get(id);
    if (!listed) {
      this.install({ descriptor, retiredKeys: [] });
      this.persist(id);
      return 'accepted';
    }
    const old = listed.descriptor;
    if (this.provider.equal(old.digest, descriptor.digest)) return 'unchanged';
    const newKeys = keysOf(descriptor);
    const sameKeys = newKeys.every((k, i) => k === keysOf(old)[i]);
    if (newKeys.some((k) => listed.retiredKeys.includes(k))) {
      throw new ChiveError(
        'DESCRIPTOR_IDENTITY_CONFLICT',
        `relay ${id.slice(0, 16)}… already rotated away from this onion or link key; is a second relay using its identity key?`,
      );
    }
    if (descriptor.published <= old.published) {
      if (!sameKeys) {
        throw new ChiveError(
          'DESCRIPTOR_IDENTITY_CONFLICT',
          `relay ${id.slice(0, 16)}… is already listed with other keys (published ${old.published}); ` +
            `a key rotation needs a newer published time than that, got ${descriptor.published}`,
        );
      }
      throw new ChiveError(
        'DESCRIPTOR_SUPERSEDED',
        `relay ${id.slice(0, 16)}… is already listed with a descriptor published ${old.published}; ` +
          `a change needs a newer published time, got ${descriptor.published}`,
      );
    }
    const retired = [...listed.retiredKeys, ...keysOf(old).filter((k) => !newKeys.includes(k) && !listed.retiredKeys.includes(k))];
    this.uninstall(id);
    this.install({ descriptor, retiredKeys: retired.slice(-MAX_RETIRED_KEYS) });
    this.persist(id);
    return 'updated';
  }

  /** Drops relays whose descriptor no longer passes the time rules at `now` (stale, cert expired); returns their hex identities. */
  prune(now: number): string[] {
    const dropped: string[] = [];
    for (const [id, relay] of this.relays) {
      try {
        checkDescriptorTimes(relay.descriptor, now);
      } catch {
        this.uninstall(id);
        rmSync(join(this.descriptorDir, `${id}.json`), { force: true });
        dropped.push(id);
      }
    }
    return dropped;
  }

  get(identityHex: string): ListedRelay | undefined {
    return this.relays.get(identityHex);
  }

  all(): ListedRelay[] {
    return [...this.relays.values()];
  }

  get size(): number {
    return this.relays.size;
  }

  /** Checked descriptors by hex digest (checkVote's knownDescriptors). */
  knownDescriptors(): Map<string, CheckedDescriptor> {
    return new Map(this.all().map((r) => [toHex(r.descriptor.digest), r.descriptor]));
  }

  saveConsensus(bytes: Uint8Array): void {
    writeFileAtomic(join(this.stateDir, 'consensus.bin'), bytes);
  }

  loadConsensus(): Uint8Array | null {
    return this.readState('consensus.bin', MAX_CONSENSUS_LEN);
  }

  saveVote(bytes: Uint8Array): void {
    writeFileAtomic(join(this.stateDir, 'vote.bin'), bytes);
  }

  loadVote(): Uint8Array | null {
    return this.readState('vote.bin', MAX_VOTE_LEN);
  }

  /** The saved consensus if it still passes checkConsensus at `now`; else null and why. */
  loadSavedConsensus(pinned: readonly Uint8Array[], now: number): { consensus: CheckedConsensus; bytes: Uint8Array } | string | null {
    const bytes = this.loadConsensus();
    if (!bytes) return null;
    try {
      return { consensus: checkConsensus(this.provider, decodeConsensus(bytes), pinned, now), bytes };
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  /** Our saved vote, if it is ours and still usable at `now`. */
  loadSavedVote(self: Uint8Array, pinned: readonly Uint8Array[], now: number): { checked: CheckedVote; bytes: Uint8Array } | null {
    const bytes = this.loadVote();
    if (!bytes) return null;
    try {
      const checked = checkVote(this.provider, decodeVote(bytes), pinned, now, { knownDescriptors: this.knownDescriptors() });
      return this.provider.equal(checked.authority, self) ? { checked, bytes } : null;
    } catch {
      return null;
    }
  }

  private readState(name: string, max: number): Uint8Array | null {
    const path = join(this.stateDir, name);
    if (!existsSync(path) || statSync(path).size > max) return null;
    return new Uint8Array(readFileSync(path));
  }

  private install(relay: ListedRelay): void {
    const id = toHex(relay.descriptor.identity);
    this.relays.set(id, relay);
    this.keyOwners.set(`onion:${toHex(relay.descriptor.onionKey)}`, id);
    this.keyOwners.set(`link:${toHex(relay.descriptor.linkKey)}`, id);
  }

  private uninstall(id: string): void {
    const relay = this.relays.get(id);
    if (!relay) return;
    this.relays.delete(id);
    this.keyOwners.delete(`onion:${toHex(relay.descriptor.onionKey)}`);
    this.keyOwners.delete(`link:${toHex(relay.descriptor.linkKey)}`);
  }

  private persist(id: string): void {
    const relay = this.relays.get(id)!;
    const json = { descriptor: Buffer.from(relay.descriptor.encoded).toString('base64'), retiredKeys: relay.retiredKeys };
    writeFileAtomic(join(this.descriptorDir, `${id}.json`), JSON.stringify(json) + '\n');
  }
}

/** Parses a hex identity from a URL path segment (64 hex digits), or null. */
export function parseIdentityHex(text: string): Uint8Array | null {
  return /^[0-9a-fA-F]{64}$/.test(text) ? fromHex(text) : null;
}
