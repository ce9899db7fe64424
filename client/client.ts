/**
 * The chive client: bootstraps from a network file (consensus → guards → first circuit,
 * with progress events), picks paths, builds circuits within a learned timeout, retries on
 * other relays (never forever), keeps a small pool of preemptive exit circuits, and opens
 * streams over them. The SOCKS front end, the test network and the benchmarks use it.
 *
 * Not the wire (client/circuit.ts), the path rules (client/path-selection.ts), the guard
 * rules (client/guards.ts) or the timeout statistics (client/build-timeout.ts).
 */
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { loadCryptoProvider } from '../src/crypto/load.js';
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import { ChiveError, isChiveError } from '../src/errors.js';
import { exitPolicyAllows, type CheckedConsensus, type ConsensusRelay } from '../src/dirdoc/index.js';
import { ensureDataDir } from '../src/io/key-files.js';
import type { NetworkConfig } from '../src/io/network-file.js';
import { toHex } from '../src/bytes.js';
import { BuildTimeoutEstimator, DEFAULT_BUILD_TIMEOUT_OPTIONS, TESTNET_BUILD_TIMEOUT_OPTIONS } from './build-timeout.js';
import { buildCircuit, extendCircuit, CircuitBuildError } from './circuit-builder.js';
import type { ClientCircuit } from './circuit.js';
import { ConsensusClient } from './consensus.js';
import { GuardState, DEFAULT_GUARD_OPTIONS, TESTNET_GUARD_OPTIONS } from './guards.js';
import { loadGuardState, saveGuardState, guardStatePath } from './guard-store.js';
import { LinkPool } from './link-pool.js';
import { relayInfoFromConsensus, selectPath, subnetKey, unitRngFrom, type PathTarget } from './path-selection.js';

/** Floor of the time a circuit build may take before it is abandoned (see abandonAfterMs). */
export const MIN_ABANDON_MS = 1_000;
/** How long a relay a build could not reach is left out of new paths. */
export const UNREACHABLE_FOR_MS = 60_000;

export type BootstrapStage = 'consensus' | 'guards' | 'circuit' | 'ready';
export interface BootstrapProgress {
  readonly stage: BootstrapStage;
  /** ms since bootstrap() began. */
  readonly elapsedMs: number;
}

export interface ClientOptions {
  readonly network: NetworkConfig;
  /** Where the consensus cache and guards live (none kept when absent). */
  readonly dataDir?: string;
  readonly provider?: CryptoProvider;
  readonly rng?: Rng;
  /** Allow two relays of one /16 in a path (default: the network file's testnet flag). */
  readonly allowSameSubnet?: boolean;
  /** Exit circuits kept built ahead of need (default 2). */
  readonly preemptiveCircuits?: number;
  /** Build attempts per request, each on a fresh path (default 3). */
  readonly maxBuildAttempts?: number;
  readonly streamTimeoutMs?: number;
  readonly onProgress?: (p: BootstrapProgress) => void;
  readonly log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /**
   * Relays (Ed25519 identities) never used as guard or middle — like Tor's ExcludeNodes; a
   * relay named as a request's `lastHop` may still be that last hop.
   */
  readonly excludeRelays?: readonly Uint8Array[];
  /**
   * Two-hop stubs kept built ahead of need (default 0): a request for a 3-hop circuit to a
   * named last hop (rendezvous, introduction, HSDir) extends one instead of building anew.
   */
  readonly stubCircuits?: number;
}

export interface CircuitRequest {
  /** The stream target: the last hop must be an exit allowing it. Absent: any last hop. */
  readonly target?: PathTarget;
  readonly hops?: number;
  readonly lastHop?: Uint8Array;
  /** Relays this circuit must not use except as `lastHop`. */
  readonly avoid?: readonly Uint8Array[];
}

export class ChiveClient {
  readonly provider: CryptoProvider;
  readonly rng: Rng;
  readonly consensus: ConsensusClient;
  readonly pool: LinkPool;
  readonly timeouts: BuildTimeoutEstimator;
  private guards: GuardState;
  private readonly circuits = new Set<ClientCircuit>();
  /** Preemptive 2-hop stubs (built, not marked built), for requests that name their last hop. */
  private readonly stubs: { circuit: ClientCircuit; path: ConsensusRelay[] }[] = [];
  private stubbing = false;
  private readonly allowSameSubnet: boolean;
  private readonly unitRng: () => number;
  private closed = false;
  private replenishing = false;
  /** Failures and timeouts of circuit builds since start (for chive bench). */
  readonly stats = { builds: 0, buildFailures: 0, buildTimeouts: 0 };

  constructor(private readonly options: ClientOptions) {
    this.provider = options.provider ?? loadCryptoProvider();
    this.rng = options.rng ?? ((n) => this.provider.randomBytes(n));
    this.unitRng = unitRngFrom(this.rng);
    this.allowSameSubnet = options.allowSameSubnet ?? options.network.testnet;
    if (options.dataDir) ensureDataDir(options.dataDir);
    this.consensus = new ConsensusClient({
      provider: this.provider,
      network: options.network,
      dataDir: options.dataDir,
      bootstrapTimeoutMs: 30_000,
      log: options.log,
    });
    this.pool = new LinkPool({ provider: this.provider, rng: this.rng, connectTimeoutMs: 5_000 });
    const testnet = options.network.testnet;
    this.timeouts = new BuildTimeoutEstimator(testnet ? TESTNET_BUILD_TIMEOUT_OPTIONS : DEFAULT_BUILD_TIMEOUT_OPTIONS);
    const guardOptions = testnet ? TESTNET_GUARD_OPTIONS : DEFAULT_GUARD_OPTIONS;
    this.guards = options.dataDir ? loadGuardState(guardStatePath(options.dataDir), guardOptions) : new GuardState(guardOptions);
  }

  /** Consensus → guards → first circuit. Resolves with the time it took. */
  async bootstrap(): Promise<{ bootstrapMs: number }> {
    const t0 = performance.now();
    const progress = (stage: BootstrapStage) => this.options.onProgress?.({ stage, elapsedMs: performance.now() - t0 });
    const consensus = await this.consensus.start();
    progress('consensus');
    this.updateGuards(consensus);
    this.consensus.onConsensus((c) => this.updateGuards(c));
    progress('guards');
    const first = await this.getCircuit({});
    void first;
    progress('circuit');
    void this.replenish();
    void this.replenishStubs();
    progress('ready');
    return { bootstrapMs: performance.now() - t0 };
  }

  private updateGuards(consensus: CheckedConsensus): void {
    this.guards.update(consensus, Date.now(), this.unitRng);
    this.saveGuards();
  }

  private saveGuards(): void {
    if (this.options.dataDir) saveGuardState(guardStatePath(this.options.dataDir), this.guards);
  }

  private requireConsensus(): CheckedConsensus {
    const c = this.consensus.current();
    if (!c) throw new ChiveError('CONSENSUS_EXPIRED', 'the client holds no valid consensus (bootstrap first)');
    return c;
  }

  /** Builds a new circuit for `request`, retrying on fresh paths; never retries forever. */
  async buildCircuit(request: CircuitRequest = {}): Promise<ClientCircuit> {
    if (request.lastHop && this.isRecentlyUnreachable(request.lastHop)) {
      throw new ChiveError('CIRCUIT_BUILD_FAILED', 'the requested last hop could not be reached moments ago');
    }
    const fromStub = await this.extendStub(request);
    if (fromStub) return fromStub;
    const attempts = this.options.maxBuildAttempts ?? 3;
    const exclude: Uint8Array[] = [];
    const lastHopHex = request.lastHop ? toHex(request.lastHop) : null;
    const avoid = [...(this.options.excludeRelays ?? []), ...(request.avoid ?? []), ...this.unreachableRelays()]
      .filter((id) => toHex(id) !== lastHopHex);
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.closed) throw new ChiveError('CIRCUIT_CLOSED', 'the client is closed');
      const consensus = this.requireConsensus();
      const pathOptions = {
        hops: request.hops,
        target: request.target,
        lastHop: request.lastHop,
        guards: this.guards.firstHops(Date.now()),
        allowSameSubnet: this.allowSameSubnet,
        rng: this.unitRng,
      };
      let path: ConsensusRelay[];
      try {
        path = selectPath(consensus, { ...pathOptions, exclude: [...avoid, ...exclude] });
      } catch (e) {
        // Excluding the relays that failed left no path (few exits): try again with every
        // relay rather than report a path error the network does not have.
        if (exclude.length === 0) throw e;
        path = selectPath(consensus, { ...pathOptions, exclude: avoid });
      }
      const timeoutMs = this.abandonAfterMs(path.length);
      const started = performance.now();
      this.stats.builds += 1;
      try {
        const circuit = await buildCircuit({
          provider: this.provider,
          rng: this.rng,
          pool: this.pool,
          path: path.map(relayInfoFromConsensus),
          timeoutMs,
        });
        this.timeouts.record(performance.now() - started);
        if (this.guards.recordSuccess(path[0]!.identity, Date.now())) this.saveGuards();
        this.track(circuit);
        return circuit;
      } catch (e) {
        lastError = e;
        this.stats.buildFailures += 1;
        const hop = e instanceof CircuitBuildError ? e.hop : 0;
        if (isChiveError(e, 'CIRCUIT_BUILD_TIMEOUT')) {
          this.stats.buildTimeouts += 1;
          this.timeouts.recordTimeout(performance.now() - started);
        }
        const culprit: ConsensusRelay | undefined = path[hop];
        if (culprit) {
          exclude.push(culprit.identity);
          if (unreachable(e)) this.markUnreachable(culprit.identity);
        }
        if (hop === 0) {
          this.guards.recordFailure(path[0]!.identity, Date.now());
          this.saveGuards();
        }
        this.options.log?.('warn', 'circuit build failed', { attempt, hop, code: isChiveError(e) ? e.code : 'UNKNOWN' });
      }
    }
    throw new ChiveError('CIRCUIT_BUILD_FAILED', `no circuit after ${attempts} attempts: ${describe(lastError)}`, { cause: lastError });
  }

  /**
   * How long a build may take before it is abandoned. As Tor does, the learned timeout (the
   * 80th percentile) only marks a build as slow; the build is abandoned at the close
   * timeout (the 99th percentile), scaled to the path length, and never before
   * MIN_ABANDON_MS: on a loopback network the quantiles are a few ms, and a garbage
   * collection or a busy core must not turn into a failed circuit.
   */
  private abandonAfterMs(hops: number): number {
    const scale = (hops * (hops + 1)) / 12;
    return Math.max(MIN_ABANDON_MS, this.timeouts.closeTimeoutMs * scale);
  }

  private track(circuit: ClientCircuit): void {
    this.circuits.add(circuit);
    circuit.onClose(() => {
      this.circuits.delete(circuit);
      void this.replenish();
    });
  }

  /** An open circuit able to serve `request` (reused when one fits), else a new one. */
  async getCircuit(request: CircuitRequest): Promise<ClientCircuit> {
    for (const c of this.circuits) {
      if (!c.closed && this.fits(c, request)) return c;
    }
    const c = await this.buildCircuit(request);
    return c;
  }

  private fits(c: ClientCircuit, request: CircuitRequest): boolean {
    if (request.hops !== undefined && c.hops.length !== request.hops) return false;
    if (request.lastHop && toHex(c.hops[c.hops.length - 1]!.identity) !== toHex(request.lastHop)) return false;
    if (!request.target) return true;
    const consensus = this.consensus.current();
    const exitId = toHex(c.hops[c.hops.length - 1]!.identity);
    const exit = consensus?.relays.find((r) => toHex(r.identity) === exitId);
    if (!exit) return false;
    try {
      return exitPolicyAllows(exit.exitPolicy, request.target.host, request.target.port);
    } catch {
      return false; // a host name: only a fresh path check can say
    }
  }

  /**
   * Relays a build could not reach (no link, or the previous hop could not connect to
   * them) are left out of new paths for UNREACHABLE_FOR_MS: after a relay dies, the
   * consensus lists it until the next vote, and every build through it would fail.
   */
  private readonly unreachable = new Map<string, { identity: Uint8Array; until: number }>();

  private markUnreachable(identity: Uint8Array): void {
    this.unreachable.set(toHex(identity), { identity, until: Date.now() + UNREACHABLE_FOR_MS });
  }

  /** True when a build failed to reach this relay within the last UNREACHABLE_FOR_MS. */
  isRecentlyUnreachable(identity: Uint8Array): boolean {
    const entry = this.unreachable.get(toHex(identity));
    if (!entry) return false;
    if (entry.until > Date.now()) return true;
    this.unreachable.delete(toHex(identity));
    return false;
  }

  private unreachableRelays(): Uint8Array[] {
    const now = Date.now();
    const out: Uint8Array[] = [];
    for (const [key, entry] of this.unreachable) {
      if (entry.until > now) out.push(entry.identity);
      else this.unreachable.delete(key);
    }
    return out;
  }

  /**
   * A stub extended to `request.lastHop`, when the request is a 3-hop circuit to a named
   * last hop and a stub fits it (no relay twice, no shared family or /16 unless allowed,
   * nothing the request avoids); null to build from scratch (also when extending fails).
   */
  private async extendStub(request: CircuitRequest): Promise<ClientCircuit | null> {
    if (!request.lastHop || (request.hops ?? 3) !== 3 || request.target) return null;
    const consensus = this.consensus.current();
    const last = consensus?.relays.find((r) => toHex(r.identity) === toHex(request.lastHop!));
    void this.replenishStubs();
    if (!last) return null;
    const avoid = new Set([...(this.options.excludeRelays ?? []), ...(request.avoid ?? [])].map(toHex));
    const lastId = toHex(last.identity);
    const lastFamily = new Set(last.family.map(toHex));
    const i = this.stubs.findIndex(({ circuit, path }) => !circuit.closed && path.every((r) => {
      const id = toHex(r.identity);
      return id !== lastId && !avoid.has(id) && !lastFamily.has(id) && !r.family.some((f) => toHex(f) === lastId)
        && (this.allowSameSubnet || subnetKey(r.address) !== subnetKey(last.address));
    }));
    if (i < 0) return null;
    const [stub] = this.stubs.splice(i, 1);
    void this.replenishStubs();
    try {
      const circuit = await extendCircuit({ provider: this.provider, rng: this.rng, circuit: stub!.circuit, relay: relayInfoFromConsensus(last), timeoutMs: this.abandonAfterMs(3) });
      this.track(circuit);
      return circuit;
    } catch (e) {
      this.options.log?.('debug', 'extending a preemptive stub failed; building afresh', { code: isChiveError(e) ? e.code : 'UNKNOWN' });
      if (unreachable(e)) this.markUnreachable(last.identity);
      return null;
    }
  }

  /** Keeps `stubCircuits` two-hop stubs ready (in the background; failures are logged). */
  private async replenishStubs(): Promise<void> {
    const want = this.options.stubCircuits ?? 0;
    if (this.stubbing || this.closed || want === 0) return;
    this.stubbing = true;
    try {
      let failures = 0;
      for (let k = this.stubs.length - 1; k >= 0; k--) if (this.stubs[k]!.circuit.closed) this.stubs.splice(k, 1);
      while (!this.closed && this.stubs.length < want && failures < 3) {
        try {
          const consensus = this.requireConsensus();
          const path = selectPath(consensus, {
            hops: 2, guards: this.guards.firstHops(Date.now()), allowSameSubnet: this.allowSameSubnet, rng: this.unitRng,
            exclude: [...(this.options.excludeRelays ?? []), ...this.unreachableRelays()],
          });
          const circuit = await buildCircuit({ provider: this.provider, rng: this.rng, pool: this.pool, path: path.map(relayInfoFromConsensus), timeoutMs: this.abandonAfterMs(2), stub: true });
          if (this.closed) circuit.destroy();
          else this.stubs.push({ circuit, path });
        } catch {
          failures += 1;
        }
      }
    } finally {
      this.stubbing = false;
    }
  }

  /** Keeps `preemptiveCircuits` open circuits ready (in the background; failures are logged). */
  private async replenish(): Promise<void> {
    if (this.replenishing || this.closed) return;
    this.replenishing = true;
    try {
      const want = this.options.preemptiveCircuits ?? 2;
      let failures = 0;
      while (!this.closed && this.circuits.size < want && failures < 3) {
        try {
          await this.buildCircuit({});
        } catch {
          failures += 1;
        }
      }
    } finally {
      this.replenishing = false;
    }
  }

  /** Opens a stream to host:port through an exit that allows it; one retry on a fresh circuit. */
  async openStream(host: string, port: number): Promise<Duplex> {
    const timeoutMs = this.options.streamTimeoutMs ?? 15_000;
    let lastError: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      const circuit = attempt === 0 ? await this.getCircuit({ target: { host, port } }) : await this.buildCircuit({ target: { host, port } });
      try {
        return await circuit.openStream(host, port, { timeoutMs });
      } catch (e) {
        lastError = e;
        // The exit's own refusal (policy, connection refused) is final: retrying elsewhere
        // would not change the answer for the same target and policy.
        if (isChiveError(e, 'STREAM_REFUSED')) throw e;
      }
    }
    throw lastError;
  }

  /** Open circuits (for /circuit and the monitor). */
  openCircuits(): ClientCircuit[] {
    return [...this.circuits].filter((c) => !c.closed);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.consensus.stop();
    for (const c of this.circuits) c.destroy();
    this.circuits.clear();
    for (const s of this.stubs.splice(0)) s.circuit.destroy();
    await this.pool.close();
  }
}

/** A build failure that says the relay itself could not be reached (not a refusal or a timeout). */
function unreachable(e: unknown): boolean {
  if (!isChiveError(e)) return false;
  const cause = (e as { cause?: unknown }).cause;
  if (isChiveError(cause, 'LINK_CONNECT_FAILED') || isChiveError(cause, 'LINK_REFUSED')) return true;
  return e.code === 'EXTEND_REFUSED' && /CONNECT_FAILED/.test(e.message);
}

function describe(e: unknown): string {
  return isChiveError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
}

export function defaultClientDataDir(base: string, name = 'client'): string {
  return join(base, name);
}
