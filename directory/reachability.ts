/**
 * Reachability tests of relays by a directory authority: a Noise NK link handshake to the
 * relay's ws address with the link key its descriptor certifies (connectLink). The
 * handshake only completes if the relay holds that link key, so a success proves both
 * that the relay is up and that it owns the key. The link is closed at once.
 *
 * Per relay the tester remembers the latest result and since when the relay has been
 * continuously reachable (for Stable): a failure resets that; a new address or link key
 * starts the history afresh. `reachability()` gives assignFlags its input.
 *
 * `voteEntries` turns the results into the entries of a vote: the relays found running,
 * with the flags assignFlags gives them, leaving out descriptors peers would refuse at
 * the vote's validAfter.
 *
 * Not here: when to test (authority.ts: on first acceptance and every period), signing.
 */
import { toHex } from '../src/bytes.js';
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import {
  type CheckedDescriptor, type FlagThresholds, type Reachability, type RelayDescriptor, type VoteEntry, assignFlags,
  checkDescriptorTimes,
} from '../src/dirdoc/index.js';
import { RelayFlag } from '../src/wire/constants.js';
import { connectLink } from '../src/io/link-connect.js';

/**
 * Most tests in flight at once, on acceptance and in sweeps together. Each test's timeout
 * runs only once it has a slot, so a burst of uploads queues instead of timing out.
 */
export const DEFAULT_TEST_CONCURRENCY = 16;

/** Dials a relay; resolves when the link handshake succeeded, rejects otherwise. Injectable for tests. */
export type RelayProbe = (descriptor: RelayDescriptor, timeoutMs: number) => Promise<void>;

export interface ReachabilityOptions {
  readonly provider: CryptoProvider;
  readonly rng: Rng;
  readonly now: () => number;
  /** Timeout of one test, ms (from when it gets a slot). */
  readonly timeoutMs: number;
  /** Most tests at once (default DEFAULT_TEST_CONCURRENCY). */
  readonly concurrency?: number;
  readonly probe?: RelayProbe;
  /** Told of every failed test (relay nickname, identity hex, reason). */
  readonly onFailure?: (descriptor: RelayDescriptor, reason: string) => void;
}

interface RelayHistory {
  /** address + link key the history belongs to. */
  readonly endpoint: string;
  reachable: boolean;
  lastTestAt: number;
  /** Start of the current run of successes; null after a failure. */
  runningSince: number | null;
  inFlight: Promise<boolean> | null;
}

export interface ReachabilityStats {
  tests: number;
  failures: number;
}

/** The probe the authority uses: an NK link to the descriptor's address and link key, closed at once. */
export function linkProbe(provider: CryptoProvider, rng: Rng): RelayProbe {
  return async (descriptor, timeoutMs) => {
    const link = await connectLink({
      provider, rng, url: descriptor.address, pattern: 'NK', remoteStatic: descriptor.linkKey, timeoutMs, closeGraceMs: 200,
    });
    link.closeGracefully('LOCAL', 'reachability test done');
  };
}

export class ReachabilityTester {
  private readonly history = new Map<string, RelayHistory>();
  private readonly probe: RelayProbe;
  private running = 0;
  private readonly queue: (() => void)[] = [];
  readonly stats: ReachabilityStats = { tests: 0, failures: 0 };

  constructor(private readonly options: ReachabilityOptions) {
    this.probe = options.probe ?? linkProbe(options.provider, options.rng);
  }

  /** Tests one relay now (joining a test already running for it); resolves with the result. */
  test(descriptor: RelayDescriptor): Promise<boolean> {
    const id = toHex(descriptor.identity);
    const endpoint = `${descriptor.address} ${toHex(descriptor.linkKey)}`;
    let h = this.history.get(id);
    if (!h || h.endpoint !== endpoint) {
      h = { endpoint, reachable: false, lastTestAt: 0, runningSince: null, inFlight: null };
      this.history.set(id, h);
    }
    if (h.inFlight) return h.inFlight;
    const record = h;
    const run = async (): Promise<boolean> => {
      await this.slot();
      this.stats.tests++;
      let ok = true;
      try {
        await this.probe(descriptor, this.options.timeoutMs);
      } catch (e) {
        ok = false;
        this.stats.failures++;
        this.options.onFailure?.(descriptor, e instanceof Error ? e.message : String(e));
      } finally {
        this.running--;
        this.queue.shift()?.();
      }
      const now = this.options.now();
      record.lastTestAt = now;
      record.reachable = ok;
      if (!ok) record.runningSince = null;
      else if (record.runningSince === null) record.runningSince = now;
      record.inFlight = null;
      return ok;
    };
    record.inFlight = run();
    return record.inFlight;
  }

  /** Tests every relay (at most `concurrency` tests at a time overall); resolves when all are done. */
  async sweep(descriptors: readonly RelayDescriptor[]): Promise<void> {
    await Promise.all(descriptors.map((d) => this.test(d)));
  }

  private slot(): Promise<void> {
    if (this.running < (this.options.concurrency ?? DEFAULT_TEST_CONCURRENCY)) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(() => {
      this.running++;
      resolve();
    }));
  }

  /** What assignFlags needs: the latest result, and how long the relay has been up without a failed test. */
  reachability(descriptor: RelayDescriptor, now: number): Reachability {
    const h = this.history.get(toHex(descriptor.identity));
    const endpoint = `${descriptor.address} ${toHex(descriptor.linkKey)}`;
    if (!h || h.endpoint !== endpoint || !h.reachable || h.runningSince === null) return { reachable: false, uptimeMs: 0 };
    return { reachable: true, uptimeMs: Math.max(0, now - h.runningSince) };
  }

  /** Forgets relays that are no longer listed. */
  retain(identitiesHex: ReadonlySet<string>): void {
    for (const id of this.history.keys()) if (!identitiesHex.has(id)) this.history.delete(id);
  }
}

/** The vote entries for period `validAfter`: running relays with their flags (bandwidth as advertised: no measurement). */
export function voteEntries(
  descriptors: readonly CheckedDescriptor[], tester: ReachabilityTester, now: number, validAfter: number, thresholds: FlagThresholds,
): VoteEntry<CheckedDescriptor>[] {
  return descriptors.flatMap((descriptor) => {
    try {
      checkDescriptorTimes(descriptor, validAfter);
    } catch {
      return [];
    }
    const flags = assignFlags(descriptor, tester.reachability(descriptor, now), thresholds);
    return (flags & RelayFlag.RUNNING) !== 0 ? [{ descriptor, flags, measuredBandwidth: descriptor.bandwidth }] : [];
  });
}
