/**
 * The launcher behind `chive testnet`: a local chive network on 127.0.0.1 with one OS
 * process per node, composed only through the roles' command-line interfaces
 * (`chive directory`, `chive relay`).
 *
 *   launchTestnet({ dir, authorities: 3, relays: 6, exits: 2 }) → Testnet
 *
 * Order of events: (1) each authority's identity key is created in `<dir>/authN/` by
 * `chive directory --print-identity`; (2) ports are chosen (free ones, or consecutive from
 * `basePort`: authorities, then relay ORPorts, then relay metrics ports); (3)
 * `<dir>/network.json` is written (testnet, the authorities' URLs and identities, the
 * timing); (4) the authorities start and report listening; (5) the relays start
 * (`relayN`, the first `exits` of them with ExitPolicy "accept 127.0.0.1/32:*") and report
 * listening; (6) the authorities are polled until one serves a consensus, signed by a
 * majority of them, that lists every relay at the URL it reported. Each node has its
 * data directory `<dir>/<name>/` and its log `<dir>/<name>/log`. Any failure on the way
 * stops every process started so far and throws a ChiveError (TESTNET_DIR_UNUSABLE,
 * TESTNET_NODE_FAILED with the node's log tail, TESTNET_NOT_READY).
 *
 * A data directory left by an earlier run is reused: the nodes keep their identities.
 * Not here: flags, the summary text and signals (command.ts); process plumbing
 * (node-process.ts).
 */
import { accessSync, constants as fsConstants, mkdirSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { ChiveError, isChiveError } from '../src/errors.js';
import { fromHex, toHex } from '../src/bytes.js';
import { loadCryptoProvider } from '../src/crypto/load.js';
import { type CheckedConsensus, checkConsensus, decodeConsensus, relayFlagNames } from '../src/dirdoc/index.js';
import { fetchConsensusBytes } from '../src/io/directory-client.js';
import {
  MAX_VOTING_INTERVAL_MS, MIN_VOTING_INTERVAL_MS, type NetworkConfig, TESTNET_TIMING, pinnedIdentities, writeNetworkFile,
} from '../src/io/network-file.js';
import { MAX_CONSENSUS_SIGNATURES } from '../src/wire/constants.js';
import { type NodeExit, NodeProcess, runChive } from './node-process.js';
import { LOOPBACK, choosePorts } from './ports.js';

export const DEFAULT_AUTHORITIES = 3;
export const DEFAULT_RELAYS = 6;
export const DEFAULT_EXITS = 2;
export const MAX_TESTNET_RELAYS = 200;
/** The exit policy of the testnet's exit relays: anything on this machine, nothing else. */
export const TESTNET_EXIT_POLICY = 'accept 127.0.0.1/32:*';
/** Time a node has to print its listening line. */
const NODE_START_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 300;

export interface LaunchTestnetOptions {
  /** Folder holding network.json and one folder per node (created if missing). */
  readonly dir: string;
  readonly authorities?: number;
  readonly relays?: number;
  /** How many of the relays are exits (the first ones). */
  readonly exits?: number;
  /** Length of a consensus period; default TESTNET_TIMING (10 s). */
  readonly votingIntervalMs?: number;
  /** 0 (default): free ports; otherwise authorities at base…, then relays, then metrics ports. */
  readonly basePort?: number;
  /** Time allowed from start to a consensus listing every relay; default max(60 s, 4 periods + 20 s). */
  readonly readyTimeoutMs?: number;
  /** Extra `chive relay` flags given to every relay (e.g. ['--CreateRate', '0'] for a bench). */
  readonly relayFlags?: readonly string[];
  /** SIGTERM → SIGKILL grace when stopping a node (default 5 s). */
  readonly stopGraceMs?: number;
  /** Human progress lines ("starting relays… 3/6"). */
  readonly onProgress?: (line: string) => void;
  /** Aborting stops every node started so far and rejects (TESTNET_INTERRUPTED); only before ready. */
  readonly signal?: AbortSignal;
  /** A node died while the network ran (after launchTestnet resolved); `message` has its log tail. */
  readonly onNodeExit?: (name: string, exit: NodeExit, message: string) => void;
}

export interface TestnetAuthority {
  readonly name: string;
  readonly url: string;
  /** Hex Ed25519 identity. */
  readonly identity: string;
  readonly pid: number;
  readonly dataDir: string;
  readonly logFile: string;
}

export interface TestnetRelay {
  readonly nickname: string;
  /** ws URL the relay listens on (its descriptor address). */
  readonly url: string;
  /** Hex Ed25519 identity. */
  readonly identity: string;
  readonly exit: boolean;
  readonly pid: number;
  /** Base URL of its /metrics and /status.json endpoint. */
  readonly metricsUrl: string | null;
  /** Flag names the first complete consensus gave it (RUNNING, FAST, …). */
  readonly flags: readonly string[];
  readonly dataDir: string;
  readonly logFile: string;
}

export interface Testnet {
  /** Absolute path of `<dir>/network.json`. */
  readonly networkFile: string;
  readonly network: NetworkConfig;
  readonly authorities: readonly TestnetAuthority[];
  readonly relays: readonly TestnetRelay[];
  /** The consensus that made the network ready (lists every relay). */
  readonly consensus: CheckedConsensus;
  /** Which authority served it. */
  readonly consensusFrom: string;
  /** Milliseconds from launchTestnet() to ready. */
  readonly readyMs: number;
  /** Names of nodes that died while running (not by stop()). */
  readonly deadNodes: readonly string[];
  /** Stops every node: SIGTERM, wait, SIGKILL after the grace period. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILLs every node at once (a second Ctrl-C). */
  kill(): Promise<void>;
}

function checkCount(value: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new ChiveError('INVALID_ARGUMENT', `${what} must be a whole number in ${min}..${max}, got ${value}`);
  return value;
}

function prepareDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    accessSync(path, fsConstants.W_OK | fsConstants.X_OK);
  } catch (e) {
    throw new ChiveError('TESTNET_DIR_UNUSABLE', `cannot use ${path} as a testnet folder: ${(e as Error).message}`, { cause: e });
  }
}

async function waitAll(nodes: readonly NodeProcess[], what: string, progress: (line: string) => void) {
  let done = 0;
  progress(`starting ${what}… 0/${nodes.length}`);
  return Promise.all(nodes.map(async (node) => {
    const event = await node.waitListening(NODE_START_TIMEOUT_MS);
    progress(`starting ${what}… ${++done}/${nodes.length}`);
    return event;
  }));
}

/** Starts the network; resolves once a consensus lists every relay (see the module comment). */
export async function launchTestnet(options: LaunchTestnetOptions): Promise<Testnet> {
  const started = Date.now();
  const authorityCount = checkCount(options.authorities ?? DEFAULT_AUTHORITIES, 1, MAX_CONSENSUS_SIGNATURES, 'the number of authorities');
  const relayCount = checkCount(options.relays ?? DEFAULT_RELAYS, 1, MAX_TESTNET_RELAYS, 'the number of relays');
  const exitCount = checkCount(options.exits ?? Math.min(DEFAULT_EXITS, relayCount), 0, relayCount, 'the number of exits (at most the number of relays)');
  const votingIntervalMs = checkCount(options.votingIntervalMs ?? TESTNET_TIMING.votingIntervalMs, MIN_VOTING_INTERVAL_MS, MAX_VOTING_INTERVAL_MS, 'the voting interval (ms)');
  const readyTimeoutMs = options.readyTimeoutMs ?? Math.max(60_000, 4 * votingIntervalMs + 20_000);
  const progress = options.onProgress ?? (() => {});
  const dir = resolvePath(options.dir);
  prepareDir(dir);

  const nodes: NodeProcess[] = [];
  const deadNodes: string[] = [];
  let stopping: Promise<void> | null = null;
  const stopAll = (graceMs = options.stopGraceMs): Promise<void> =>
    (stopping ??= Promise.all(nodes.map((n) => n.stop(graceMs))).then(() => {}));
  const killAll = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.kill()));
    await stopAll();
  };
  let launchFailure: ((e: ChiveError) => void) | null = null;
  const failedNode = new Promise<never>((_, reject) => {
    launchFailure = reject;
  });
  failedNode.catch(() => {});
  const onAbort = (): void => launchFailure?.(new ChiveError('TESTNET_INTERRUPTED', 'interrupted before the network was ready'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const polling = new AbortController();
  /** `p`, unless a node dies or the launch is aborted first. */
  const unlessFailed = <T>(p: Promise<T>): Promise<T> => Promise.race([p, failedNode]);
  let ready = false;
  const watch = (node: NodeProcess): void =>
    node.onUnexpectedExit((exit) => {
      deadNodes.push(node.name);
      const message = node.deathMessage(exit);
      if (!ready) launchFailure?.(new ChiveError('TESTNET_NODE_FAILED', `a node died while the network was starting: ${message}`));
      else options.onNodeExit?.(node.name, exit, message);
    });

  try {
    const authNames = Array.from({ length: authorityCount }, (_, i) => `auth${i}`);
    const relayNames = Array.from({ length: relayCount }, (_, i) => `relay${i}`);
    for (const name of [...authNames, ...relayNames]) prepareDir(join(dir, name));

    progress(`creating ${authorityCount} authority identities…`);
    const identities = await unlessFailed(Promise.all(authNames.map(async (name) => {
      const out = await runChive(name, ['directory', '--print-identity', '--data-dir', join(dir, name)]);
      const hex = out.trim().split('\n').pop() ?? '';
      if (!/^[0-9a-f]{64}$/.test(hex)) throw new ChiveError('TESTNET_NODE_FAILED', `${name}: --print-identity printed ${JSON.stringify(out.slice(0, 200))}, not a hex identity`);
      return hex;
    })));

    const ports = await unlessFailed(choosePorts(options.basePort ?? 0, authorityCount + 2 * relayCount));
    const network: NetworkConfig = {
      testnet: true,
      authorities: authNames.map((name, i) => ({ name, url: `http://${LOOPBACK}:${ports[i]}`, identity: fromHex(identities[i]!) })),
      timing: { ...TESTNET_TIMING, votingIntervalMs },
    };
    const networkFile = join(dir, 'network.json');
    try {
      writeNetworkFile(networkFile, network);
    } catch (e) {
      if (isChiveError(e)) throw e;
      throw new ChiveError('TESTNET_DIR_UNUSABLE', `cannot write ${networkFile}: ${(e as Error).message}`, { cause: e });
    }

    const authNodes = authNames.map((name, i) => {
      const args = ['directory', '--data-dir', join(dir, name), '--port', String(ports[i]), '--host', LOOPBACK, '--network', networkFile];
      const node = new NodeProcess(name, args, join(dir, name, 'log'));
      nodes.push(node);
      watch(node);
      return node;
    });
    const authEvents = await unlessFailed(waitAll(authNodes, 'authorities', progress));
    const authorities: TestnetAuthority[] = authNodes.map((node, i) => ({
      name: node.name, url: authEvents[i]!.url, identity: authEvents[i]!.identity, pid: node.pid, dataDir: join(dir, node.name), logFile: node.logFile,
    }));

    const relayNodes = relayNames.map((name, i) => {
      const dataDir = join(dir, name);
      const args = [
        'relay', '--DataDirectory', dataDir, '--Nickname', name, '--Address', LOOPBACK,
        '--ORPort', String(options.basePort ? ports[authorityCount + i] : 0), '--Network', networkFile, '--Testnet', '1',
        '--LogFile', join(dataDir, 'log'), '--MetricsPort', String(ports[authorityCount + relayCount + i]),
        ...(i < exitCount ? ['--ExitPolicy', TESTNET_EXIT_POLICY] : []),
        ...(options.relayFlags ?? []),
      ];
      const node = new NodeProcess(name, args, join(dataDir, 'log'));
      nodes.push(node);
      watch(node);
      return node;
    });
    const relayEvents = await unlessFailed(waitAll(relayNodes, 'relays', progress));

    progress('waiting for the first consensus…');
    const deadline = started + readyTimeoutMs;
    const { consensus, from } = await unlessFailed(waitForConsensus(network, authorities, relayEvents, deadline, progress, polling.signal));
    ready = true;
    const listed = new Map(consensus.relays.map((r) => [toHex(r.identity), r]));
    const relays: TestnetRelay[] = relayNodes.map((node, i) => ({
      nickname: node.name,
      url: relayEvents[i]!.url,
      identity: relayEvents[i]!.identity,
      exit: i < exitCount,
      pid: node.pid,
      metricsUrl: relayEvents[i]!.metricsUrl ?? null,
      flags: relayFlagNames(listed.get(relayEvents[i]!.identity)?.flags ?? 0),
      dataDir: join(dir, node.name),
      logFile: node.logFile,
    }));
    return {
      networkFile, network, authorities, relays, consensus, consensusFrom: from,
      readyMs: Date.now() - started, deadNodes,
      stop: () => stopAll(),
      kill: killAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  } finally {
    polling.abort();
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Polls the authorities until one serves a majority-signed consensus listing every relay at its URL. */
async function waitForConsensus(
  network: NetworkConfig, authorities: readonly TestnetAuthority[], relays: readonly { url: string; identity: string }[],
  deadline: number, progress: (line: string) => void, signal: AbortSignal,
): Promise<{ consensus: CheckedConsensus; from: string }> {
  const provider = loadCryptoProvider('auto');
  const pinned = pinnedIdentities(network);
  let bestListed = -1;
  const lastError = new Map<string, string>();
  for (;;) {
    for (const a of authorities) {
      if (signal.aborted) throw new ChiveError('TESTNET_INTERRUPTED', 'stopped waiting for the consensus');
      try {
        const bytes = await fetchConsensusBytes(a.url, { timeoutMs: 2_000, signal });
        const consensus = checkConsensus(provider, decodeConsensus(bytes), pinned, Date.now());
        const byIdentity = new Map(consensus.relays.map((r) => [toHex(r.identity), r.address]));
        const listed = relays.filter((r) => byIdentity.get(r.identity) === r.url).length;
        if (listed > bestListed) {
          bestListed = listed;
          progress(`waiting for the first consensus… ${listed}/${relays.length} relays listed`);
        }
        if (listed === relays.length) return { consensus, from: a.name };
        lastError.set(a.name, `its consensus lists ${listed}/${relays.length} relays`);
      } catch (e) {
        lastError.set(a.name, isChiveError(e) ? `${e.code}: ${e.message}` : String(e));
      }
    }
    if (Date.now() + POLL_INTERVAL_MS > deadline) {
      const why = [...lastError].map(([name, reason]) => `  ${name}: ${reason}`).join('\n');
      throw new ChiveError('TESTNET_NOT_READY', `no authority served a consensus listing all ${relays.length} relays in time; last answers:\n${why}\n(see the logs in each node's folder)`);
    }
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}
