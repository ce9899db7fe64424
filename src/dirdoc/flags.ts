/**
 * The flags one authority assigns to a relay it has tested (the input of its vote).
 *
 *   Running  the authority's reachability test (a Noise NK handshake to the relay's link
 *            key at its address) succeeded now; a relay that is not running gets no flag
 *            and is left out of the vote.
 *   Fast     advertised bandwidth ≥ fastMinBandwidth.
 *   Stable   continuously reachable for ≥ stableMinUptimeMs.
 *   Guard    Fast and Stable.
 *   Exit     the exit policy accepts some port on some address (exitPolicyWitness).
 *   HSDir    Stable.
 * The consensus then keeps each flag by majority (voting.ts). Thresholds are injectable:
 * testnets use tiny ones so that every relay gets every flag it can at once.
 *
 * Not the reachability test itself (directory/), and no wire format.
 */
import { RelayFlag } from '../wire/constants.js';
import type { RelayDescriptor } from './descriptor.js';
import { exitPolicyWitness } from './exit-policy.js';

export interface FlagThresholds {
  /** Fast needs an advertised bandwidth of at least this many bytes per second. */
  readonly fastMinBandwidth: number;
  /** Stable needs the relay reachable without interruption for at least this long. */
  readonly stableMinUptimeMs: number;
}

/** Thresholds for a real network. */
export const DEFAULT_FLAG_THRESHOLDS: FlagThresholds = { fastMinBandwidth: 100_000, stableMinUptimeMs: 24 * 60 * 60 * 1000 };
/** Thresholds for local test networks: every reachable relay is Fast and Stable at once. */
export const TESTNET_FLAG_THRESHOLDS: FlagThresholds = { fastMinBandwidth: 0, stableMinUptimeMs: 0 };

/** What the authority learnt by testing the relay. */
export interface Reachability {
  /** The latest reachability test succeeded. */
  readonly reachable: boolean;
  /** How long the relay has been continuously reachable, ms (0 if just seen). */
  readonly uptimeMs: number;
}

/** The RelayFlag bits this authority assigns (see the module comment); 0 when not reachable. */
export function assignFlags(descriptor: RelayDescriptor, reachability: Reachability, thresholds: FlagThresholds = DEFAULT_FLAG_THRESHOLDS): number {
  if (!reachability.reachable) return 0;
  let flags = RelayFlag.RUNNING as number;
  const fast = descriptor.bandwidth >= thresholds.fastMinBandwidth;
  const stable = reachability.uptimeMs >= thresholds.stableMinUptimeMs;
  if (fast) flags |= RelayFlag.FAST;
  if (stable) flags |= RelayFlag.STABLE | RelayFlag.HSDIR;
  if (fast && stable) flags |= RelayFlag.GUARD;
  if (exitPolicyWitness(descriptor.exitPolicy) !== undefined) flags |= RelayFlag.EXIT;
  return flags;
}

/** Names of the flags set in `flags`, in RelayFlag order (for logs and UIs). */
export function relayFlagNames(flags: number): string[] {
  return Object.entries(RelayFlag).filter(([, bit]) => (flags & bit) !== 0).map(([name]) => name);
}
