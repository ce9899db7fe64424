/**
 * The client's consensus: fetched from the pinned authorities, checked, cached on disk,
 * refreshed after fresh-until.
 *
 *   refresh()  asks the authorities of the network file in a random order; the first
 *              consensus that decodes, passes checkConsensus against the pinned
 *              identities (more than half of them signed it, distinct, valid; now inside
 *              validAfter..validUntil) and is newer than the one held wins (while the
 *              one held is fresh, one of the same period does too). It is
 *              saved to `<dataDir>/cached-consensus.bin` (atomic, 0600).
 *   start()    loads the cache (re-checked exactly like a download: a stale, forged or
 *              foreign cache is refused and reported), refreshes unless it is fresh, and
 *              schedules refreshes: once the consensus passes freshUntil, at a random
 *              moment in the first `refetchSpread` of freshUntil..validUntil (jitter, so
 *              clients do not all ask at once); after a failure, again after `retryMs`.
 *              It waits up to `bootstrapTimeoutMs` for a first consensus.
 *
 * When no authority gives an acceptable consensus and none valid is held, refresh()
 * rejects with one error naming each authority's reason. Its code is the refusal of a
 * document when some authority served one (CONSENSUS_UNDER_SIGNED, CONSENSUS_EXPIRED,
 * CONSENSUS_NOT_YET_VALID, DOCUMENT_NOT_CANONICAL, …): a served-but-refused consensus says
 * more than an unreachable authority; otherwise CONSENSUS_UNAVAILABLE.
 *
 * Not here: path selection or descriptors (a consensus carries what circuits need).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ChiveError, type ErrorCode, isChiveError } from '../src/errors.js';
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import { type CheckedConsensus, checkConsensus, decodeConsensus, isConsensusFresh } from '../src/dirdoc/index.js';
import { fetchConsensusBytes } from '../src/io/directory-client.js';
import { ensureDataDir, writeFileAtomic } from '../src/io/key-files.js';
import { type NetworkConfig, type PinnedAuthority, pinnedIdentities } from '../src/io/network-file.js';
import { MAX_CONSENSUS_LEN } from '../src/wire/constants.js';

export const CONSENSUS_CACHE_FILE = 'cached-consensus.bin';
export const DEFAULT_REFETCH_SPREAD = 0.5;

export interface ConsensusClientOptions {
  readonly provider: CryptoProvider;
  readonly network: NetworkConfig;
  /** The client's data directory; the cache lives there. No cache when absent. */
  readonly dataDir?: string;
  /** Clock, ms since the epoch (default Date.now). */
  readonly now?: () => number;
  /** Randomness for the authority order and the jitter (default provider.randomBytes). */
  readonly rng?: Rng;
  /** Timeout of one fetch, ms (default 10 s). */
  readonly fetchTimeoutMs?: number;
  /** Refetch within this fraction of freshUntil..validUntil (default 0.5). */
  readonly refetchSpread?: number;
  /** Wait after a failed or fruitless refresh, ms (default a tenth of the fresh period, within 250 ms..60 s). */
  readonly retryMs?: number;
  /** How long start() keeps retrying before it rejects (default 0: after the first failed attempt). */
  readonly bootstrapTimeoutMs?: number;
  readonly log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

interface Held {
  readonly consensus: CheckedConsensus;
  readonly bytes: Uint8Array;
  readonly refetchAt: number;
}

const why = (e: unknown): string => (isChiveError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e));

export class ConsensusClient {
  private readonly provider: CryptoProvider;
  private readonly network: NetworkConfig;
  private readonly pinned: Uint8Array[];
  private readonly now: () => number;
  private readonly rng: Rng;
  private held: Held | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private refreshing: Promise<CheckedConsensus> | null = null;
  private readonly listeners = { consensus: new Set<(c: CheckedConsensus) => void>(), error: new Set<(e: ChiveError) => void>() };
  /** Why the cached consensus was refused at the last load, if it was. */
  cacheError: ChiveError | null = null;
  /** The error of the last failed refresh, cleared by a successful one. */
  lastError: ChiveError | null = null;

  constructor(private readonly options: ConsensusClientOptions) {
    this.provider = options.provider;
    this.network = options.network;
    this.pinned = pinnedIdentities(options.network);
    this.now = options.now ?? Date.now;
    this.rng = options.rng ?? ((n) => options.provider.randomBytes(n));
  }

  /** The consensus held, if still valid now (null before the first and after validUntil). */
  current(): CheckedConsensus | null {
    const c = this.held?.consensus;
    return c && this.now() <= c.validUntil ? c : null;
  }

  /** When the next refresh is due (for the consensus held), or null. */
  refetchAt(): number | null {
    return this.held?.refetchAt ?? null;
  }

  onConsensus(listener: (c: CheckedConsensus) => void): () => void {
    this.listeners.consensus.add(listener);
    return () => this.listeners.consensus.delete(listener);
  }

  onError(listener: (e: ChiveError) => void): () => void {
    this.listeners.error.add(listener);
    return () => this.listeners.error.delete(listener);
  }

  private get cachePath(): string | null {
    return this.options.dataDir === undefined ? null : join(this.options.dataDir, CONSENSUS_CACHE_FILE);
  }

  /** Loads and re-checks the cached consensus; null (with `cacheError` set when refused) if there is none usable. */
  loadCache(): CheckedConsensus | null {
    const path = this.cachePath;
    this.cacheError = null;
    if (!path) return null;
    let bytes: Uint8Array;
    try {
      if (statSync(path).size > MAX_CONSENSUS_LEN) throw new ChiveError('OVER_LENGTH', 'cache file too large');
      bytes = new Uint8Array(readFileSync(path));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.cacheError = toChive(e, 'CONSENSUS_UNAVAILABLE', `cannot read ${path}`);
      return null;
    }
    try {
      const consensus = checkConsensus(this.provider, decodeConsensus(bytes), this.pinned, this.now());
      this.adopt(consensus, bytes, false);
      return consensus;
    } catch (e) {
      const refused = toChive(e, 'CONSENSUS_UNAVAILABLE', 'cached consensus');
      this.cacheError = new ChiveError(refused.code, `cached consensus in ${path} refused (${refused.code}): ${refused.message}`, { cause: e });
      this.options.log?.('warn', 'cached consensus refused', { why: why(refused) });
      return null;
    }
  }

  /** Fetches a consensus (see the module comment); resolves with the one held afterwards. */
  refresh(): Promise<CheckedConsensus> {
    this.refreshing ??= this.fetchFromAuthorities().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /**
   * Loads the cache, fetches unless it is fresh, and keeps the consensus fresh until
   * stop(). Resolves with the first valid consensus; retries every `retryMs` for up to
   * `bootstrapTimeoutMs`, then rejects with the last error (the refresher keeps running:
   * call stop() to end it).
   */
  async start(): Promise<CheckedConsensus> {
    this.stopped = false;
    const cached = this.loadCache();
    if (cached && isConsensusFresh(cached, this.now())) {
      this.scheduleNext();
      return cached;
    }
    const deadline = this.now() + (this.options.bootstrapTimeoutMs ?? 0);
    for (;;) {
      try {
        const c = await this.refresh();
        this.scheduleNext();
        return c;
      } catch (e) {
        if (this.stopped || this.now() + this.retryMs() > deadline) {
          this.scheduleNext();
          throw e;
        }
        await new Promise((resolve) => setTimeout(resolve, this.retryMs()));
      }
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private retryMs(): number {
    if (this.options.retryMs !== undefined) return this.options.retryMs;
    const c = this.held?.consensus;
    const fresh = c ? c.freshUntil - c.validAfter : this.network.timing.votingIntervalMs;
    return Math.min(60_000, Math.max(250, Math.floor(fresh / 10)));
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const now = this.now();
    const due = this.held && this.held.refetchAt > now ? this.held.refetchAt : now + this.retryMs();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refresh().catch(() => {}).finally(() => this.scheduleNext());
    }, due - now);
    this.timer.unref();
  }

  private shuffledAuthorities(): PinnedAuthority[] {
    const list = [...this.network.authorities];
    for (let i = list.length - 1; i > 0; i--) {
      const r = this.rng(4);
      const j = (((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) >>> 0) % (i + 1);
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    return list;
  }

  private async fetchFromAuthorities(): Promise<CheckedConsensus> {
    const failures: { authority: PinnedAuthority; error: ChiveError }[] = [];
    for (const authority of this.shuffledAuthorities()) {
      try {
        const bytes = await fetchConsensusBytes(authority.url, { timeoutMs: this.options.fetchTimeoutMs ?? 10_000 });
        const consensus = checkConsensus(this.provider, decodeConsensus(bytes), this.pinned, this.now());
        const held = this.current();
        if (held && consensus.validAfter <= held.validAfter) {
          if (isConsensusFresh(held, this.now())) return held;
          this.options.log?.('debug', 'authority has nothing newer than the consensus held', { authority: authority.name });
          continue;
        }
        this.adopt(consensus, bytes, true);
        this.lastError = null;
        return consensus;
      } catch (e) {
        failures.push({ authority, error: toChive(e, 'CONSENSUS_UNAVAILABLE', `consensus from ${authority.url}`) });
      }
    }
    const held = this.current();
    if (held) return held;
    const error = this.aggregate(failures);
    this.lastError = error;
    for (const listener of this.listeners.error) listener(error);
    throw error;
  }

  private aggregate(failures: readonly { authority: PinnedAuthority; error: ChiveError }[]): ChiveError {
    const refusal = failures.find((f) => f.error.fault === 'crypto' || f.error.fault === 'peer');
    const code: ErrorCode = refusal?.error.code ?? 'CONSENSUS_UNAVAILABLE';
    const reasons = failures.map((f) => `${f.authority.name} (${f.authority.url}): ${why(f.error)}`);
    const cache = this.cacheError ? `; ${this.cacheError.message}` : '';
    return new ChiveError(
      code,
      `no acceptable consensus from the ${this.network.authorities.length} pinned authorities — ${reasons.join('; ')}${cache}`,
      { cause: refusal?.error ?? failures[0]?.error },
    );
  }

  private adopt(consensus: CheckedConsensus, bytes: Uint8Array, save: boolean): void {
    const span = Math.max(0, consensus.validUntil - consensus.freshUntil);
    const r = this.rng(4);
    const u = (((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) >>> 0) / 2 ** 32;
    const refetchAt = consensus.freshUntil + Math.floor(u * (this.options.refetchSpread ?? DEFAULT_REFETCH_SPREAD) * span);
    this.held = { consensus, bytes, refetchAt };
    const path = this.cachePath;
    if (save && path && this.options.dataDir !== undefined) {
      ensureDataDir(this.options.dataDir);
      writeFileAtomic(path, bytes, 0o600);
    }
    this.options.log?.('info', 'consensus', { validAfter: consensus.validAfter, relays: consensus.relays.length, signers: consensus.validSigners.length });
    for (const listener of this.listeners.consensus) listener(consensus);
  }
}

function toChive(e: unknown, code: ErrorCode, what: string): ChiveError {
  if (isChiveError(e)) return e;
  return new ChiveError(code, `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}
