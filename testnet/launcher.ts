/**
 * The launcher behind `chive testnet`: a local chive network with one OS process per
 * authority and one per relay (or per `relaysPerProcess` relays), composed only through
 * the roles' command-line interfaces (`chive directory`, `chive relay`, and
 * `chive testnet run-relays` for a group of relays).
 *
 *   launchTestnet({ dir, authorities: 3, relays: 6, exits: 2 }) → Testnet
 *   launchTestnet({ dir, relays: 100, relaysPerProcess: 10 })      (ready in ~20 s on 2 cores)
 *   launchTestnet({ dir, netns: { linkDelayMs: 50 } })             (Linux, root: one namespace per process)
 *
 * Order of events: (1) each authority's identity key is created in `<dir>/authN/keys/`
 * (directory/index.ts authorityIdentity, as `chive directory --print-identity` does, without
 * a process start per authority); (2) addresses and ports are chosen: on 127.0.0.1,
 * free ports (below the ephemeral range) or consecutive ones from `basePort` (authorities,
 * relay ORPorts, relay metrics ports); with `netns`, the namespaces are set up
 * (netns.ts) and every node listens on an address of its own at fixed ports; (3)
 * `<dir>/network.json` is written (testnet, the authorities' URLs and identities, the
 * timing); (4) the authorities start and report listening; (5) the relays start
 * (`relayN`, the first `exits` of them with ExitPolicy "accept 127.0.0.1/32:*") and report
 * listening; (6) the authorities are polled until one serves a consensus, signed by a
 * majority of them, that lists every relay at the URL it reported. Each node has its
 * data directory `<dir>/<name>/` and its log `<dir>/<name>/log` (a relay group's own
 * stderr goes to `<dir>/relaysA-B.log`). Any failure on the way stops every process
 * started so far (and removes the namespaces) and throws a ChiveError
 * (TESTNET_DIR_UNUSABLE, TESTNET_NODE_FAILED with the node's log tail, TESTNET_NOT_READY,
 * TESTNET_NETNS_UNAVAILABLE / _FAILED).
 *
 * A data directory left by an earlier run is reused: the nodes keep their identities.
 * Not here: flags, the summary text and signals (command.ts); process plumbing
 * (node-process.ts); the command lines (node-plan.ts).
 */
import { accessSync, constants as fsConstants, mkdirSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { ChiveError, isChiveError } from '../src/errors.js';
import { fromHex, toHex } from '../src/bytes.js';
import { type CheckedConsensus, relayFlagNames } from '../src/dirdoc/index.js';
import {
  MAX_VOTING_INTERVAL_MS, MIN_VOTING_INTERVAL_MS, type NetworkConfig, TESTNET_TIMING, writeNetworkFile,
} from '../src/io/network-file.js';
import { MAX_CONSENSUS_SIGNATURES } from '../src/wire/constants.js';
import { loadCryptoProvider } from '../src/crypto/load.js';
import { authorityIdentity } from '../directory/index.js';
import { waitForConsensus } from './consensus-wait.js';
import { type NodeExit, NodeProcess } from './node-process.js';
import { type AuthorityEndpoint, type NodePlanInput, type ProcessSpec, type RelayEndpoint, authorityName, planAuthorityProcesses, planRelayProcesses, relayName } from './node-plan.js';
import { type LinkDelayMethod, type NetnsPlan, type NetnsPlanInput, netnsExec, netnsTagFor, planNetns } from './netns-plan.js';
import { chooseLinkDelayMethod, probeNetns, setUpNetns, tearDownNetns } from './netns.js';
import { type Delayers, startDelayers } from './netns-delay.js';
import { LOOPBACK, choosePorts } from './ports.js';
import { MAX_RELAYS_PER_PROCESS } from './relay-group.js';

export const DEFAULT_AUTHORITIES = 3;
export const DEFAULT_RELAYS = 6;
export const DEFAULT_EXITS = 2;
export const MAX_TESTNET_RELAYS = 200;
/** The exit policy of the testnet's exit relays: anything on this machine, nothing else. */
export const TESTNET_EXIT_POLICY = 'accept 127.0.0.1/32:*';
/** With --netns, exits also reach the host and the clients' namespaces (10.0.0.0/16). */
export const NETNS_EXIT_POLICY = 'accept 10.0.0.0/16:*';
/** Time a process has to print its (first) listening line; a relay group gets NODE_START_PER_MEMBER_MS more per relay. */
const NODE_START_TIMEOUT_MS = 30_000;
const NODE_START_PER_MEMBER_MS = 1_000;
/** Fixed ports in the netns mode, where every node has an address of its own. */
export const NETNS_PORTS = { authority: 7000, orPort: 9001, metrics: 9035 } as const;

/** With relaysPerProcess 'auto', at most this many relay processes (each costs ~1.4 s of CPU to start). */
export const AUTO_MAX_RELAY_PROCESSES = 8;

/**
 * The default grouping: one process per relay up to AUTO_MAX_RELAY_PROCESSES relays, and
 * always with --netns (relays sharing a process share a namespace, so their traffic to
 * each other would skip the link delay); beyond that, as few relays per process as keep
 * the relay processes within AUTO_MAX_RELAY_PROCESSES.
 */
export function autoRelaysPerProcess(relays: number, netns: boolean): number {
  return netns ? 1 : Math.max(1, Math.ceil(relays / AUTO_MAX_RELAY_PROCESSES));
}

/** The network-namespace mode (Linux, root): see netns-plan.ts. */
export interface NetnsOptions {
  /** One-way delay on every node's outgoing packets, ms; default 0. */
  readonly linkDelayMs?: number;
  /** netem (a kernel qdisc), nfqueue (user space: iptables + nfqueue-delay.py), or auto (netem when the kernel has it); default auto. */
  readonly linkDelayMethod?: LinkDelayMethod | 'auto';
  /** Relays sharing one /16 (default 1: each its own). */
  readonly relaysPerSlash16?: number;
  /** Namespaces for clients and benches, 10.0.2.1… (default 1). */
  readonly clients?: number;
}

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
  /**
   * Relays per OS process; each keeps its own keys, ports, data directory and log. Default
   * 'auto': autoRelaysPerProcess (1 up to AUTO_MAX_RELAY_PROCESSES relays, or with netns).
   */
  readonly relaysPerProcess?: number | 'auto';
  /** Each process in a network namespace of its own (Linux, root); see NetnsOptions. */
  readonly netns?: NetnsOptions;
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
  /** Pid of the process hosting it (shared by the relays of one group). */
  readonly pid: number;
  /** Name of that process: relayK, or relaysA-B for a group. */
  readonly process: string;
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
  /** Every OS process of the network (for resource sampling): name, pid, role and the nodes it hosts. */
  readonly processes: readonly { readonly name: string; readonly pid: number; readonly role: 'authority' | 'relay'; readonly members: readonly string[] }[];
  /** Relays per process. */
  readonly relaysPerProcess: number;
  /** The namespaces' plan with --netns (addresses, namespace names, link delay), else null. */
  readonly netns: NetnsPlan | null;
  /** Stops every node: SIGTERM, wait, SIGKILL after the grace period; then removes the namespaces. Idempotent. */
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

async function waitAll(processes: readonly NodeProcess[], what: string, progress: (line: string) => void) {
  const total = processes.reduce((n, p) => n + p.members.length, 0);
  let done = 0;
  progress(`starting ${what}… 0/${total}`);
  const events = await Promise.all(processes.map((p) => {
    const timeoutMs = NODE_START_TIMEOUT_MS + (p.members.length > 1 ? NODE_START_PER_MEMBER_MS * p.members.length : 0);
    return Promise.all(p.members.map(async (member) => {
      const event = await p.waitListening(timeoutMs, member);
      progress(`starting ${what}… ${++done}/${total}`);
      return event;
    }));
  }));
  return events.flat();
}

/** Starts the network; resolves once a consensus lists every relay (see the module comment). */
export async function launchTestnet(options: LaunchTestnetOptions): Promise<Testnet> {
  const started = Date.now();
  const authorityCount = checkCount(options.authorities ?? DEFAULT_AUTHORITIES, 1, MAX_CONSENSUS_SIGNATURES, 'the number of authorities');
  const relayCount = checkCount(options.relays ?? DEFAULT_RELAYS, 1, MAX_TESTNET_RELAYS, 'the number of relays');
  const exitCount = checkCount(options.exits ?? Math.min(DEFAULT_EXITS, relayCount), 0, relayCount, 'the number of exits (at most the number of relays)');
  const votingIntervalMs = checkCount(options.votingIntervalMs ?? TESTNET_TIMING.votingIntervalMs, MIN_VOTING_INTERVAL_MS, MAX_VOTING_INTERVAL_MS, 'the voting interval (ms)');
  const perProcess = options.relaysPerProcess ?? 'auto';
  const relaysPerProcess = perProcess === 'auto'
    ? autoRelaysPerProcess(relayCount, options.netns !== undefined)
    : Math.min(checkCount(perProcess, 1, MAX_RELAYS_PER_PROCESS, 'relays per process'), relayCount);
  const readyTimeoutMs = options.readyTimeoutMs ?? Math.max(60_000, 4 * votingIntervalMs + 20_000);
  const progress = options.onProgress ?? (() => {});
  const dir = resolvePath(options.dir);
  const netnsInput: NetnsPlanInput | null = options.netns ? {
    tag: netnsTagFor(dir), authorities: authorityCount, relays: relayCount, relaysPerProcess,
    linkDelayMs: options.netns.linkDelayMs ?? 0, relaysPerSlash16: options.netns.relaysPerSlash16 ?? 1, clients: options.netns.clients ?? 1,
  } : null;
  let netnsPlan = netnsInput ? planNetns(netnsInput) : null; // checked before anything starts; the delay method is settled below
  prepareDir(dir);

  const nodes: NodeProcess[] = [];
  const deadNodes: string[] = [];
  let netnsUp = false;
  let delayers: Delayers | null = null;
  let stopping: Promise<void> | null = null;
  const stopAll = (graceMs = options.stopGraceMs): Promise<void> =>
    (stopping ??= Promise.all(nodes.map((n) => n.stop(graceMs))).then(async () => {
      await delayers?.stop();
      if (netnsPlan && netnsUp) await tearDownNetns(netnsPlan);
    }));
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
  const start = (spec: ProcessSpec): NodeProcess => {
    const node = new NodeProcess(spec.name, spec.args, spec.logFile, { members: spec.members, wrapper: spec.wrapper });
    nodes.push(node);
    node.onUnexpectedExit((exit) => {
      deadNodes.push(...node.members);
      const message = node.deathMessage(exit);
      if (!ready) launchFailure?.(new ChiveError('TESTNET_NODE_FAILED', `a node died while the network was starting: ${message}`));
      else for (const member of node.members) options.onNodeExit?.(member, exit, message);
    });
    return node;
  };

  try {
    const authNames = Array.from({ length: authorityCount }, (_, i) => authorityName(i));
    const relayNames = Array.from({ length: relayCount }, (_, i) => relayName(i));
    for (const name of [...authNames, ...relayNames]) prepareDir(join(dir, name));

    if (netnsInput && netnsPlan) {
      const delayed = netnsPlan.linkDelayMs > 0;
      const method = delayed ? await unlessFailed(chooseLinkDelayMethod(options.netns?.linkDelayMethod ?? 'auto')) : 'netem';
      if (!delayed) await unlessFailed(probeNetns({ linkDelay: false }));
      const plan = planNetns({ ...netnsInput, linkDelayMethod: method });
      netnsPlan = plan;
      progress(`setting up ${plan.namespaces.length} network namespaces${delayed ? ` (link delay ${plan.linkDelayMs} ms by ${method})` : ''}…`);
      if (delayed && relaysPerProcess > 1) progress(`note: ${relaysPerProcess} relays share each namespace; traffic between them is not delayed`);
      netnsUp = true;
      await unlessFailed(setUpNetns(plan));
      delayers = await unlessFailed(startDelayers(plan, (ns, why) => {
        const message = `the link delayer of ${ns} ${why}: packets of that namespace are no longer delayed`;
        if (!ready) launchFailure?.(new ChiveError('TESTNET_NETNS_FAILED', message));
        else options.onNodeExit?.(`delayer:${ns}`, { code: null, signal: null }, message);
      }));
    }

    progress(`creating ${authorityCount} authority identities…`);
    const provider = loadCryptoProvider('auto');
    const identities = authNames.map((name) => {
      try {
        return authorityIdentity(provider, join(dir, name));
      } catch (e) {
        throw new ChiveError('TESTNET_DIR_UNUSABLE', `${name}: cannot create or read its identity key in ${join(dir, name)}: ${(e as Error).message}`, { cause: e });
      }
    });

    let authEndpoints: AuthorityEndpoint[];
    let relayEndpoints: RelayEndpoint[];
    if (netnsPlan) {
      authEndpoints = netnsPlan.authorityAddresses.map((host) => ({ host, port: NETNS_PORTS.authority }));
      relayEndpoints = netnsPlan.relayAddresses.map((host) => ({ host, orPort: NETNS_PORTS.orPort, metricsPort: NETNS_PORTS.metrics, metricsHost: host }));
    } else {
      const ports = await unlessFailed(choosePorts(options.basePort ?? 0, authorityCount + 2 * relayCount));
      authEndpoints = authNames.map((_, i) => ({ host: LOOPBACK, port: ports[i]! }));
      relayEndpoints = relayNames.map((_, i) => ({ host: LOOPBACK, orPort: ports[authorityCount + i]!, metricsPort: ports[authorityCount + relayCount + i]! }));
    }
    const network: NetworkConfig = {
      testnet: true,
      authorities: authNames.map((name, i) => ({ name, url: `http://${authEndpoints[i]!.host}:${authEndpoints[i]!.port}`, identity: fromHex(identities[i]!) })),
      timing: { ...TESTNET_TIMING, votingIntervalMs },
    };
    const networkFile = join(dir, 'network.json');
    try {
      writeNetworkFile(networkFile, network);
    } catch (e) {
      if (isChiveError(e)) throw e;
      throw new ChiveError('TESTNET_DIR_UNUSABLE', `cannot write ${networkFile}: ${(e as Error).message}`, { cause: e });
    }

    const ns = netnsPlan;
    const plan: NodePlanInput = {
      dir, networkFile, authorities: authEndpoints, relays: relayEndpoints, exits: exitCount, relaysPerProcess,
      exitPolicy: ns ? [TESTNET_EXIT_POLICY, NETNS_EXIT_POLICY] : [TESTNET_EXIT_POLICY],
      ...(options.relayFlags ? { relayFlags: options.relayFlags } : {}),
      ...(ns ? {
        authorityWrapper: (i: number) => netnsExec(ns.authorityNamespaces[i]!),
        relayProcessWrapper: (g: number) => netnsExec(ns.relayProcessNamespaces[g]!),
      } : {}),
    };
    const authNodes = planAuthorityProcesses(plan).map(start);
    const authEvents = await unlessFailed(waitAll(authNodes, 'authorities', progress));
    const authorities: TestnetAuthority[] = authNodes.map((node, i) => ({
      name: node.name, url: authEvents[i]!.url, identity: authEvents[i]!.identity, pid: node.pid, dataDir: join(dir, node.name), logFile: node.logFile,
    }));

    const relayProcesses = planRelayProcesses(plan).map(start);
    const relayEvents = await unlessFailed(waitAll(relayProcesses, 'relays', progress));
    const hostOf = new Map(relayProcesses.flatMap((p) => p.members.map((m) => [m, p] as const)));

    progress('waiting for the first consensus…');
    const deadline = started + readyTimeoutMs;
    const { consensus, from } = await unlessFailed(waitForConsensus(network, authorities, relayEvents, deadline, progress, polling.signal));
    ready = true;
    const listed = new Map(consensus.relays.map((r) => [toHex(r.identity), r]));
    const relays: TestnetRelay[] = relayNames.map((name, i) => {
      const host = hostOf.get(name)!;
      return {
        nickname: name,
        url: relayEvents[i]!.url,
        identity: relayEvents[i]!.identity,
        exit: i < exitCount,
        pid: host.pid,
        process: host.name,
        metricsUrl: relayEvents[i]!.metricsUrl ?? null,
        flags: relayFlagNames(listed.get(relayEvents[i]!.identity)?.flags ?? 0),
        dataDir: join(dir, name),
        logFile: join(dir, name, 'log'),
      };
    });
    return {
      networkFile, network, authorities, relays, consensus, consensusFrom: from,
      readyMs: Date.now() - started, deadNodes, relaysPerProcess, netns: netnsPlan,
      processes: [...authNodes, ...relayProcesses].map((p, i) => ({ name: p.name, pid: p.pid, role: i < authNodes.length ? 'authority' as const : 'relay' as const, members: p.members })),
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
