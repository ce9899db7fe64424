/**
 * Entry guards: the few relays a client uses as first hop for months, so that a relay
 * watching the entry of some circuits sees either all of them or none (path-spec §5,
 * guard-spec, simplified). Pure: clock (`now`, ms) and randomness (`UnitRng`) are passed
 * in; guard-store.ts reads and writes the state as JSON.
 *
 * The state is an ordered sample of guards, each with when it was sampled, when a
 * circuit through it first succeeded (confirmed), its run of failures and the time
 * before which it is not retried, and since when it is missing from the consensus.
 *   - order: confirmed guards first (earliest confirmed first), then the others in the
 *     order they were sampled; the first `primaryCount` (3) guards listed in the
 *     consensus (Running and Guard) are the primary guards;
 *   - `update(consensus, now, rng)`: marks each guard listed or not; drops guards sampled
 *     longer than `lifetimeMs` (60 days; testnet 1 hour) ago and guards missing for
 *     `removeUnlistedAfterMs` (20 days, as Tor); then, while fewer than `primaryCount`
 *     guards are listed, samples a new one, weighted by consensus weight among Running
 *     Guard relays (zero-weight floor as in path selection), dropping the longest-missing
 *     guard when the sample holds `maxSampled` (3 × primaryCount). A guard that leaves
 *     the consensus is thus replaced at once; if it comes back before it is dropped it
 *     takes its old place again;
 *   - `recordFailure`: the guard is skipped until now + min(retryBaseMs · 2^(failures−1),
 *     retryMaxMs) (10 min doubling up to 9 h, Tor's range for primary guards; testnet
 *     1 s up to 30 s); `recordSuccess` confirms it and clears its failures;
 *   - `firstHops(now)`: the identities to offer selectPath in order: the primary guards
 *     not backing off, then the other listed guards not backing off; when every listed
 *     guard is backing off the network was probably down (Tor reasons alike), so all of
 *     them, soonest retry first. Failures never grow the sample: a relay that makes
 *     guards fail cannot push a client onto many guards.
 *
 * Not here: files (guard-store.ts), path rules (path-selection.ts), Tor's directory
 * guards, bridges, or its filtered / usable-filtered sets.
 */
import { fromHex, toHex } from '../src/bytes.js';
import { ChiveError } from '../src/errors.js';
import type { CheckedConsensus, ConsensusRelay } from '../src/dirdoc/index.js';
import { ED25519_KEY_LEN, MAX_NICKNAME_LEN, RelayFlag } from '../src/wire/constants.js';
import { type UnitRng, chooseWeighted, effectiveWeights } from './path-selection.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface GuardOptions {
  /** Guards used for first hops (Tor: 3). */
  readonly primaryCount: number;
  /** Largest sample, primary and spare (default 3 × primaryCount). */
  readonly maxSampled?: number;
  /** A guard is dropped this long after it was sampled. */
  readonly lifetimeMs: number;
  /** A guard missing from the consensus this long is dropped. */
  readonly removeUnlistedAfterMs: number;
  /** First back-off after a failure, doubled per further failure. */
  readonly retryBaseMs: number;
  /** Longest back-off. */
  readonly retryMaxMs: number;
}

export const DEFAULT_GUARD_OPTIONS: GuardOptions = {
  primaryCount: 3, lifetimeMs: 60 * DAY, removeUnlistedAfterMs: 20 * DAY, retryBaseMs: 10 * MINUTE, retryMaxMs: 9 * HOUR,
};

/** Test networks: relays come and go within minutes. */
export const TESTNET_GUARD_OPTIONS: GuardOptions = {
  primaryCount: 3, lifetimeMs: HOUR, removeUnlistedAfterMs: 5 * MINUTE, retryBaseMs: 1000, retryMaxMs: 30_000,
};

/** One guard as saved (JSON-safe); optional fields are absent when unset. */
export interface GuardRecordJson {
  /** Ed25519 identity, 64 lower-case hex digits. */
  readonly identity: string;
  readonly nickname: string;
  readonly sampledAt: number;
  readonly confirmedAt?: number;
  /** Failures since the last success. */
  readonly failures: number;
  readonly retryAt?: number;
  readonly unlistedSince?: number;
}

export interface GuardStateJson {
  readonly version: 1;
  readonly guards: readonly GuardRecordJson[];
}

/** A guard as the state knows it. */
export interface Guard {
  readonly identity: Uint8Array;
  readonly nickname: string;
  readonly sampledAt: number;
  readonly confirmedAt: number | undefined;
  readonly failures: number;
  readonly retryAt: number | undefined;
  /** Since when it has been missing from the consensus (undefined while listed). */
  readonly unlistedSince: number | undefined;
}

export interface GuardChanges {
  readonly added: readonly Guard[];
  readonly removed: readonly { readonly guard: Guard; readonly reason: 'expired' | 'unlisted' | 'sample full' }[];
}

interface MutableGuard {
  id: string;
  nickname: string;
  sampledAt: number;
  confirmedAt: number | undefined;
  failures: number;
  retryAt: number | undefined;
  unlistedSince: number | undefined;
}

const GUARD_FLAGS = RelayFlag.RUNNING | RelayFlag.GUARD;
const MAX_SAVED_GUARDS = 1000;
const HEX_ID = new RegExp(`^[0-9a-f]{${2 * ED25519_KEY_LEN}}$`);

function invalid(message: string): never {
  throw new ChiveError('INVALID_ARGUMENT', message);
}

function checkOptions(o: GuardOptions): void {
  if (!Number.isInteger(o.primaryCount) || o.primaryCount < 1) invalid(`guard option primaryCount must be a positive integer, got ${o.primaryCount}`);
  if (o.maxSampled !== undefined && (!Number.isInteger(o.maxSampled) || o.maxSampled < o.primaryCount)) invalid('guard option maxSampled must be an integer ≥ primaryCount');
  for (const k of ['lifetimeMs', 'removeUnlistedAfterMs', 'retryBaseMs', 'retryMaxMs'] as const) {
    if (!Number.isFinite(o[k]) || o[k] < 0) invalid(`guard option ${k} must be a finite number ≥ 0, got ${o[k]}`);
  }
}

function view(g: MutableGuard): Guard {
  return {
    identity: fromHex(g.id), nickname: g.nickname, sampledAt: g.sampledAt, confirmedAt: g.confirmedAt,
    failures: g.failures, retryAt: g.retryAt, unlistedSince: g.unlistedSince,
  };
}

function isListed(relay: ConsensusRelay | undefined): relay is ConsensusRelay {
  return relay !== undefined && (relay.flags & GUARD_FLAGS) === GUARD_FLAGS;
}

/** The client's guards (see the module comment). */
export class GuardState {
  readonly options: GuardOptions;
  #guards: MutableGuard[];

  constructor(options: Partial<GuardOptions> = {}, saved?: GuardStateJson) {
    this.options = { ...DEFAULT_GUARD_OPTIONS, ...options };
    checkOptions(this.options);
    this.#guards = saved === undefined ? [] : parseGuards(saved);
  }

  /** Restores from `toJSON()` output; CLIENT_STATE_CORRUPT when it is not one. */
  static fromJSON(value: unknown, options: Partial<GuardOptions> = {}): GuardState {
    return new GuardState(options, value as GuardStateJson);
  }

  toJSON(): GuardStateJson {
    return {
      version: 1,
      guards: this.#guards.map((g) => ({
        identity: g.id, nickname: g.nickname, sampledAt: g.sampledAt, failures: g.failures,
        ...(g.confirmedAt !== undefined ? { confirmedAt: g.confirmedAt } : {}),
        ...(g.retryAt !== undefined ? { retryAt: g.retryAt } : {}),
        ...(g.unlistedSince !== undefined ? { unlistedSince: g.unlistedSince } : {}),
      })),
    };
  }

  get maxSampled(): number {
    return this.options.maxSampled ?? 3 * this.options.primaryCount;
  }

  /** Every sampled guard, in preference order. */
  get guards(): Guard[] {
    return this.#ordered().map(view);
  }

  /** The primary guards: the first primaryCount listed guards in preference order. */
  get primary(): Guard[] {
    return this.#primary().map(view);
  }

  /** Follows a new consensus: listed or not, expiry, removal, top-up (see the module comment). */
  update(consensus: CheckedConsensus, now: number, rng: UnitRng): GuardChanges {
    const byId = new Map(consensus.relays.map((r) => [toHex(r.identity), r] as const));
    const removed: { guard: Guard; reason: 'expired' | 'unlisted' | 'sample full' }[] = [];
    for (const g of this.#guards) {
      const relay = byId.get(g.id);
      if (isListed(relay)) {
        g.unlistedSince = undefined;
        g.nickname = relay.nickname;
      } else {
        g.unlistedSince ??= now;
      }
    }
    const { lifetimeMs, removeUnlistedAfterMs, primaryCount } = this.options;
    this.#guards = this.#guards.filter((g) => {
      const reason = now - g.sampledAt >= lifetimeMs ? 'expired'
        : g.unlistedSince !== undefined && now - g.unlistedSince >= removeUnlistedAfterMs ? 'unlisted' : undefined;
      if (reason !== undefined) removed.push({ guard: view(g), reason });
      return reason === undefined;
    });
    const added: Guard[] = [];
    const eligible = consensus.relays.filter((r) => (r.flags & GUARD_FLAGS) === GUARD_FLAGS);
    const weights = effectiveWeights(consensus.relays.filter((r) => (r.flags & RelayFlag.RUNNING) !== 0));
    while (this.#guards.filter((g) => g.unlistedSince === undefined).length < primaryCount) {
      const sampled = new Set(this.#guards.map((g) => g.id));
      const relay = chooseWeighted(eligible.filter((r) => !sampled.has(toHex(r.identity))), (r) => weights.get(r)!, rng);
      if (relay === undefined) break;
      if (this.#guards.length >= this.maxSampled) {
        const missing = this.#guards.filter((g) => g.unlistedSince !== undefined).sort((a, b) => a.unlistedSince! - b.unlistedSince!)[0];
        if (missing === undefined) break;
        this.#guards.splice(this.#guards.indexOf(missing), 1);
        removed.push({ guard: view(missing), reason: 'sample full' });
      }
      const g: MutableGuard = {
        id: toHex(relay.identity), nickname: relay.nickname, sampledAt: now, confirmedAt: undefined,
        failures: 0, retryAt: undefined, unlistedSince: undefined,
      };
      this.#guards.push(g);
      added.push(view(g));
    }
    return { added, removed };
  }

  /** Identities to offer as first hop, in order (see the module comment); empty when no guard is listed. */
  firstHops(now: number): Uint8Array[] {
    const listed = this.#ordered().filter((g) => g.unlistedSince === undefined);
    const ready = (g: MutableGuard): boolean => g.retryAt === undefined || g.retryAt <= now;
    const primary = listed.slice(0, this.options.primaryCount);
    let offer = [...primary.filter(ready), ...listed.slice(this.options.primaryCount).filter(ready)];
    if (offer.length === 0) offer = [...listed].sort((a, b) => (a.retryAt ?? 0) - (b.retryAt ?? 0));
    return offer.map((g) => fromHex(g.id));
  }

  /** Is this guard listed and not backing off at `now`? */
  isUsable(identity: Uint8Array, now: number): boolean {
    const g = this.#find(identity);
    return g !== undefined && g.unlistedSince === undefined && (g.retryAt === undefined || g.retryAt <= now);
  }

  /** A circuit through this guard was built: confirm it, clear its failures. False when it is not a guard of ours. */
  recordSuccess(identity: Uint8Array, now: number): boolean {
    const g = this.#find(identity);
    if (g === undefined) return false;
    g.confirmedAt ??= now;
    g.failures = 0;
    g.retryAt = undefined;
    return true;
  }

  /** Reaching this guard failed: back off (see the module comment). False when it is not a guard of ours. */
  recordFailure(identity: Uint8Array, now: number): boolean {
    const g = this.#find(identity);
    if (g === undefined) return false;
    g.failures++;
    const { retryBaseMs, retryMaxMs } = this.options;
    g.retryAt = now + Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(g.failures - 1, 52));
    return true;
  }

  #find(identity: Uint8Array): MutableGuard | undefined {
    const id = toHex(identity);
    return this.#guards.find((g) => g.id === id);
  }

  #ordered(): MutableGuard[] {
    const confirmed = this.#guards.filter((g) => g.confirmedAt !== undefined).sort((a, b) => a.confirmedAt! - b.confirmedAt!);
    return [...confirmed, ...this.#guards.filter((g) => g.confirmedAt === undefined)];
  }

  #primary(): MutableGuard[] {
    return this.#ordered().filter((g) => g.unlistedSince === undefined).slice(0, this.options.primaryCount);
  }
}

/** Checks a saved state strictly; CLIENT_STATE_CORRUPT names the first problem. */
function parseGuards(saved: GuardStateJson): MutableGuard[] {
  const corrupt = (why: string): never => {
    throw new ChiveError('CLIENT_STATE_CORRUPT', `guard state: ${why}`);
  };
  if (saved === null || typeof saved !== 'object') corrupt('not an object');
  if (saved.version !== 1) corrupt(`unsupported version ${String(saved.version)}`);
  if (!Array.isArray(saved.guards)) corrupt('guards must be a list');
  if (saved.guards.length > MAX_SAVED_GUARDS) corrupt(`more than ${MAX_SAVED_GUARDS} guards`);
  const time = (v: unknown, what: string, optional: boolean): number | undefined => {
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return corrupt(`${what} must be a time in ms`);
    return v;
  };
  const seen = new Set<string>();
  return saved.guards.map((g, i) => {
    const at = `guard ${i}`;
    if (g === null || typeof g !== 'object') corrupt(`${at} is not an object`);
    if (typeof g.identity !== 'string' || !HEX_ID.test(g.identity)) corrupt(`${at} identity must be ${2 * ED25519_KEY_LEN} lower-case hex digits`);
    if (seen.has(g.identity)) corrupt(`${at} repeats identity ${g.identity.slice(0, 16)}…`);
    seen.add(g.identity);
    if (typeof g.nickname !== 'string' || g.nickname.length > MAX_NICKNAME_LEN) corrupt(`${at} nickname must be a string of at most ${MAX_NICKNAME_LEN} characters`);
    if (!Number.isSafeInteger(g.failures) || g.failures < 0) corrupt(`${at} failures must be an integer ≥ 0`);
    return {
      id: g.identity, nickname: g.nickname, sampledAt: time(g.sampledAt, `${at} sampledAt`, false)!,
      confirmedAt: time(g.confirmedAt, `${at} confirmedAt`, true), failures: g.failures,
      retryAt: time(g.retryAt, `${at} retryAt`, true), unlistedSince: time(g.unlistedSince, `${at} unlistedSince`, true),
    };
  });
}
