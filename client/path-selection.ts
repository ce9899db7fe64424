/**
 * Path selection: which relays a new circuit goes through, chosen from a checked
 * consensus. Pure: the randomness is a `() => number` in [0, 1) passed in (see
 * `unitRngFrom` to make one from a CryptoProvider's `Rng`), no clock, no I/O.
 *
 * Rules (docs/PROTOCOL.md §7):
 *   - only Running relays, never one listed in `exclude`;
 *   - never the same relay twice, never two relays of one family (A and B are one family
 *     when either lists the other), never two relays in one IPv4 /16 unless
 *     `allowSameSubnet` (the switch for test networks where every relay is on 127.0.0.1);
 *     a relay whose address is a DNS name is in the "subnet" of that name;
 *   - the last hop is chosen first (as Tor does: it is the most constrained). With a
 *     target it is an Exit-flagged relay whose exit policy allows the target (IPv4 address
 *     and port; for a host name, a policy that might allow the port); without one (an
 *     internal circuit, e.g. for chat) any relay; `lastHop` pins it;
 *   - then the first hop: the first of the ordered `guards` that fits the path (Tor uses
 *     its first usable primary guard), else a weighted choice preferring Guard relays;
 *   - then the middle hops;
 *   - every weighted choice is proportional to the consensus weight, among Fast relays
 *     when any fits (else among all that fit); a weight of 0 counts as
 *     ZERO_WEIGHT_FLOOR_FRACTION of the mean positive weight (or 1 when no relay has
 *     one), so that new, unmeasured relays and all-zero test networks still work.
 * A draw that paints itself into a corner (no relay fits the next hop) is redrawn, up to
 * MAX_PATH_ATTEMPTS times; then a typed error says why no path exists.
 *
 * Not here: guard persistence (guards.ts), building the circuit (circuit-builder.ts),
 * Tor's position weights (Wgg, Wmd, …), Stable-only circuits or consensus parameters.
 */
import { toHex } from '../src/bytes.js';
import { ChiveError } from '../src/errors.js';
import type { Rng } from '../src/crypto/provider.js';
import {
  type CheckedConsensus, type ConsensusRelay, type ExitPolicy, exitPolicyAllows, parseIpv4, parseRelayAddress,
} from '../src/dirdoc/index.js';
import { MAX_HOPS, RelayFlag } from '../src/wire/constants.js';
import type { RelayInfo } from './relay-info.js';

/** A uniform random number in [0, 1). */
export type UnitRng = () => number;

/** Hops of a circuit when not told otherwise. */
export const DEFAULT_PATH_HOPS = 3;
/** Weight of a relay whose consensus weight is 0, as a fraction of the mean positive weight. */
export const ZERO_WEIGHT_FLOOR_FRACTION = 0.01;
/** Whole-path redraws before giving up. */
export const MAX_PATH_ATTEMPTS = 32;

export interface PathTarget {
  /** An IPv4 address (dotted quad) or a host name the exit will resolve. */
  readonly host: string;
  readonly port: number;
}

export interface PathOptions {
  /** Number of relays, 1..MAX_HOPS (default 3). */
  readonly hops?: number;
  /** Where the circuit's streams will go: the last hop must be an Exit that allows it. */
  readonly target?: PathTarget;
  /** Identities of the client's guards in order of preference: the first hop is the first that fits. */
  readonly guards?: readonly Uint8Array[];
  /** Identity the path must end at (introduction point, rendezvous point, HSDir). */
  readonly lastHop?: Uint8Array;
  /** Allow two relays of one /16 (test networks on one host). */
  readonly allowSameSubnet: boolean;
  readonly rng: UnitRng;
  /** Identities never to use. */
  readonly exclude?: readonly Uint8Array[];
}

/** A Running relay with what the rules need, computed once per call. */
interface Candidate {
  readonly relay: ConsensusRelay;
  readonly id: string;
  readonly family: ReadonlySet<string>;
  readonly subnet: string;
  readonly weight: number;
}

/** A [0, 1) number from 53 random bits of a CryptoProvider `Rng`. */
export function unitRngFrom(rng: Rng): UnitRng {
  return () => {
    const b = rng(7);
    const high = ((b[0]! << 13) | (b[1]! << 5) | (b[2]! >>> 3)) >>> 0; // 21 bits
    const low = ((b[3]! << 24) | (b[4]! << 16) | (b[5]! << 8) | b[6]!) >>> 0; // 32 bits
    return (high * 2 ** 32 + low) / 2 ** 53;
  };
}

/** The consensus weight of each relay with the zero-weight floor applied (see the module comment). */
export function effectiveWeights(relays: readonly ConsensusRelay[]): Map<ConsensusRelay, number> {
  const positive = relays.filter((r) => r.weight > 0);
  const mean = positive.reduce((sum, r) => sum + r.weight, 0) / Math.max(1, positive.length);
  const floor = positive.length === 0 ? 1 : mean * ZERO_WEIGHT_FLOOR_FRACTION;
  return new Map(relays.map((r) => [r, r.weight > 0 ? r.weight : floor]));
}

/** One item with probability proportional to `weightOf(item)` (all > 0); undefined when `items` is empty. */
export function chooseWeighted<T>(items: readonly T[], weightOf: (item: T) => number, rng: UnitRng): T | undefined {
  if (items.length === 0) return undefined;
  let total = 0;
  for (const item of items) total += weightOf(item);
  const u = rng();
  if (!(u >= 0 && u < 1)) throw new ChiveError('INVALID_ARGUMENT', `rng returned ${u}, outside [0, 1)`);
  let left = u * total;
  for (const item of items) {
    left -= weightOf(item);
    if (left < 0) return item;
  }
  return items[items.length - 1];
}

/** The /16 of an IPv4 relay address, or its host name. */
export function subnetKey(address: string): string {
  const parsed = parseRelayAddress(address);
  if (parsed === undefined) return `address:${address}`;
  return parsed.ipv4 !== undefined ? `ipv4:${parsed.ipv4 >>> 16}` : `host:${parsed.host}`;
}

/** True when either relay lists the other in its family. */
export function sameFamily(a: ConsensusRelay, b: ConsensusRelay): boolean {
  const aId = toHex(a.identity);
  const bId = toHex(b.identity);
  return a.family.some((k) => toHex(k) === bId) || b.family.some((k) => toHex(k) === aId);
}

/**
 * Might `policy` allow some address on `port`? Tor's rule for a target whose address is not
 * known yet: an accept rule for the port comes before any reject of every address for it.
 */
export function exitPolicyMightAllowPort(policy: ExitPolicy, port: number): boolean {
  for (const rule of policy) {
    if (port < rule.portMin || port > rule.portMax) continue;
    if (rule.action === 'accept') return true;
    if (rule.maskBits === 0) return false;
  }
  return false;
}

/** Does the relay's exit policy allow `target`? (Exit flag not checked.) */
export function relayAllowsTarget(relay: ConsensusRelay, target: PathTarget): boolean {
  const ip = parseIpv4(target.host);
  return ip !== undefined ? exitPolicyAllows(relay.exitPolicy, ip, target.port) : exitPolicyMightAllowPort(relay.exitPolicy, target.port);
}

/** The RelayInfo that the circuit builder takes, from a consensus entry. */
export function relayInfoFromConsensus(relay: ConsensusRelay): RelayInfo {
  return { identity: relay.identity, onionKey: relay.onionKey, linkKey: relay.linkKey, url: relay.address, nickname: relay.nickname };
}

function fail(code: 'PATH_NO_EXIT' | 'PATH_NOT_ENOUGH_RELAYS' | 'PATH_NO_GUARD' | 'INVALID_ARGUMENT', message: string): never {
  throw new ChiveError(code, message);
}

function checkOptions(options: PathOptions, hops: number): void {
  if (!Number.isInteger(hops) || hops < 1 || hops > MAX_HOPS) fail('INVALID_ARGUMENT', `hops must be an integer 1..${MAX_HOPS}, got ${hops}`);
  if (typeof options.rng !== 'function') fail('INVALID_ARGUMENT', 'rng must be a function returning [0, 1)');
  if (typeof options.allowSameSubnet !== 'boolean') fail('INVALID_ARGUMENT', 'allowSameSubnet must be true or false');
  const t = options.target;
  if (t !== undefined) {
    if (typeof t.host !== 'string' || t.host === '') fail('INVALID_ARGUMENT', 'target host must be a non-empty string');
    if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) fail('INVALID_ARGUMENT', `target port must be 1..65535, got ${t.port}`);
  }
}

function targetText(t: PathTarget): string {
  return `${t.host}:${t.port}`;
}

function name(c: Candidate): string {
  return `${c.relay.nickname} (${c.id.slice(0, 8)})`;
}

function hasFlag(c: Candidate, flag: number): boolean {
  return (c.relay.flags & flag) !== 0;
}

/** Those of `cands` with `flag` when there are any, else all of them. */
function preferFlag(cands: readonly Candidate[], flag: number): readonly Candidate[] {
  const flagged = cands.filter((c) => hasFlag(c, flag));
  return flagged.length > 0 ? flagged : cands;
}

/** Chooses a path of `hops` relays, first hop first (see the module comment for the rules). */
export function selectPath(consensus: CheckedConsensus, options: PathOptions): ConsensusRelay[] {
  const hops = options.hops ?? DEFAULT_PATH_HOPS;
  checkOptions(options, hops);
  const { allowSameSubnet, rng, target } = options;
  const excluded = new Set((options.exclude ?? []).map(toHex));
  const weights = effectiveWeights(consensus.relays.filter((r) => (r.flags & RelayFlag.RUNNING) !== 0));
  const running: Candidate[] = [];
  for (const [relay, weight] of weights) {
    const id = toHex(relay.identity);
    if (excluded.has(id)) continue;
    running.push({ relay, id, weight, family: new Set(relay.family.map(toHex)), subnet: subnetKey(relay.address) });
  }
  const fits = (c: Candidate, chosen: readonly Candidate[]): boolean =>
    chosen.every((o) => o.id !== c.id && !c.family.has(o.id) && !o.family.has(c.id) && (allowSameSubnet || o.subnet !== c.subnet));
  const exclusionNote = excluded.size > 0 ? ` (${excluded.size} excluded)` : '';

  if (running.length < hops) {
    fail('PATH_NOT_ENOUGH_RELAYS', `a ${hops}-hop path needs ${hops} Running relays; the consensus has ${running.length}${exclusionNote}`);
  }
  if (!allowSameSubnet) {
    const subnets = new Set(running.map((c) => c.subnet)).size;
    if (subnets < hops) {
      fail('PATH_NOT_ENOUGH_RELAYS', `a ${hops}-hop path needs relays in ${hops} distinct /16 networks; the Running relays are in ${subnets}` +
        ' (on a test network where every relay is on one host, set allowSameSubnet)');
    }
  }

  const lastHops = lastHopCandidates(running, options, exclusionNote);
  const guards = guardCandidates(running, options.guards);
  let lastFailure: { code: 'PATH_NO_EXIT' | 'PATH_NOT_ENOUGH_RELAYS' | 'PATH_NO_GUARD'; message: string } | undefined;
  for (let attempt = 0; attempt < MAX_PATH_ATTEMPTS; attempt++) {
    const exit = hops === 1 && guards !== undefined
      ? guards.find((g) => lastHops.includes(g))
      : chooseWeighted(preferFlag(lastHops, RelayFlag.FAST), (c) => c.weight, rng);
    if (exit === undefined) {
      fail('PATH_NO_GUARD', `none of the ${options.guards!.length} guards can be the only hop${target ? ` to ${targetText(target)}` : ''}`);
    }
    if (hops === 1) return [exit.relay];
    const first = guards !== undefined
      ? guards.find((g) => fits(g, [exit]))
      : chooseWeighted(preferFlag(running.filter((c) => fits(c, [exit])), RelayFlag.GUARD), (c) => c.weight, rng);
    if (first === undefined) {
      lastFailure = guards !== undefined
        ? { code: 'PATH_NO_GUARD', message: `no guard fits with the last hop ${name(exit)} (same relay, family or /16); guards: ${guards.map(name).join(', ')}` }
        : { code: 'PATH_NOT_ENOUGH_RELAYS', message: `no relay can be the first hop before ${name(exit)} (each is the same relay, family or /16)` };
      if (lastHops.length === 1) break; // the same exit every time: redrawing cannot help
      continue;
    }
    const chosen = [first, exit];
    const middles: Candidate[] = [];
    for (let i = 0; i < hops - 2; i++) {
      const middle = chooseWeighted(preferFlag(running.filter((c) => fits(c, chosen)), RelayFlag.FAST), (c) => c.weight, rng);
      if (middle === undefined) break;
      middles.push(middle);
      chosen.push(middle);
    }
    if (middles.length === hops - 2) return [first.relay, ...middles.map((m) => m.relay), exit.relay];
    lastFailure = {
      code: 'PATH_NOT_ENOUGH_RELAYS',
      message: `no relay fits middle hop ${middles.length + 2} of ${hops} between ${name(first)} and ${name(exit)}` +
        ` (the ${running.length} Running relays${exclusionNote} are the same relay, family or /16 as one already chosen)`,
    };
  }
  const why = lastFailure ?? { code: 'PATH_NOT_ENOUGH_RELAYS' as const, message: 'no path found' };
  fail(why.code, `${why.message}; gave up after ${MAX_PATH_ATTEMPTS} attempts`);
}

/** Relays that may be the last hop, or a typed error naming why there are none. */
function lastHopCandidates(running: readonly Candidate[], options: PathOptions, exclusionNote: string): Candidate[] {
  const { target } = options;
  let cands = running as Candidate[];
  if (options.lastHop !== undefined) {
    const id = toHex(options.lastHop);
    cands = running.filter((c) => c.id === id);
    if (cands.length === 0) fail('PATH_NOT_ENOUGH_RELAYS', `the requested last hop ${id.slice(0, 16)}… is not a Running relay of the consensus${exclusionNote}`);
  }
  if (target === undefined) return cands;
  const exits = cands.filter((c) => hasFlag(c, RelayFlag.EXIT));
  const allowing = exits.filter((c) => relayAllowsTarget(c.relay, target));
  if (allowing.length > 0) return allowing;
  const what = options.lastHop !== undefined ? `the requested last hop ${name(cands[0]!)}` : 'no Running Exit relay';
  const detail = exits.length === 0
    ? (options.lastHop !== undefined ? 'it has no Exit flag' : `none of the ${running.length} Running relays${exclusionNote} has the Exit flag`)
    : `the exit policies of ${exits.map(name).join(', ')} refuse it`;
  fail('PATH_NO_EXIT', `${options.lastHop !== undefined ? `${what} does not allow` : `${what} allows`} ${targetText(target)}: ${detail}`);
}

/** The offered guards that are Running and not excluded, in the order given; undefined when none were offered. */
function guardCandidates(running: readonly Candidate[], guards: readonly Uint8Array[] | undefined): Candidate[] | undefined {
  if (guards === undefined) return undefined;
  const byId = new Map(running.map((c) => [c.id, c] as const));
  const out: Candidate[] = [];
  for (const g of guards) {
    const c = byId.get(toHex(g));
    if (c !== undefined && !out.includes(c)) out.push(c);
  }
  if (out.length === 0) {
    fail('PATH_NO_GUARD', guards.length === 0 ? 'no guards were offered for the first hop'
      : `none of the ${guards.length} guards offered is a Running relay of the consensus (or they are excluded)`);
  }
  return out;
}
