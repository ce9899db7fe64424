/**
 * A directory authority: accepts relay descriptors, tests relays, votes every period,
 * fetches the other authorities' votes, computes the consensus from the checked votes,
 * signs it, gathers the others' signatures and publishes it once a majority of the pinned
 * authorities signed (docs/PROTOCOL.md §6b).
 *
 * One round per period (schedule.ts gives the deadlines):
 *   vote      assignFlags over the reachability results; signVote; serve it
 *   collect   pull every missing pinned authority's vote (directly, else relayed by a
 *             peer that holds it) until all are in or collectUntil; checkVote each
 *   compute   only with checked votes from more than half of the pinned authorities
 *   sign      serve our detached signature; pull the others', keep those over our body
 *   publish   at validAfter (at once for a late round) when a majority signed; keep
 *             adding late signatures until signaturesUntil
 *   adopt     a round that publishes nothing takes, if any, a peer's consensus for the
 *             period that passes checkConsensus (so a late or restarted authority serves
 *             the network's consensus rather than none)
 * An authority never publishes a consensus without a majority of signatures: when it
 * cannot make one it keeps serving the previous one.
 *
 * Not here: one round's exchange (round.ts), HTTP (http-api.ts), files (store.ts), the
 * link handshake (reachability.ts), the document formats and voting algorithm (src/dirdoc/).
 */
import { toHex } from '../src/bytes.js';
import { isChiveError } from '../src/errors.js';
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import {
  type CheckedDescriptor, type Consensus, DEFAULT_FLAG_THRESHOLDS, TESTNET_FLAG_THRESHOLDS, checkDescriptor, checkVote,
  decodeDescriptor, encodeConsensus, encodeVote, signVote,
} from '../src/dirdoc/index.js';
import type { UploadReceipt } from '../src/io/directory-client.js';
import { type NetworkConfig, type PinnedAuthority, pinnedIdentities } from '../src/io/network-file.js';
import type { DirectoryApi, LogFn } from './http-api.js';
import { type RelayProbe, ReachabilityTester, voteEntries } from './reachability.js';
import { type HeldVote, type RoundContext, PeriodRound, adoptFromPeers } from './round.js';
import { type RoundPlan, periodAfter, periodStart, planRound, reachabilityTimeoutMs, sweepAt, voteAt } from './schedule.js';
import { AuthorityStore, loadAuthoritySeed } from './store.js';

export interface AuthorityOptions {
  readonly provider: CryptoProvider;
  readonly rng?: Rng;
  readonly dataDir: string;
  readonly network: NetworkConfig;
  /** Clock, ms since the epoch (default Date.now). Timers follow it, so it must advance in real time. */
  readonly now?: () => number;
  readonly log?: LogFn;
  /** Replaces the NK link handshake of reachability tests (tests only). */
  readonly probe?: RelayProbe;
}

export interface AuthorityStats {
  readonly startedAt: number;
  descriptorsAccepted: number;
  descriptorsRefused: number;
  votesMade: number;
  votesFetched: number;
  votesRefused: number;
  roundsFailed: number;
  consensusesPublished: number;
  consensusesAdopted: number;
  /** When this process first published a consensus it made or adopted (not one loaded from disk). */
  firstConsensusAt: number | null;
  lastConsensusValidAfter: number | null;
  lastConsensusSigners: number;
}

export interface PublishedConsensus {
  readonly consensus: Consensus;
  readonly bytes: Uint8Array;
}

export class Authority {
  readonly identity: Uint8Array;
  readonly identityHex: string;
  readonly stats: AuthorityStats;
  private readonly provider: CryptoProvider;
  private readonly rng: Rng;
  private readonly now: () => number;
  private readonly log: LogFn;
  private readonly network: NetworkConfig;
  private readonly seed: Uint8Array;
  private readonly store: AuthorityStore;
  private readonly tester: ReachabilityTester;
  private readonly pinned: Uint8Array[];
  private readonly peers: PinnedAuthority[];
  private readonly rounds = new Map<number, PeriodRound>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private published: PublishedConsensus | null = null;
  private storedVote: HeldVote | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(options: AuthorityOptions) {
    this.provider = options.provider;
    this.rng = options.rng ?? options.provider.randomBytes.bind(options.provider);
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
    this.network = options.network;
    this.seed = loadAuthoritySeed(options.dataDir, this.rng);
    this.identity = this.provider.ed25519PublicKey(this.seed);
    this.identityHex = toHex(this.identity);
    this.pinned = pinnedIdentities(this.network);
    this.peers = this.network.authorities.filter((a) => toHex(a.identity) !== this.identityHex);
    this.store = new AuthorityStore(this.provider, options.dataDir);
    this.tester = new ReachabilityTester({
      provider: this.provider, rng: this.rng, now: this.now, timeoutMs: reachabilityTimeoutMs(this.network.timing),
      ...(options.probe ? { probe: options.probe } : {}),
      onFailure: (d, why) => this.log('debug', 'relay unreachable', { relay: d.nickname, identity: toHex(d.identity), why }),
    });
    this.stats = {
      startedAt: this.now(), descriptorsAccepted: 0, descriptorsRefused: 0, votesMade: 0, votesFetched: 0, votesRefused: 0,
      roundsFailed: 0, consensusesPublished: 0, consensusesAdopted: 0, firstConsensusAt: null, lastConsensusValidAfter: null,
      lastConsensusSigners: 0,
    };
  }

  get closed(): boolean {
    return this.abort.signal.aborted;
  }

  get reachabilityStats(): { tests: number; failures: number } {
    return this.tester.stats;
  }

  get relayCount(): number {
    return this.store.size;
  }

  latestConsensus(): PublishedConsensus | null {
    return this.published;
  }

  /** Loads the saved state and starts the period cycle (a bootstrap round first, unless a consensus for this period was saved). */
  start(): void {
    const now = this.now();
    for (const why of this.store.loadRelays(now)) this.log('warn', 'skipped a saved descriptor', { why });
    this.loadSavedState(now);
    const current = periodStart(now, this.network.timing);
    const bootstrap = !this.published || this.published.consensus.validAfter < current;
    this.log('info', 'authority started', {
      identity: this.identityHex, relays: this.store.size, servingSaved: this.published?.consensus.validAfter ?? null, bootstrap,
    });
    this.spawn(() => this.runCycle(current, bootstrap));
  }

  /** Stops the cycle, aborts requests in flight and waits for every task. */
  async close(): Promise<void> {
    this.abort.abort();
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  /** The answers of the HTTP API. */
  api(): DirectoryApi {
    return {
      uploadDescriptor: (bytes) => this.acceptUpload(bytes),
      consensus: () => this.published?.bytes ?? null,
      descriptor: (identity) => this.store.get(toHex(identity))?.descriptor.encoded ?? null,
      vote: (validAfter, authority) => {
        const who = authority ? toHex(authority) : this.identityHex;
        const held = this.rounds.get(validAfter)?.votes.get(who);
        if (held) return held.bytes;
        const saved = this.storedVote;
        return who === this.identityHex && saved?.checked.validAfter === validAfter ? saved.bytes : null;
      },
      signature: (validAfter) => this.rounds.get(validAfter)?.ownSignature ?? null,
    };
  }

  private acceptUpload(bytes: Uint8Array): UploadReceipt {
    let descriptor: CheckedDescriptor;
    let status: UploadReceipt['status'];
    try {
      descriptor = checkDescriptor(this.provider, decodeDescriptor(bytes), this.now());
      status = this.store.offer(descriptor);
    } catch (e) {
      this.stats.descriptorsRefused++;
      this.log('info', 'descriptor refused', { code: isChiveError(e) ? e.code : 'UNKNOWN', why: e instanceof Error ? e.message : String(e) });
      throw e;
    }
    const identity = toHex(descriptor.identity);
    if (status !== 'unchanged') {
      this.stats.descriptorsAccepted++;
      this.log('info', `descriptor ${status}`, { relay: descriptor.nickname, identity, address: descriptor.address });
      this.spawn(async () => void (await this.tester.test(descriptor)));
    }
    return { status, identity };
  }

  private loadSavedState(now: number): void {
    const saved = this.store.loadSavedConsensus(this.pinned, now);
    if (typeof saved === 'string') {
      this.log('warn', 'not serving the saved consensus', { why: saved });
    } else if (saved) {
      this.published = saved;
      this.noteConsensus(saved.consensus);
    }
    this.storedVote = this.store.loadSavedVote(this.identity, this.pinned, now);
  }

  private spawn(task: () => Promise<void>): void {
    const p = task().catch((e: unknown) => {
      if (!this.closed) this.log('error', 'authority task failed', { why: e instanceof Error ? e.stack ?? e.message : String(e) });
    }).finally(() => this.tasks.delete(p));
    this.tasks.add(p);
  }

  /** Resolves once the clock reads ≥ t (timers may fire early against Date.now: re-armed), or on close. */
  private async sleepUntil(t: number): Promise<void> {
    for (let ms = t - this.now(); ms > 0 && !this.closed; ms = t - this.now()) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.abort.signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(1, ms));
        this.abort.signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  private async runCycle(current: number, bootstrap: boolean): Promise<void> {
    const timing = this.network.timing;
    let v = current + timing.votingIntervalMs;
    await this.sweep(); // the first vote needs test results, whether or not this is a bootstrap
    if (bootstrap && !this.closed) this.spawn(() => this.runRound(current));
    while (!this.closed) {
      await this.sleepUntil(sweepAt(v, timing));
      if (this.closed) break;
      this.spawn(() => this.sweep()); // the vote uses the latest results; it does not wait for a slow sweep
      await this.sleepUntil(voteAt(v, timing));
      if (this.closed) break;
      const period = v;
      if (!this.rounds.has(period)) this.spawn(() => this.runRound(period));
      v = periodAfter(v, this.now(), timing);
    }
  }

  /** Drops stale descriptors and tests every listed relay (one sweep at a time). */
  private sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      for (const id of this.store.prune(this.now())) this.log('info', 'dropped a stale descriptor', { identity: id });
      const relays = this.store.all().map((r) => r.descriptor);
      this.tester.retain(new Set(relays.map((d) => toHex(d.identity))));
      await this.tester.sweep(relays);
    })().finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  private roundContext(): RoundContext {
    return {
      provider: this.provider, seed: this.seed, pinned: this.pinned, peers: this.peers, timing: this.network.timing,
      now: this.now, log: this.log, signal: this.abort.signal, sleepUntil: (t) => this.sleepUntil(t),
      publish: (c) => this.publish(c), counters: this.stats,
    };
  }

  private async runRound(validAfter: number): Promise<void> {
    const timing = this.network.timing;
    const plan = planRound(validAfter, timing, this.now());
    const ctx = this.roundContext();
    const round = new PeriodRound(ctx, plan, this.identityHex, this.makeVote(plan));
    this.rounds.set(validAfter, round);
    for (const v of this.rounds.keys()) if (v < validAfter - timing.validIntervals * timing.votingIntervalMs) this.rounds.delete(v);
    const outcome = await round.run(this.store.knownDescriptors());
    if (outcome === 'published') this.stats.consensusesPublished++;
    if (outcome === 'published' || outcome === 'closed') return;
    this.stats.roundsFailed++;
    await this.sleepUntil(plan.signaturesUntil);
    const adopted = this.closed ? null : await adoptFromPeers(ctx, validAfter);
    if (adopted && this.publish(adopted)) {
      this.stats.consensusesAdopted++;
      this.log('info', 'adopted the consensus of the other authorities', { validAfter, signatures: adopted.signatures.length });
    } else if (!this.closed) {
      this.log('warn', 'no consensus for this period; still serving the previous one', { validAfter, serving: this.published?.consensus.validAfter ?? null });
    }
  }

  private makeVote(plan: RoundPlan): HeldVote {
    const saved = this.storedVote;
    if (saved && saved.checked.validAfter === plan.validAfter) return saved;
    const now = this.now();
    const thresholds = this.network.testnet ? TESTNET_FLAG_THRESHOLDS : DEFAULT_FLAG_THRESHOLDS;
    const entries = voteEntries(this.store.all().map((r) => r.descriptor), this.tester, now, plan.validAfter, thresholds);
    const vote = signVote(this.provider, this.seed, { validAfter: plan.validAfter, freshUntil: plan.freshUntil, validUntil: plan.validUntil, entries });
    const bytes = encodeVote(vote);
    const checked = checkVote(this.provider, vote, this.pinned, now, { knownDescriptors: this.store.knownDescriptors() });
    this.storedVote = { checked, bytes };
    this.store.saveVote(bytes);
    this.stats.votesMade++;
    this.log('debug', 'voted', { validAfter: plan.validAfter, relays: entries.length });
    return this.storedVote;
  }

  /** Serves and saves `c` unless a newer consensus is already published; true if it did. */
  private publish(c: Consensus): boolean {
    if (this.published && this.published.consensus.validAfter > c.validAfter) return false;
    const bytes = encodeConsensus(c);
    this.store.saveConsensus(bytes);
    this.published = { consensus: c, bytes };
    this.stats.firstConsensusAt ??= this.now();
    this.noteConsensus(c);
    return true;
  }

  private noteConsensus(c: Consensus): void {
    this.stats.lastConsensusValidAfter = c.validAfter;
    this.stats.lastConsensusSigners = c.signatures.length;
  }
}
