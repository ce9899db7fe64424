/**
 * The network a `chive bench` run measures, and its client: one of
 *   - "in-process": createTestNetwork (every node in this process, random loopback ports);
 *   - "processes": launchTestnet (one OS process per node, in a temp folder or `dir`);
 *   - "network": an existing network from its network file.
 * Each comes with a bootstrapped ChiveClient that builds no preemptive circuits (so no
 * build runs behind the bench's back) and a bench server target (bench-server.ts) the
 * exits allow: started here on 127.0.0.1 unless the caller names one.
 *
 * Not here: what is measured (bench.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { ChiveError } from '../src/errors.js';
import { loadNetworkFile } from '../src/io/network-file.js';
import { ChiveClient, type ClientOptions } from '../client/client.js';
import { startBenchServer } from './bench-server.js';
import { inProcessCpuMeter, perProcessCpuMeter, unavailableCpuMeter, type CpuMeter } from './bench-cpu.js';
import { launchTestnet } from './launcher.js';
import { createTestNetwork } from './test-network.js';

export type BenchMode = 'in-process' | 'processes' | 'network';

export interface BenchNetworkOptions {
  readonly mode: BenchMode;
  readonly authorities: number;
  readonly relays: number;
  readonly exits: number;
  readonly votingIntervalMs: number;
  /** mode "network": the network file. */
  readonly networkFile?: string;
  /** mode "processes": the testnet folder (default: a temp folder, removed afterwards). */
  readonly dir?: string;
  /** A bench server reachable from the exits (default: one started here on 127.0.0.1). */
  readonly target?: { host: string; port: number };
  readonly provider: CryptoProvider;
  readonly log: ClientOptions['log'];
  readonly progress: (message: string) => void;
  /** Aborts starting a process network (the launcher stops what it started). */
  readonly signal?: AbortSignal;
}

export interface BenchNetwork {
  readonly client: ChiveClient;
  readonly target: { host: string; port: number };
  readonly meter: CpuMeter;
  /** What was measured: counts for in-process / processes, the file for network. */
  readonly description: { authorities: number | null; relays: number | null; exits: number | null; networkFile: string | null };
  /** ms to start the network until a consensus listed every relay (0 for an existing one). */
  readonly setupMs: number;
  readonly bootstrapMs: number;
  /** Nodes that died while the bench ran (processes). */
  readonly deadNodes: () => readonly string[];
  close(): Promise<void>;
}

export async function openBenchNetwork(options: BenchNetworkOptions): Promise<BenchNetwork> {
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  };
  try {
    let target = options.target;
    if (!target) {
      const server = await startBenchServer();
      closers.push(() => server.close());
      target = { host: server.host, port: server.port };
    }
    const clientOptions = { provider: options.provider, preemptiveCircuits: 0, log: options.log };
    const t0 = performance.now();
    let client: ChiveClient;
    let meter: CpuMeter;
    let setupMs = 0;
    let deadNodes: () => readonly string[] = () => [];
    let description: BenchNetwork['description'];
    if (options.mode === 'in-process') {
      options.progress(`starting an in-process network (${options.authorities} authorities, ${options.relays} relays, ${options.exits} exits)…`);
      const net = await createTestNetwork({
        relays: options.relays, authorities: options.authorities, exits: options.exits,
        votingIntervalMs: options.votingIntervalMs, provider: options.provider,
      });
      closers.push(() => net.close());
      options.progress('waiting for a consensus listing every relay…');
      await net.ready(60_000);
      setupMs = performance.now() - t0;
      options.progress('bootstrapping the client…');
      const b0 = performance.now();
      client = await net.client(clientOptions);
      meter = inProcessCpuMeter();
      description = { authorities: options.authorities, relays: options.relays, exits: options.exits, networkFile: null };
      const bootstrapMs = performance.now() - b0;
      return { client, target, meter, description, setupMs, bootstrapMs, deadNodes, close: closeAll };
    }
    if (options.mode === 'processes') {
      const ownDir = options.dir === undefined;
      const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'chive-bench-'));
      if (ownDir) closers.push(async () => rmSync(dir, { recursive: true, force: true }));
      const dead: string[] = [];
      const testnet = await launchTestnet({
        dir, authorities: options.authorities, relays: options.relays, exits: options.exits,
        votingIntervalMs: options.votingIntervalMs, onProgress: options.progress,
        onNodeExit: (name) => dead.push(name), signal: options.signal,
        // One process per relay: the per-process CPU meter charges each relay with its own process's CPU.
        relaysPerProcess: 1,
      });
      closers.push(() => testnet.stop());
      deadNodes = () => dead;
      await waitForRelaysToHoldConsensus(testnet.relays, options.progress, options.signal);
      setupMs = performance.now() - t0;
      meter = perProcessCpuMeter(testnet.relays.map((r) => ({ nickname: r.nickname, identity: r.identity, pid: r.pid })));
      description = { authorities: options.authorities, relays: options.relays, exits: options.exits, networkFile: testnet.networkFile };
      client = new ChiveClient({ network: testnet.network, ...clientOptions });
    } else {
      if (!options.networkFile) throw new ChiveError('INVALID_ARGUMENT', 'mode "network" needs a network file');
      const network = loadNetworkFile(options.networkFile);
      meter = unavailableCpuMeter();
      description = { authorities: network.authorities.length, relays: null, exits: null, networkFile: options.networkFile };
      client = new ChiveClient({ network, ...clientOptions });
    }
    const c = client;
    closers.push(() => c.close());
    options.progress('bootstrapping the client…');
    const { bootstrapMs } = await client.bootstrap();
    return { client, target, meter, description, setupMs, bootstrapMs, deadNodes, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** Longest wait for every relay to hold a consensus listing itself (relays poll every few seconds). */
const RELAY_CONSENSUS_WAIT_MS = 30_000;

/**
 * The launcher is ready when an authority serves a consensus; a relay only extends to
 * relays of a consensus it has fetched itself. Polls each relay's /status.json until its
 * flags (from its own consensus) are set; relays without a metrics port are not waited for.
 */
export async function waitForRelaysToHoldConsensus(
  relays: readonly { nickname: string; metricsUrl: string | null }[], progress: (message: string) => void, signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + RELAY_CONSENSUS_WAIT_MS;
  const pending = new Set(relays.filter((r) => r.metricsUrl !== null));
  const total = pending.size;
  while (pending.size > 0) {
    progress(`waiting for the relays to fetch the consensus… ${total - pending.size}/${total}`);
    for (const r of [...pending]) {
      try {
        const res = await fetch(`${r.metricsUrl}/status.json`, { signal: AbortSignal.timeout(2_000) });
        const body = (await res.json()) as { status?: { flags?: unknown } };
        if (Array.isArray(body.status?.flags) && body.status.flags.length > 0) pending.delete(r);
      } catch {
        // not answering yet: asked again below
      }
    }
    if (pending.size === 0) break;
    if (signal?.aborted) throw new ChiveError('BENCH_INTERRUPTED', 'stopped while the relays fetched the consensus');
    if (Date.now() > deadline) {
      throw new ChiveError('TESTNET_NOT_READY', `relays ${[...pending].map((r) => r.nickname).join(', ')} hold no consensus listing them after ${RELAY_CONSENSUS_WAIT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
