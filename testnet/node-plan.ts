/**
 * What `chive testnet` starts, as data: for each OS process its name, the nodes it hosts,
 * its `chive …` arguments, its log file and the wrapper command it runs under (none on
 * loopback; `ip netns exec NS` in the network-namespace mode). Pure: no processes, no
 * files, no ports are touched here, so the command lines can be checked in unit tests.
 *
 *   authority i       one process `authI`: chive directory --data-dir DIR/authI --port P --host H --network F
 *   relays, 1/process one process `relayK`: chive relay --DataDirectory DIR/relayK --Nickname relayK …
 *   relays, N/process process `relaysA-B` (stderr in DIR/relaysA-B.log) hosting relays A..B:
 *                     chive testnet run-relays '[[<relayA's chive relay flags>], …]'
 *
 * Every relay keeps its own data directory (keys), ORPort, metrics port and LogFile
 * whichever way it is hosted. The first `exits` relays are exits.
 *
 * Not here: choosing ports or addresses (ports.ts, netns-plan.ts), starting processes
 * (launcher.ts, node-process.ts).
 */
import { join } from 'node:path';
import { RUN_RELAYS_SUBCOMMAND } from './relay-group.js';

/** Where one relay listens. */
export interface RelayEndpoint {
  /** Address it binds and advertises (ws://host:orPort). */
  readonly host: string;
  readonly orPort: number;
  readonly metricsPort: number;
  /** Address of the metrics endpoint; absent = the relay's default (127.0.0.1). */
  readonly metricsHost?: string;
}

/** Where one authority listens. */
export interface AuthorityEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface NodePlanInput {
  /** Absolute testnet folder. */
  readonly dir: string;
  readonly networkFile: string;
  readonly authorities: readonly AuthorityEndpoint[];
  readonly relays: readonly RelayEndpoint[];
  readonly exits: number;
  /** The ExitPolicy lines of an exit relay. */
  readonly exitPolicy: readonly string[];
  readonly relaysPerProcess: number;
  /** Extra `chive relay` flags for every relay. */
  readonly relayFlags?: readonly string[];
  /** Wrapper of each authority's process (default none). */
  readonly authorityWrapper?: (index: number) => readonly string[];
  /** Wrapper of each relay process, given its index and the indexes of its relays (default none). */
  readonly relayProcessWrapper?: (processIndex: number, relayIndexes: readonly number[]) => readonly string[];
}

export interface ProcessSpec {
  /** authI, relayK or relaysA-B. */
  readonly name: string;
  /** The nodes it hosts (nicknames); [name] for a node of its own. */
  readonly members: readonly string[];
  readonly role: 'authority' | 'relay';
  /** Arguments after `chive`. */
  readonly args: readonly string[];
  /** Where the process's stderr goes. */
  readonly logFile: string;
  readonly wrapper: readonly string[];
}

export const authorityName = (i: number): string => `auth${i}`;
export const relayName = (i: number): string => `relay${i}`;

/** The `chive relay` flags of relay `i`. */
export function relayArgs(input: NodePlanInput, i: number): string[] {
  const name = relayName(i);
  const dataDir = join(input.dir, name);
  const r = input.relays[i]!;
  return [
    '--DataDirectory', dataDir, '--Nickname', name, '--Address', r.host, '--ORPort', String(r.orPort),
    '--Network', input.networkFile, '--Testnet', '1', '--LogFile', join(dataDir, 'log'),
    '--MetricsPort', String(r.metricsPort),
    ...(r.metricsHost !== undefined ? ['--MetricsAddress', r.metricsHost] : []),
    ...(i < input.exits ? input.exitPolicy.flatMap((line) => ['--ExitPolicy', line]) : []),
    ...(input.relayFlags ?? []),
  ];
}

/** The authorities' processes, in index order. */
export function planAuthorityProcesses(input: NodePlanInput): ProcessSpec[] {
  return input.authorities.map((a, i) => {
    const name = authorityName(i);
    return {
      name, members: [name], role: 'authority' as const,
      args: ['directory', '--data-dir', join(input.dir, name), '--port', String(a.port), '--host', a.host, '--network', input.networkFile],
      logFile: join(input.dir, name, 'log'),
      wrapper: input.authorityWrapper?.(i) ?? [],
    };
  });
}

/** Relay indexes grouped `perProcess` at a time: [[0..N-1], [N..2N-1], …]. */
export function groupRelays(relays: number, perProcess: number): number[][] {
  const groups: number[][] = [];
  for (let first = 0; first < relays; first += perProcess) {
    groups.push(Array.from({ length: Math.min(perProcess, relays - first) }, (_, k) => first + k));
  }
  return groups;
}

/** The relays' processes: one per relay, or groups of `relaysPerProcess`. */
export function planRelayProcesses(input: NodePlanInput): ProcessSpec[] {
  return groupRelays(input.relays.length, input.relaysPerProcess).map((indexes, g) => {
    const wrapper = input.relayProcessWrapper?.(g, indexes) ?? [];
    if (input.relaysPerProcess === 1) {
      const name = relayName(indexes[0]!);
      return {
        name, members: [name], role: 'relay' as const,
        args: ['relay', ...relayArgs(input, indexes[0]!)],
        logFile: join(input.dir, name, 'log'),
        wrapper,
      };
    }
    const name = `relays${indexes[0]}-${indexes[indexes.length - 1]}`;
    return {
      name, members: indexes.map(relayName), role: 'relay' as const,
      args: ['testnet', RUN_RELAYS_SUBCOMMAND, JSON.stringify(indexes.map((i) => relayArgs(input, i)))],
      logFile: join(input.dir, `${name}.log`),
      wrapper,
    };
  });
}
